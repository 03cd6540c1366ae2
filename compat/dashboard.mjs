// Drives Flink 2.3.0's own web dashboard, served by weir (`web.dashboard.dir`), in headless
// Chromium, through every page and tab a user reaches, and checks what it shows against weir's
// REST answers. Any console error, page error, failed request or HTTP status >= 400 fails the
// page it happened on. Screenshots go to OUT_DIR.
//
//   node compat/dashboard.mjs BASE_URL OUT_DIR
//
// Exit status 0 when every page passed; 1 with one line per problem otherwise.

import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';

const [base, outDir] = process.argv.slice(2);
if (!base || !outDir) {
  console.error('usage: node compat/dashboard.mjs BASE_URL OUT_DIR');
  process.exit(2);
}
fs.mkdirSync(outDir, { recursive: true });

const problems = [];
const visited = [];
let page;
let current = 'start';
let pageProblems = [];

function problem(text) {
  const line = `[${current}] ${text}`;
  pageProblems.push(line);
  problems.push(line);
}

async function api(p) {
  const r = await fetch(`${base}${p}`);
  if (!r.ok) throw new Error(`GET ${p}: ${r.status}`);
  return r.json();
}

async function shot(name) {
  await page.screenshot({ path: path.join(outDir, `${name}.png`), fullPage: true });
}

/// Waits until the dashboard has loaded what a page asks for (no request in flight for a
/// moment), then a little longer so periodic refreshes run at least once.
async function settle(ms = 1500) {
  try {
    await page.waitForLoadState('networkidle', { timeout: 10000 });
  } catch {
    // Pages that poll never go idle; the wait below still lets them render.
  }
  await page.waitForTimeout(ms);
}

async function visit(name, hash, check) {
  current = name;
  pageProblems = [];
  await page.goto(`${base}/#${hash}`);
  await settle();
  if (check) {
    try {
      await check();
    } catch (e) {
      problem(`content: ${e.message}`);
    }
  }
  await settle(300);
  await shot(name);
  visited.push({ name, hash, problems: pageProblems.length });
}

/// Fails unless the page shows `text` (a string or a regex) within a few seconds.
async function expectText(text, what) {
  const loc =
    typeof text === 'string'
      ? page.getByText(text, { exact: false })
      : page.getByText(text);
  try {
    await loc.first().waitFor({ state: 'visible', timeout: 8000 });
  } catch {
    throw new Error(`${what ?? 'text'} ${JSON.stringify(String(text))} is not shown`);
  }
}

async function expectRows(selector, count, what) {
  const deadline = Date.now() + 8000;
  let n = 0;
  while (Date.now() < deadline) {
    n = await page.locator(selector).count();
    if (n === count) return;
    await page.waitForTimeout(200);
  }
  throw new Error(`${what}: ${n} rows shown, ${count} expected`);
}

async function clickTab(text) {
  const tab = page.locator('a, .ant-tabs-tab, [nz-tab-link], li').filter({ hasText: text }).first();
  await tab.click({ timeout: 8000 });
  await settle(800);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
});
const context = await browser.newContext({ viewport: { width: 1600, height: 1000 } });
page = await context.newPage();
page.on('console', (m) => {
  if (m.type() === 'error') problem(`console error: ${m.text()}`);
});
page.on('pageerror', (e) => problem(`page error: ${e.message}`));
page.on('requestfailed', (r) => {
  const failure = r.failure()?.errorText ?? '';
  // A navigation away aborts the previous page's polls; that is not a failure.
  if (failure.includes('ERR_ABORTED')) return;
  problem(`request failed: ${r.method()} ${r.url()} ${failure}`);
});
page.on('response', (r) => {
  if (r.status() >= 400) problem(`HTTP ${r.status()}: ${r.request().method()} ${r.url()}`);
});

try {
  // What weir says, to compare the pages against.
  const overview = await api('/overview');
  const jobs = (await api('/jobs/overview')).jobs;
  const running = jobs.filter((j) => j.state === 'RUNNING');
  const completed = jobs.filter((j) => ['FINISHED', 'CANCELED', 'FAILED'].includes(j.state));
  const tms = (await api('/taskmanagers')).taskmanagers;

  await visit('overview', '/overview', async () => {
    await expectText(String(overview['slots-total']), 'total slots');
    for (const j of running) await expectText(j.name, 'running job');
  });
  await visit('jobs-running', '/job/running', async () => {
    for (const j of running) await expectText(j.name, 'running job');
  });
  await visit('jobs-completed', '/job/completed', async () => {
    for (const j of completed) await expectText(j.name, 'completed job');
    for (const j of completed) await expectText(j.state, 'completed job state');
  });

  for (const j of [...running, ...completed]) {
    const kind = running.includes(j) ? 'running' : 'completed';
    const details = await api(`/jobs/${j.jid}`);
    const jobPath = `/job/${kind}/${j.jid}`;
    const tag = `${j.name}`;
    await visit(`${tag}-graph`, `${jobPath}/overview`, async () => {
      await expectText(j.name, 'job name');
      for (const v of details.vertices) await expectText(v.name, 'vertex');
    });
    await visit(`${tag}-exceptions`, `${jobPath}/exceptions`);
    await visit(`${tag}-dataskew`, `${jobPath}/dataskew`);
    await visit(`${tag}-timeline`, `${jobPath}/timeline`);
    await visit(`${tag}-configuration`, `${jobPath}/configuration`, async () => {
      await expectText(j.name, 'job name');
    });
    const cps = await api(`/jobs/${j.jid}/checkpoints`);
    await visit(`${tag}-checkpoints`, `${jobPath}/checkpoints`, async () => {
      const latest = cps.latest?.completed;
      if (latest) await expectText(String(latest.id), 'latest checkpoint id');
      for (const t of ['History', 'Summary', 'Configuration']) await clickTab(t);
      if (latest) {
        await clickTab('History');
        // Expanding a checkpoint shows its operators; expanding one shows its subtasks.
        const row = page.locator('tr').filter({ hasText: String(latest.id) }).first();
        await row.locator('td').first().click();
        await settle(800);
        await expectText(details.vertices[0].name, 'vertex of the checkpoint');
      }
    });
    for (const v of details.vertices) {
      const vPath = `${jobPath}/overview/${v.id}`;
      await visit(`${tag}-${v.id}-detail`, `${vPath}/detail`);
      await visit(`${tag}-${v.id}-subtasks`, `${vPath}/subtasks`, async () => {
        await expectRows('flink-job-overview-drawer-subtasks tbody tr.ant-table-row', v.parallelism, 'subtasks');
      });
      await visit(`${tag}-${v.id}-taskmanagers`, `${vPath}/taskmanagers`, async () => {
        await expectText(tms[0].id, 'TaskManager');
      });
      await visit(`${tag}-${v.id}-watermarks`, `${vPath}/watermarks`);
      await visit(`${tag}-${v.id}-accumulators`, `${vPath}/accumulators`);
      await visit(`${tag}-${v.id}-backpressure`, `${vPath}/backpressure`);
      await visit(`${tag}-${v.id}-metrics`, `${vPath}/metrics`);
      await visit(`${tag}-${v.id}-flamegraph`, `${vPath}/flamegraph`);
    }
  }

  for (const tm of tms) {
    const p = `/task-manager/${tm.id}`;
    await visit('taskmanagers', '/task-manager', async () => {
      await expectText(tm.id, 'TaskManager id');
    });
    await visit('tm-metrics', `${p}/metrics`);
    await visit('tm-logs', `${p}/logs`);
    await visit('tm-stdout', `${p}/stdout`);
    await visit('tm-log-list', `${p}/log-list`);
    await visit('tm-thread-dump', `${p}/thread-dump`);
    await visit('tm-profiler', `${p}/profiler`);
  }
  await visit('jm-metrics', '/job-manager/metrics');
  await visit('jm-config', '/job-manager/config', async () => {
    await expectText('rest.port', 'configuration key');
  });
  await visit('jm-logs', '/job-manager/logs');
  await visit('jm-stdout', '/job-manager/stdout');
  await visit('jm-log-list', '/job-manager/log');
  await visit('jm-thread-dump', '/job-manager/thread-dump');
  await visit('jm-profiler', '/job-manager/profiler');
  await visit('submit', '/submit');
} catch (e) {
  problem(`driver: ${e.stack ?? e}`);
} finally {
  await browser.close();
}

fs.writeFileSync(path.join(outDir, 'pages.json'), JSON.stringify({ visited, problems }, null, 1));
for (const p of problems) console.log(p);
console.log(`${visited.length} pages visited, ${problems.length} problems`);
process.exit(problems.length === 0 ? 0 : 1);
