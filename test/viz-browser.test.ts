import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saveCheckpoint } from '../src/checkpoint/store.js';
import { Vocab } from '../src/data/vocab.js';
import { traceActivations, type ActivationTrace } from '../src/inspect/activations.js';
import { shownStates } from '../src/inspect/detectors.js';
import { palette, SURPRISE_MAX_BITS } from '../src/cli/viz-colours.js';
import { STATE_LEVELS } from '../src/cli/viz-page.js';
// @ts-expect-error: a plain-JavaScript module of scripts/, shared with the screenshot script
import { chromiumMissing, closeChromium, launchChromium, openVizPage } from '../scripts/chromium.mjs';
import { charnnAsync, runNodeAsync, tempDir } from './helpers/cli.js';
import { handMadeCheckpoint } from './helpers/checkpoints.js';
import { quotedText } from './helpers/texts.js';

const missing: string | null = chromiumMissing();
if (missing) console.log(`viz browser tests skipped: ${missing}`);

/** The page in headless Chromium, as a reader sees it: colours read back from the rendered characters. */
describe.skipIf(missing !== null)('the viz page in a real browser (Chromium)', { timeout: 180_000 }, () => {
  let dir: string, browser: Browser, page: Page, errors: string[];
  let trace: ActivationTrace, states: Float32Array[];
  const text = quotedText(3000, 3);
  const hex = (css: string) => '#' + css.match(/\d+/g)!.slice(0, 3).map((x) => Number(x).toString(16).padStart(2, '0')).join('');
  const colours = (view: string, count: number) =>
    page.$$eval(`#${view} span[data-i]`, (spans, n) => spans.slice(0, n).map((s) => getComputedStyle(s).backgroundColor), count);
  const cellColour = (layer: number, cell: number, i: number) => {
    const v = Math.max(-1, Math.min(1, states[layer - 1][i * 16 + cell]));
    const q = Math.round(((v + 1) / 2) * STATE_LEVELS);
    return palette('cell').background[Math.round((q / STATE_LEVELS) * 255)];
  };

  beforeAll(async () => {
    dir = tempDir('viz-browser');
    const ckpt = handMadeCheckpoint([...Vocab.fromText(text).chars], { randomWeights: 0.6, model: { layers: 2, hiddenSize: 16 } });
    await saveCheckpoint(path.join(dir, 'model.json'), ckpt);
    fs.writeFileSync(path.join(dir, 'text.txt'), text);
    const r = await charnnAsync(['viz', 'text.txt', '--checkpoint', 'model.json', '--out', 'page.html', '--backend', 'js'], dir);
    expect(r.code, r.stderr).toBe(0);
    trace = traceActivations(ckpt, text, { backend: 'js' });
    states = shownStates(trace);
    browser = await launchChromium();
    ({ page, errors } = await openVizPage(browser, path.join(dir, 'page.html')));
  }, 180_000);

  afterAll(async () => {
    if (browser) await closeChromium(browser);
  });

  it('decodes its data and draws the text without an error or a request to the network', async () => {
    expect(await page.evaluate(() => document.body.dataset.ready)).toBe('true');
    expect(errors).toEqual([]);
  });

  it('shows the characters, rendering the text lazily a block at a time as it scrolls', async () => {
    const shown = await page.$$eval('#surprise-text span[data-i]', (spans) => spans.map((s) => s.textContent).join(''));
    expect(shown).toBe([...text].slice(0, 2000).join('').replace(/\n/g, '↵'));
    await page.$eval('#surprise-text', (el) => el.scrollTo(0, el.scrollHeight));
    await page.waitForFunction(() => document.querySelectorAll('#surprise-text span[data-i]').length === 3000, { timeout: 30_000 });
  });

  it('shades every character by its surprisal', async () => {
    const shown = await colours('surprise-text', 400);
    const expected = Array.from(trace.surprisal.subarray(0, 400), (surprisal) =>
      palette('surprise').background[Math.min(255, Math.round((Math.round(surprisal * 1000) / 1000 / SURPRISE_MAX_BITS) * 255))]);
    expect(shown.map(hex)).toEqual(expected);
    expect(new Set(expected).size).toBeGreaterThan(10);
  });

  it('hovering a character shows its surprisal and the top 5 guesses for the next one', async () => {
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.hover('#surprise-text span[data-i="7"]');
    const tip = await page.$eval('#tip', (el) => ({
      hidden: (el as HTMLElement).hidden,
      head: el.querySelector('.tip-head')!.textContent,
      guesses: [...el.querySelectorAll('tr.guess')].map((tr) => [...tr.querySelectorAll('td')].slice(0, 2).map((td) => td.textContent)),
    }));
    expect(tip.hidden).toBe(false);
    expect(tip.head).toContain(`${(Math.round(trace.at(7).surprisal * 1000) / 1000).toFixed(2)} bits`); // the page holds millibits
    const name = (c: string) => (c === ' ' ? 'space' : c === '\n' ? '↵ newline' : c);
    expect(tip.guesses).toEqual(trace.at(7).top.map((g) => [name(g.char), `${(Math.round(g.prob * 65535) / 65535 * 100).toFixed(1)}%`]));
  });

  it('colours the text by a cell; clicking a detector colours it by the detector\'s cell', async () => {
    const start = await page.evaluate(() => ({ layer: Number((document.getElementById('layer') as HTMLSelectElement).value), cell: Number((document.getElementById('cell') as HTMLInputElement).value) }));
    const before = (await colours('cell-text', 300)).map(hex);
    expect(before).toEqual(Array.from({ length: 300 }, (_, i) => cellColour(start.layer, start.cell, i)));
    // A detector button for another cell than the one shown.
    const target = await page.$$eval('#detectors button.cell-ref', (buttons, s) => {
      const b = buttons.find((x) => Number((x as HTMLElement).dataset.layer) !== s.layer || Number((x as HTMLElement).dataset.cell) !== s.cell) as HTMLElement;
      b.id = 'target';
      return { layer: Number(b.dataset.layer), cell: Number(b.dataset.cell) };
    }, start);
    await page.click('#target');
    const after = (await colours('cell-text', 300)).map(hex);
    expect(after).not.toEqual(before);
    expect(after).toEqual(Array.from({ length: 300 }, (_, i) => cellColour(target.layer, target.cell, i)));
    expect(await page.$eval('#cell-name', (el) => el.textContent)).toBe(`layer ${target.layer} cell ${target.cell}: tanh(c)`);
    expect(await page.$eval('#target', (el) => el.classList.contains('active'))).toBe(true);
  });

  it('scripts/viz-screenshot.mjs takes the README\'s screenshot of a page', async () => {
    const r = await runNodeAsync(path.resolve('scripts/viz-screenshot.mjs'), ['page.html', 'shot.png'], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'shot.png')).subarray(1, 4).toString()).toBe('PNG');
  });

  it('takes a screenshot', async () => {
    const file = path.join(dir, 'page.png');
    await page.screenshot({ path: file });
    const png = fs.readFileSync(file);
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    expect(png.length).toBeGreaterThan(20_000);
  });
});
