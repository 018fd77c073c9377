import fs from 'node:fs';
import path from 'node:path';
import type { Browser } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saveCheckpoint } from '../src/checkpoint/store.js';
import { Vocab } from '../src/data/vocab.js';
// @ts-expect-error: a plain-JavaScript module of scripts/, shared with the screenshot script
import { chromiumMissing, closeChromium, launchChromium, openVizPage } from '../scripts/chromium.mjs';
import { charnnAsync as charnn, tempDir } from './helpers/cli.js';
import { handMadeCheckpoint } from './helpers/checkpoints.js';
import { quotedText } from './helpers/texts.js';

// The small things a first hour stumbles on (issue #23, point 6), each through the real command line.
const TEXT = quotedText(3000, 2);
const VOCAB = [...Vocab.fromText(TEXT).chars];
let dir: string;

/** A hand-made model (random weights, so it samples varied text) saved at `file` under `dir`. */
async function model(file: string, layers = 1): Promise<void> {
  fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
  await saveCheckpoint(path.join(dir, file), handMadeCheckpoint(VOCAB, { randomWeights: 0.6, model: { layers, hiddenSize: 16 } }));
}

/** A folder of its own with runs under ./checkpoints, written `age` seconds ago each (oldest first makes no difference). */
async function runs(name: string, ages: Record<string, number>): Promise<string> {
  const cwd = path.join(dir, name);
  for (const [file, age] of Object.entries(ages)) {
    const full = path.join(cwd, 'checkpoints', file);
    fs.mkdirSync(path.dirname(full), { recursive: true });
    fs.copyFileSync(path.join(dir, 'model.json'), full);
    const when = new Date(Date.now() - age * 1000);
    fs.utimesSync(full, when, when);
  }
  return cwd;
}

beforeAll(async () => {
  dir = tempDir('small');
  fs.writeFileSync(path.join(dir, 'text.txt'), TEXT);
  await model('model.json');
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('--temperature, the spelling of char-rnn and torch-rnn', () => {
  it('is --temp for sample', async () => {
    const args = ['sample', '--checkpoint', 'model.json', '--length', '200', '--seed', '3'];
    const temp = await charnn([...args, '--temp', '0.5'], dir);
    const temperature = await charnn([...args, '--temperature', '0.5'], dir);
    expect(temperature.code, temperature.stderr).toBe(0);
    expect(temperature.stdout).toBe(temp.stdout);
    expect(temperature.stdout).not.toBe((await charnn([...args, '--temperature', '2'], dir)).stdout);
  });

  it('is --temp for viz --sample', async () => {
    const args = ['viz', '--checkpoint', 'model.json', '--sample', '200', '--seed', '3'];
    expect((await charnn([...args, '--temp', '0.5', '--out', 'temp.html'], dir)).code).toBe(0);
    const r = await charnn([...args, '--temperature', '0.5', '--out', 'temperature.html'], dir);
    expect(r.code, r.stderr).toBe(0);
    const text = (file: string) => JSON.parse(/<script type="application\/json" id="viz-data">(.*?)<\/script>/s.exec(fs.readFileSync(path.join(dir, file), 'utf8'))![1]).text;
    expect([...text('temperature.html')]).toHaveLength(200);
    expect(text('temperature.html')).toBe(text('temp.html'));
  });

  it('with --temp as well, is refused in one line (exit 2)', async () => {
    const r = await charnn(['sample', '--checkpoint', 'model.json', '--temp', '0.5', '--temperature', '0.7'], dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/option '--temperature <t>' cannot be used with option '--temp <t>'/);
    expect(r.stdout).toBe('');
  });

  it('--help names it beside --temp', async () => {
    expect((await charnn(['sample', '--help'], dir)).stdout).toMatch(/--temp <t> .*\(also --temperature\)/s);
  });
});

describe('--prime', () => {
  it('reads the escapes --stop reads', async () => {
    const r = await charnn(['sample', '--checkpoint', 'model.json', '--length', '0', '--prime', 'the\\nlamp\\x2e\\u0020\\u{22}\\ta', '--prime-unknown', 'skip'], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('the\nlamp. "a\n');
    expect(r.stderr).toMatch(/dropped 1 prime character/); // \t: a tab, which the model does not know
  });

  it('refuses an escape past U+10FFFF in one line (exit 2)', async () => {
    const r = await charnn(['sample', '--checkpoint', 'model.json', '--prime', '\\u{110000}'], dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/option '--prime <text>' argument '\\u\{110000\}' is invalid. \\u\{110000\} is past U\+10FFFF/);
  });
});

describe('piped sample output', () => {
  const sample = (...args: string[]) => charnn(['sample', '--checkpoint', 'model.json', '--seed', '5', ...args], dir);

  it('ends with a newline, so that `charnn sample | cat` leaves the prompt on a line of its own', async () => {
    const r = await sample('--length', '40');
    expect(r.code, r.stderr).toBe(0);
    expect([...r.stdout]).toHaveLength(41);
    expect(r.stdout.endsWith('\n')).toBe(true);
  });

  it('adds none after a sample that ends with one, nor to an empty one, nor to --json', async () => {
    const line = await sample('--length', '10000', '--stop', '\\n');
    expect(line.stdout).toMatch(/^[^\n]+\n$/);
    expect((await sample('--length', '0')).stdout).toBe('');
    const json = await sample('--length', '30', '--count', '2', '--json');
    expect(json.stdout).toMatch(/^\{"text":.*\}\n\{"text":.*\}\n$/);
  });

  it('--count: the last of the samples ends with a newline too', async () => {
    const r = await sample('--length', '10000', '--count', '3', '--stop', 'e');
    expect(r.stdout).toMatch(/^[^]+e\n\n[^]+e\n\n[^]+e\n$/);
  });
});

describe('the checkpoint sample and viz use when none is given', () => {
  it('one run: that one, named on stderr', async () => {
    const cwd = await runs('one', { 'lamp/best.json': 0 });
    const r = await charnn(['sample', '--length', '5'], cwd);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('sampling from checkpoints/lamp/best.json\n');
  });

  it('several: the newest, naming the others and how to choose one', async () => {
    const cwd = await runs('several', { 'old/best.json': 300, 'new/best.json': 10, 'middle/best.json': 100 });
    const r = await charnn(['sample', '--length', '5'], cwd);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('sampling from checkpoints/new/best.json — 1 of 3 runs under ./checkpoints; ' +
      'the others: checkpoints/middle/best.json, checkpoints/old/best.json; choose one with --checkpoint <file>\n');
  });

  it('a run from standard input does not take over from a named corpus, even when newer', async () => {
    const cwd = await runs('stdin', { 'lighthouse/best.json': 300, 'stdin/best.json': 10 });
    const r = await charnn(['sample', '--length', '5'], cwd);
    expect(r.stderr).toMatch(/^sampling from checkpoints\/lighthouse\/best\.json — 1 of 2 runs under \.\/checkpoints; the others: checkpoints\/stdin\/best\.json \(newer, from standard input\); choose one with --checkpoint <file>\n$/);
    const viz = await charnn(['viz', '--text', 'the lamp'], cwd);
    expect(viz.stderr).toMatch(/^showing checkpoints\/lighthouse\/best\.json — 1 of 2/);
  });

  it('a run from standard input alone is used', async () => {
    const cwd = await runs('stdin-only', { 'stdin/best.json': 10 });
    expect((await charnn(['sample', '--length', '5'], cwd)).stderr).toBe('sampling from checkpoints/stdin/best.json\n');
  });

  it('a run with a best.json comes before a newer one stopped before its first evaluation; four others or more are counted', async () => {
    const cwd = await runs('many', { 'a/best.json': 500, 'b/latest.json': 10, 'c/best.json': 600, 'd/best.json': 700, 'e/best.json': 800 });
    const r = await charnn(['sample', '--length', '5'], cwd);
    expect(r.stderr).toBe('sampling from checkpoints/a/best.json — 1 of 5 runs under ./checkpoints; the others: checkpoints/c/best.json, ' +
      'checkpoints/d/best.json, checkpoints/e/best.json, 1 more; choose one with --checkpoint <file>\n');
  });
});

describe('viz', () => {
  it('checks the text file before anything else: a missing file is the error, whatever the checkpoint', async () => {
    fs.writeFileSync(path.join(dir, 'corrupt.json'), '{"format":');
    const empty = path.join(dir, 'no-checkpoints');
    fs.mkdirSync(empty);
    for (const [args, cwd] of [[['--checkpoint', 'corrupt.json'], dir], [[], empty]] as const) {
      const r = await charnn(['viz', 'nofile.txt', ...args], cwd);
      expect(r.code).toBe(2);
      expect(r.stderr).toBe('charnn: no such file or folder: nofile.txt — check the path\n');
    }
  });

  it('--cell outside the model names the layers and cells there are', async () => {
    const one = await charnn(['viz', '--checkpoint', 'model.json', '--text', 'the lamp', '--cell', '1:999'], dir);
    expect(one.code).toBe(2);
    expect(one.stderr).toBe('charnn: --cell 1:999 is not in this model: it has 1 layer (1) of 16 cells (0–15)\n');
    await model('two-layers.json', 2);
    const two = await charnn(['viz', '--checkpoint', 'two-layers.json', '--text', 'the lamp', '--cell', '3:0', '--terminal'], dir);
    expect(two.stderr).toBe('charnn: --cell 3:0 is not in this model: it has 2 layers (1–2) of 16 cells (0–15)\n');
  });

  it('writes its page beside the checkpoint by default, and says where; nothing lands in the current folder', async () => {
    const cwd = await runs('page', { 'lamp/best.json': 0 });
    fs.mkdirSync(path.join(cwd, 'models'));
    fs.copyFileSync(path.join(dir, 'model.json'), path.join(cwd, 'models', 'mine.json'));
    const found = await charnn(['viz', '--text', 'the lamp rings'], cwd);
    expect(found.code, found.stderr).toBe(0);
    expect(found.stderr).toMatch(/^wrote checkpoints\/lamp\/charnn-viz\.html \(/m);
    const given = await charnn(['viz', '--text', 'the lamp rings', '--checkpoint', 'models/mine.json'], cwd);
    expect(given.stderr).toMatch(/^wrote models\/charnn-viz\.html \(/m);
    for (const file of ['checkpoints/lamp/charnn-viz.html', 'models/charnn-viz.html']) expect(fs.readFileSync(path.join(cwd, file), 'utf8')).toMatch(/^<!doctype html>/);
    expect(fs.readdirSync(cwd).sort()).toEqual(['checkpoints', 'models']);
  });

});

const missing: string | null = chromiumMissing();
if (missing) console.log(`viz narrow-screen test skipped: ${missing}`);

describe.skipIf(missing !== null)('the viz page on a narrow screen (Chromium)', { timeout: 180_000 }, () => {
  let browser: Browser;
  afterAll(async () => {
    if (browser) await closeChromium(browser);
  });

  it('wraps lines after spaces, never inside a word, and breaks only a word longer than the line', async () => {
    const long = 'lamp'.repeat(30);
    fs.writeFileSync(path.join(dir, 'narrow.txt'), `${TEXT.slice(0, 1500)} ${long} the end.\n`);
    const r = await charnn(['viz', 'narrow.txt', '--checkpoint', 'model.json', '--out', 'narrow.html', '--backend', 'js'], dir);
    expect(r.code, r.stderr).toBe(0);
    browser = await launchChromium();
    const { page, errors } = await openVizPage(browser, path.join(dir, 'narrow.html'), { width: 360, height: 740 });
    const shown = await page.$eval('#surprise-text', (el) => ({
      spans: [...el.querySelectorAll('span[data-i]')].map((s) => ({ char: s.textContent!, top: Math.round(s.getBoundingClientRect().top) })),
      overflows: el.scrollWidth > el.clientWidth,
    }));
    expect(errors).toEqual([]);
    expect(shown.overflows).toBe(false);
    const chars = shown.spans.map((s) => s.char).join('');
    const longAt = chars.indexOf(long);
    let wraps = 0;
    for (let i = 1; i < shown.spans.length; i++) {
      if (shown.spans[i].top === shown.spans[i - 1].top || shown.spans[i - 1].char === '↵') continue;
      wraps++;
      const inLong = i > longAt && i < longAt + long.length;
      if (!inLong) expect(shown.spans[i - 1].char, `a line wraps at "${chars.slice(i - 8, i)}|${chars.slice(i, i + 8)}"`).toBe(' ');
    }
    expect(wraps).toBeGreaterThan(10); // the screen is narrow enough to wrap many lines
    const longTops = new Set(shown.spans.slice(longAt, longAt + long.length).map((s) => s.top));
    expect(longTops.size).toBeGreaterThan(1); // the long word is broken, not left to overflow
  });
});
