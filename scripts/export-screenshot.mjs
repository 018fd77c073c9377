// The picture of the exported page in the README (docs/export-page.png): the page of a checkpoint in
// headless Chromium, after one generation with fixed options and with the writing mode's suggestions.
//
//   node scripts/export-screenshot.mjs <checkpoint.json> [docs/export-page.png]
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { closeChromium, launchChromium } from './chromium.mjs';

const [checkpoint, out = 'docs/export-page.png'] = process.argv.slice(2);
const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../bin/charnn.js');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'charnn-export-shot-'));
const browser = await launchChromium();
try {
  execFileSync(process.execPath, [BIN, 'export', checkpoint, '--out', path.join(work, 'page.html')], { stdio: 'ignore' });
  const page = await browser.newPage();
  await page.setViewport({ width: 900, height: 760, deviceScaleFactor: 1 });
  await page.goto('file://' + path.join(work, 'page.html'));
  await page.waitForFunction(() => document.body.dataset.ready !== undefined, { timeout: 120_000 });
  const set = (id, value) => page.$eval(`#${id}`, (el, v) => (el.value = v), value);
  await set('prime', 'ROMEO:\n');
  await set('length', '400');
  await set('seed', '3');
  await set('top-p', '0.9');
  await page.click('#generate');
  await page.waitForFunction(() => document.body.dataset.state === 'idle', { timeout: 120_000 });
  await page.screenshot({ path: out });
} finally {
  await closeChromium(browser);
  fs.rmSync(work, { recursive: true, force: true });
}
