// Starts the system's Chromium (Debian's package, /usr/bin/chromium) through puppeteer-core, which never
// downloads a browser: for the tests of the page `charnn viz` writes, and for scripts/viz-screenshot.mjs.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import puppeteer from 'puppeteer-core';

export const CHROMIUM = '/usr/bin/chromium';

/** Why Chromium cannot be used here, or null when it can. */
export function chromiumMissing() {
  return fs.existsSync(CHROMIUM) ? null : `${CHROMIUM} is not installed (apt-get update && apt-get install -y chromium)`;
}

/**
 * A headless Chromium with a fresh profile and nothing that reaches the network. Close it with
 * closeChromium, which also removes the profile.
 */
export async function launchChromium() {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'charnn-chromium-'));
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    userDataDir: profile,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  profiles.set(browser, profile);
  return browser;
}

const profiles = new WeakMap();

export async function closeChromium(browser) {
  await browser.close();
  fs.rmSync(profiles.get(browser), { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
}

/** Opens a page `charnn viz` wrote and waits until its script has decoded the data and drawn the text. */
export async function openVizPage(browser, file, viewport = { width: 1280, height: 900 }) {
  const page = await browser.newPage();
  await page.setViewport(viewport);
  const errors = [];
  page.on('pageerror', (err) => errors.push(String(err)));
  page.on('request', (request) => {
    if (!request.url().startsWith('file:') && !request.url().startsWith('data:')) errors.push(`fetched ${request.url()}`);
  });
  await page.goto('file://' + path.resolve(file));
  await page.waitForFunction(() => document.body.dataset.ready !== undefined, { timeout: 60_000 });
  return { page, errors };
}
