// The dashboard's cost, measured in headless Chromium (bench/dashboard.sh runs it):
//   1. first meaningful paint of a job page: from navigation start until the graph shows every
//      vertex and the vertex table every row (median of RUNS cold loads);
//   2. what one open job page asks of the JobManager: requests and bytes per minute, counted
//      from the page's own responses over a minute.
//   node web/bench/dashboard.mjs BASE_URL JOB_ID VERTICES [RUNS]
import { chromium } from 'playwright-core';

const [base, job, vertices, runsArg] = process.argv.slice(2);
const runs = Number(runsArg ?? 5);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
});

const paints = [];
for (let i = 0; i < runs; i++) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await page.goto(`${base}/#/jobs/${job}/overview`, { waitUntil: 'commit' });
  await page.waitForFunction(
    (n) => document.querySelectorAll('svg.graph .vertex').length === n && document.querySelectorAll('[data-testid="vertex-table"] tbody tr').length === n,
    Number(vertices),
    { timeout: 30000, polling: 'raf' },
  );
  paints.push(await page.evaluate(() => performance.now()));
  await context.close();
}
paints.sort((a, b) => a - b);
console.log(`first meaningful paint of the job page (${vertices} vertices): median ${paints[Math.floor(paints.length / 2)].toFixed(0)} ms, min ${paints[0].toFixed(0)} ms, max ${paints[paints.length - 1].toFixed(0)} ms over ${runs} cold loads`);

const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
const page = await context.newPage();
let bytes = 0;
let requests = 0;
let counting = false;
const paths = new Map();
page.on('requestfinished', async (r) => {
  if (!counting) return;
  const sizes = await r.sizes().catch(() => undefined);
  if (!sizes) return;
  requests++;
  const u = new URL(r.url());
  paths.set(u.pathname + u.search, (paths.get(u.pathname + u.search) ?? 0) + 1);
  bytes += sizes.requestHeadersSize + sizes.requestBodySize + sizes.responseHeadersSize + sizes.responseBodySize;
});
await page.goto(`${base}/#/jobs/${job}/overview`);
await page.waitForSelector('svg.graph .vertex');
const seconds = Number(process.env.OPEN_SECONDS ?? 60);
console.log(`OPEN_START ${Date.now()}`);
counting = true;
await page.waitForTimeout(seconds * 1000);
counting = false;
console.log(`OPEN_END ${Date.now()}`);
console.log(`one open job page: ${(requests * 60 / seconds).toFixed(0)} requests and ${(bytes * 60 / seconds / 1024).toFixed(0)} KiB per minute (headers and bodies, both ways)`);
// The requests the page made, per path and minute, so the caller can price each one.
for (const [p, n] of paths) console.log(`PATH ${(n * 60 / seconds).toFixed(1)} ${p}`);
await browser.close();
