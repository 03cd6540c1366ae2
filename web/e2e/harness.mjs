// What the dashboard's browser drivers share: headless Chromium on the dashboard, steps that
// screenshot and collect problems, waits, and reading a shown number against the REST API.
// Any console error, page error, failed request or HTTP status >= 400 is a problem of the step
// it happened in, unless the step tolerates it (a mistake it makes on purpose, an outage it
// causes).

import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';

/**
 * Calls `f` every `everyMs` until it returns true; throws `what` with its last answer (or
 * error) after `ms`. Needs no page, so a driver can wait on the cluster before opening one.
 */
export async function poll(what, f, ms = 10000, everyMs = 100) {
  const deadline = Date.now() + ms;
  let last;
  while (Date.now() < deadline) {
    try {
      last = await f();
      if (last === true) return;
    } catch (e) {
      last = e.message;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`${what} (last: ${JSON.stringify(last)})`);
}

/** `GET base + p` as JSON; a status >= 400 throws. */
export async function getJson(base, p) {
  const r = await fetch(`${base}${p}`);
  if (!r.ok) throw new Error(`GET ${p}: ${r.status}`);
  return r.json();
}

/**
 * Opens the dashboard at `base` in a 1280×800 page; screenshots go to `outDir`.
 * `tolerate(kind, text, status)` in a step's options lets a known failure pass.
 */
export async function openDashboard(base, outDir) {
  fs.mkdirSync(outDir, { recursive: true });
  const problems = [];
  const visited = [];
  let current = 'start';
  let pageProblems = [];
  /** The current step's tolerance: (kind, text, status) → true when it is expected. */
  let tolerated = () => false;

  const problem = (text) => {
    const line = `[${current}] ${text}`;
    pageProblems.push(line);
    problems.push(line);
  };

  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(base).origin });
  const page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const status = /the server responded with a status of (\d+)/.exec(m.text());
    if (tolerated('console', m.text(), status ? Number(status[1]) : undefined)) return;
    problem(`console error: ${m.text()}`);
  });
  page.on('pageerror', (e) => problem(`page error: ${e.message}`));
  page.on('requestfailed', (r) => {
    const why = r.failure()?.errorText ?? '';
    // Polls abort their request in flight when a page is left: that is not a failure.
    if (why.includes('ERR_ABORTED')) return;
    if (tolerated('requestfailed', `${r.method()} ${r.url()} ${why}`)) return;
    problem(`request failed: ${r.method()} ${r.url()} ${why}`);
  });
  page.on('response', (r) => {
    if (r.status() < 400) return;
    const m = r.request().method();
    if (tolerated('response', `${m} ${r.url()}`, r.status())) return;
    problem(`HTTP ${r.status()} for ${m} ${r.url()}`);
  });

  const api = (p) => getJson(base, p);

  async function shot(name) {
    await page.screenshot({ path: path.join(outDir, `${name}.png`), fullPage: true });
  }

  /** Runs one step: go to `hash` (unless null), run `check`, screenshot; a thrown error is a problem. */
  async function step(name, hash, check, { tolerate } = {}) {
    current = name;
    pageProblems = [];
    tolerated = tolerate ?? (() => false);
    try {
      if (hash !== null) {
        await page.goto(`${base}/#${hash}`);
        await page.locator('main').waitFor();
      }
      await check?.();
    } catch (e) {
      problem(`check: ${e.message.split('\n')[0]}`);
    }
    await page.waitForTimeout(300);
    await shot(name);
    visited.push({ name, hash, problems: pageProblems.length });
    tolerated = () => false;
  }

  const until = (what, f, ms = 10000) => poll(what, f, ms, 200);

  const text = (sel) => page.locator(sel).first().innerText({ timeout: 8000 });
  const number = (s) => Number(String(s).replace(/[^0-9.-]/g, ''));

  /**
   * Reads `sel` between two API answers: first the API, then (after the page's next poll,
   * `pollMs`) the page, then the API again. A counter shown must lie between the two answers.
   */
  async function between(sel, apiPath, pick, what, pollMs = 1000) {
    await page.locator(sel).first().waitFor({ timeout: 8000 });
    const before = pick(await api(apiPath));
    await page.waitForTimeout(pollMs + 400);
    const shown = number(await text(sel));
    const after = pick(await api(apiPath));
    if (!(shown >= before && shown <= after)) throw new Error(`${what}: shows ${shown}, the API said ${before} before and ${after} after`);
  }

  async function equalNow(sel, apiPath, pick, what) {
    await until(`${what} equals the API`, async () => {
      const want = pick(await api(apiPath));
      const shown = number(await text(sel));
      return shown === want ? true : `shown ${shown}, API ${want}`;
    });
  }

  /** Closes the browser, writes `report` (with the steps and problems) to pages.json, prints
   * one line per step and problem, and exits 0 when there was none. */
  async function finish(report = {}) {
    await browser.close();
    fs.writeFileSync(path.join(outDir, 'pages.json'), JSON.stringify({ visited, problems, ...report }, null, 2));
    for (const v of visited) console.log(`${v.problems === 0 ? 'ok  ' : 'FAIL'} ${v.name}`);
    for (const p of problems) console.log(p);
    process.exit(problems.length === 0 ? 0 : 1);
  }

  return { page, api, step, until, text, number, between, equalNow, finish };
}
