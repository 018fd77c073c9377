import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain-JavaScript module of scripts/, shared with the screenshot script
import { chromiumMissing, closeChromium, launchChromium } from '../scripts/chromium.mjs';
import { charnnAsync, tempDir } from './helpers/cli.js';
import { exportFixture } from './helpers/export.js';

const missing: string | null = chromiumMissing();
if (missing) console.log(`export browser tests skipped: ${missing}`);

const CKPT = 'checkpoints/lighthouse/best.json';
const OPTIONS = { prime: 'The ', seed: 7, length: 150, temperature: 0.9, topK: 12, topP: 0.95 };
const CLI_OPTIONS = ['--prime', 'The ', '--seed', '7', '--length', '150', '--temp', '0.9', '--top-k', '12', '--top-p', '0.95'];

/** The page and the module `charnn export` writes, in headless Chromium, against `charnn sample` on the same checkpoint. */
describe.skipIf(missing !== null)('the exported page and module in a real browser (Chromium)', { timeout: 180_000 }, () => {
  let dir: string, browser: Browser, page: Page, requests: string[], errors: string[];
  let server: http.Server, origin: string;
  const sample = async (extra: string[] = []) => {
    // --json: the text exactly, without the newline the CLI adds at the end of its output.
    // --backend wasm: the page runs the WebAssembly kernels, and backends agree only to rounding.
    const r = await charnnAsync(['sample', '--checkpoint', CKPT, ...CLI_OPTIONS, '--backend', 'wasm', '--json', ...extra], dir);
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout).text as string;
  };
  const fill = async (id: string, value: string) => page.$eval(`#${id}`, (el, v) => ((el as HTMLInputElement).value = v), value);
  const generate = async () => {
    await page.click('#generate');
    await page.waitForFunction(() => document.body.dataset.state === 'idle', { timeout: 60_000 });
    return page.$eval('#output', (el) => el.textContent);
  };

  beforeAll(async () => {
    dir = tempDir('export-browser');
    await exportFixture(dir);
    for (const precision of ['f32', 'f16', 'int8']) {
      for (const format of ['page', 'module']) {
        const out = `${precision}.${format === 'page' ? 'html' : 'mjs'}`;
        const r = await charnnAsync(['export', CKPT, '--format', format, '--precision', precision, '--out', out], dir);
        expect(r.code, r.stderr).toBe(0);
      }
    }
    // Module scripts do not load from file://: the module test's page comes from a local server.
    server = http.createServer((req, res) => {
      const file = path.join(dir, path.basename(req.url ?? ''));
      res.setHeader('Content-Type', file.endsWith('.mjs') ? 'text/javascript' : 'text/html');
      res.end(fs.existsSync(file) ? fs.readFileSync(file) : '');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await launchChromium();
    page = await browser.newPage();
    requests = [];
    errors = [];
    page.on('pageerror', (err) => errors.push(String(err)));
    await page.setRequestInterception(true);
    page.on('request', (request) => {
      const url = request.url();
      if (url.startsWith('file:') || url.startsWith('data:') || url.startsWith('blob:')) return void request.continue();
      requests.push(url);
      void request.abort();
    });
    await page.goto('file://' + path.join(dir, 'f32.html'));
    await page.waitForFunction(() => document.body.dataset.ready !== undefined, { timeout: 60_000 });
  }, 180_000);

  afterAll(async () => {
    if (browser) await closeChromium(browser);
    server?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('loads from file:// with the network blocked, and shows the model', async () => {
    expect(await page.evaluate(() => document.body.dataset.ready)).toBe('true');
    expect(errors).toEqual([]);
    expect(requests).toEqual([]);
    const facts = await page.$eval('#facts', (el) => el.textContent);
    expect(facts).toContain('2×16 LSTM');
    expect(facts).toContain('hand-made');
    expect(facts).toContain('f32, wasm kernels');
  });

  it('generates the text of charnn sample, character for character, for a seed and options', async () => {
    await fill('prime', OPTIONS.prime);
    await fill('seed', String(OPTIONS.seed));
    await fill('length', String(OPTIONS.length));
    await fill('temperature', String(OPTIONS.temperature));
    await fill('top-k', String(OPTIONS.topK));
    await fill('top-p', String(OPTIONS.topP));
    await fill('stop', '');
    expect(await generate()).toBe(await sample());
  });

  it('ends at a stop string, as charnn sample --stop does', async () => {
    await fill('stop', 'ee\n\\n'); // two lines: ee, and \n (a newline)
    const cli = await sample(['--stop', 'ee', '--stop', '\\n']);
    expect(cli.length).toBeLessThan(OPTIONS.prime.length + OPTIONS.length);
    expect(await generate()).toBe(cli);
    await fill('stop', '');
  });

  it('stops generating when Stop is pressed', async () => {
    await fill('length', '10000000');
    await page.click('#generate');
    await page.waitForFunction(() => document.getElementById('output')!.textContent!.length > 50, { timeout: 60_000 });
    await page.click('#stop-button');
    await page.waitForFunction(() => document.body.dataset.state === 'idle', { timeout: 60_000 });
    expect(await page.$eval('#status', (el) => el.textContent)).toMatch(/^stopped: \d+ characters/);
    expect((await page.$eval('#output', (el) => el.textContent))!.length).toBeLessThan(10_000_000);
    await fill('length', String(OPTIONS.length));
  });

  it('in the writing mode, shows the five likeliest next characters and a proposal that Tab (or the Accept button) accepts', async () => {
    await page.click('#tab-write');
    await page.type('#editor', 'The sea');
    await page.waitForFunction(() => document.getElementById('proposal')!.dataset.at === '7', { timeout: 30_000 }); // after the last keystroke
    expect(await page.$$eval('#likely span', (spans) => spans.length)).toBe(5);
    const proposal = await page.$eval('#proposal', (el) => el.textContent);
    await page.keyboard.press('Tab');
    const accepted = 'The sea' + proposal;
    expect(await page.$eval('#editor', (el) => (el as HTMLTextAreaElement).value)).toBe(accepted);
    // On a phone, without a Tab key: the Accept button.
    await page.waitForFunction((at) => document.getElementById('proposal')!.dataset.at === at, { timeout: 30_000 }, String(accepted.length));
    const next = await page.$eval('#proposal', (el) => el.textContent);
    await page.click('#accept');
    expect(await page.$eval('#editor', (el) => (el as HTMLTextAreaElement).value)).toBe(accepted + next);
  });

  /** What a page's <script type="module"> computes with the exported modules (`body`: the script after the imports). */
  const inModulePage = async (name: string, imports: string, body: string) => {
    fs.writeFileSync(path.join(dir, `${name}.html`), `<!doctype html><script type="module">${imports}\n` +
      `try { window.result = await (async () => { ${body} })(); } catch (err) { window.result = String(err); }</script>`);
    const modulePage = await browser.newPage();
    await modulePage.goto(`${origin}/${name}.html`);
    await modulePage.waitForFunction(() => 'result' in window, { timeout: 60_000 });
    const result = await modulePage.evaluate(() => (window as unknown as { result: unknown }).result);
    await modulePage.close();
    return result;
  };

  it('runs the module imported by a page: generate and feed/next/reset give the text of charnn sample', async () => {
    const o = JSON.stringify(OPTIONS);
    const drawing = JSON.stringify({ seed: OPTIONS.seed, temperature: OPTIONS.temperature, topK: OPTIONS.topK, topP: OPTIONS.topP });
    const result = await inModulePage('steer', "import { backend, generate, feed, next, reset } from './f32.mjs';", `
      let generated = '';
      for await (const piece of generate(${o})) generated += piece;
      reset();
      feed('The ');
      let steered = 'The ';
      for (let i = 0; i < 15; i++) steered += next({ ...${drawing}, length: 10 });
      reset();
      feed('The ');
      const again = 'The ' + next({ ...${drawing}, length: 150 });
      return { generated, steered, again, backend };`);
    const cli = await sample();
    expect(result).toEqual({ generated: cli, steered: cli, again: cli, backend: 'wasm' });
  });

  it('loads and generates at every precision', async () => {
    const results = await inModulePage('precisions', "import * as f32 from './f32.mjs'; import * as f16 from './f16.mjs'; import * as int8 from './int8.mjs';", `
      return Promise.all([f32, f16, int8].map(async (m) => {
        let text = '';
        for await (const piece of m.generate({ seed: 3, length: 100, temperature: 0.5 })) text += piece;
        return { precision: m.facts.precision, length: [...text].length, known: [...text].every((c) => m.vocab.includes(c)) };
      }));`);
    expect(results).toEqual(['f32', 'f16', 'int8'].map((precision) => ({ precision, length: 100, known: true })));
    for (const precision of ['f16', 'int8']) {
      const other = await browser.newPage();
      await other.goto('file://' + path.join(dir, `${precision}.html`));
      await other.waitForFunction(() => document.body.dataset.ready !== undefined, { timeout: 60_000 });
      expect(await other.evaluate(() => document.body.dataset.ready)).toBe('true');
      await other.close();
    }
  });
});
