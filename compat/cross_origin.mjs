// A hostile page in headless Chromium tries what any web page open on the same machine could
// try against weir: submit a job with a `text/plain` fetch (no preflight), submit it with a
// plain HTML form, read the job list with a CORS fetch, and preflight a JSON submission. It
// prints what each attempt saw as JSON; the Rust test checks weir's side (no job submitted).
//
//   node compat/cross_origin.mjs PAGE_URL
import { chromium } from 'playwright-core';

const [pageUrl] = process.argv.slice(2);
if (!pageUrl) {
  console.error('usage: node compat/cross_origin.mjs PAGE_URL');
  process.exit(2);
}
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
});
try {
  const page = await browser.newPage();
  const responses = [];
  page.on('response', (r) => responses.push({ url: r.url(), status: r.status() }));
  await page.goto(pageUrl);
  await page.waitForFunction(() => window.attempts && window.attempts.done, null, { timeout: 20000 });
  const attempts = await page.evaluate(() => window.attempts);
  console.log(JSON.stringify({ attempts, responses }));
} finally {
  await browser.close();
}
