// Takes the screenshot README.md shows: node scripts/viz-screenshot.mjs <page.html> <out.png>
// The page is one `charnn viz` wrote; the tooltip of one character of the cells view is shown open.
import { chromiumMissing, closeChromium, launchChromium, openVizPage } from './chromium.mjs';

const [file, out] = process.argv.slice(2);
if (!file || !out) {
  console.error('usage: node scripts/viz-screenshot.mjs <page.html> <out.png>');
  process.exit(2);
}
const missing = chromiumMissing();
if (missing) {
  console.error(`viz-screenshot: ${missing}`);
  process.exit(1);
}
const browser = await launchChromium();
try {
  const { page, errors } = await openVizPage(browser, file, { width: 1200, height: 1000 });
  if (errors.length > 0) throw new Error(errors.join('; '));
  await page.evaluate(() => document.getElementById('cells').scrollIntoView());
  await page.hover('#cell-text span[data-i="40"]');
  await page.screenshot({ path: out });
  console.error(`wrote ${out}`);
} finally {
  await closeChromium(browser);
}
