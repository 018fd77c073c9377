// Characters per second of the page and of the module `charnn export` writes, in headless Chromium,
// against `charnn sample` on the same checkpoint (its start-up, a run of --length 0, subtracted).
//
//   node scripts/export-speed.mjs <checkpoint.json> [characters=20000]
//
// Prints a Markdown table (BENCHMARKS.md). Needs `npm run build` and /usr/bin/chromium. The machine's load
// moves every figure: run it on a quiet machine, more than once.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromiumMissing, closeChromium, launchChromium } from './chromium.mjs';

const [checkpoint, length = '20000'] = process.argv.slice(2);
if (!checkpoint) {
  console.error('usage: node scripts/export-speed.mjs <checkpoint.json> [characters]');
  process.exit(2);
}
if (chromiumMissing()) {
  console.error(chromiumMissing());
  process.exit(1);
}
const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../bin/charnn.js');
const charnn = (...args) => execFileSync(process.execPath, [BIN, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
const seconds = (run) => {
  const start = process.hrtime.bigint();
  run();
  return Number(process.hrtime.bigint() - start) / 1e9;
};

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'charnn-export-speed-'));
const server = http.createServer((req, res) => {
  const file = path.join(work, path.basename(req.url));
  res.setHeader('Content-Type', file.endsWith('.mjs') ? 'text/javascript' : 'text/html');
  res.end(fs.existsSync(file) ? fs.readFileSync(file) : '');
});
const browser = await launchChromium();
try {
  charnn('export', checkpoint, '--out', path.join(work, 'page.html'));
  charnn('export', checkpoint, '--format', 'module', '--out', path.join(work, 'model.mjs'));
  const sample = ['sample', '--checkpoint', checkpoint, '--seed', '1'];
  const startup = seconds(() => charnn(...sample, '--length', '0'));
  const cli = Number(length) / (seconds(() => charnn(...sample, '--length', length)) - startup);

  const page = await browser.newPage();
  await page.goto('file://' + path.join(work, 'page.html'));
  await page.waitForFunction(() => document.body.dataset.ready !== undefined, { timeout: 120_000 });
  await page.$eval('#length', (el, n) => (el.value = n), length);
  await page.$eval('#seed', (el) => (el.value = '1'));
  await page.click('#generate');
  await page.waitForFunction(() => document.body.dataset.state === 'idle', { timeout: 600_000 });
  const pageSpeed = Number((await page.$eval('#status', (el) => el.textContent)).match(/\((\d+)\/s\)/)[1]);

  fs.writeFileSync(path.join(work, 'module.html'), `<!doctype html><script type="module">
    import { generate } from './model.mjs';
    const start = performance.now();
    let chars = 0;
    for await (const piece of generate({ seed: 1, length: ${Number(length)} })) chars += [...piece].length;
    window.speed = chars / ((performance.now() - start) / 1000);
  </script>`);
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const modulePage = await browser.newPage();
  await modulePage.goto(`http://127.0.0.1:${server.address().port}/module.html`);
  await modulePage.waitForFunction(() => 'speed' in window, { timeout: 600_000 });
  const moduleSpeed = await modulePage.evaluate(() => window.speed);

  const backend = await page.$eval('#facts', (el) => el.textContent.match(/(\w+) kernels/)[1]);
  console.log(`| runner | characters/s | of the CLI |`);
  console.log('|---|---:|---:|');
  console.log(`| charnn sample (Node, wasm) | ${Math.round(cli)} | 100% |`);
  console.log(`| page (Chromium, ${backend}) | ${pageSpeed} | ${Math.round((100 * pageSpeed) / cli)}% |`);
  console.log(`| module (Chromium, ${backend}) | ${Math.round(moduleSpeed)} | ${Math.round((100 * moduleSpeed) / cli)}% |`);
} finally {
  await closeChromium(browser);
  server.close();
  fs.rmSync(work, { recursive: true, force: true });
}
