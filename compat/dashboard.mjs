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
/// Answers Flink 2.3.0 gives as errors too, so its dashboard meets them on Flink as well: a job
/// without checkpointing (a batch job) has no checkpoint statistics or configuration (404).
const flinkAlsoFails = [];
function expectedFailure(url) {
  return flinkAlsoFails.some((re) => re.test(url));
}
const visited = [];
let page;
let current = 'start';
let pageProblems = [];

function problem(text) {
  const line = `[${current}] ${text}`;
  pageProblems.push(line);
  problems.push(line);
}

async function api(p, { missingOk = false } = {}) {
  const r = await fetch(`${base}${p}`);
  if (missingOk && r.status === 404) return null;
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

/// Runs a page's content check; a failed one is a problem of the page.
async function runCheck(check) {
  if (!check) return;
  try {
    await check();
  } catch (e) {
    problem(`content: ${e.message}`);
  }
}

async function visit(name, hash, check) {
  current = name;
  pageProblems = [];
  await page.goto(`${base}/#${hash}`);
  await settle();
  await runCheck(check);
  await settle(300);
  await shot(name);
  visited.push({ name, hash, problems: pageProblems.length });
}

/// Fails unless the page shows `text` (a string or a regex) within a few seconds.
async function expectText(text, what) {
  const loc = page.getByText(text, { exact: false }).filter({ visible: true });
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

/// Clicks a visible tab (antd tabs and the dashboard's navigation bars) by its label.
async function clickTab(text, within = '') {
  const scope = within ? `${within} ` : '';
  const tab = page
    .locator(
      [`.ant-tabs-tab:visible`, `flink-navigation a:visible`, `.ant-menu-item:visible`]
        .map((sel) => scope + sel)
        .join(', '),
    )
    .filter({ hasText: new RegExp(`^\\s*${text}\\s*$`) })
    .first();
  await tab.click({ timeout: 8000 });
  await settle(800);
}

/// Clicks the first visible `+` of a table (a row's details).
async function expandFirstRow(within) {
  const icon = page.locator(`${within} .ant-table-row-expand-icon:visible`).first();
  await icon.click({ timeout: 8000 });
  await settle(800);
}

/// Opens a job's page the way a user does: from the job list, by its name.
async function openJob(listHash, name) {
  await page.goto(`${base}/#${listHash}`);
  await settle(800);
  await page.locator('tr.ant-table-row:visible').filter({ hasText: name }).first().click();
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
  if (m.type() !== 'error') return;
  if (m.text().startsWith('Failed to load resource') && expectedFailure(m.location()?.url ?? '')) return;
  // A race inside Flink's dashboard, not an answer of weir's: ng-zorro's code editor (the
  // exceptions page's stack trace) debounces a resize 50 ms after checking that its Monaco
  // instance exists, so navigating away within those 50 ms calls layout() on null. It shows
  // on a loaded machine only; the page that follows still renders and is checked.
  if (m.text().includes("Cannot read properties of null (reading 'layout')")) return;
  problem(`console error: ${m.text()}`);
});
page.on('pageerror', (e) => problem(`page error: ${e.message}`));
page.on('requestfailed', (r) => {
  const failure = r.failure()?.errorText ?? '';
  // A navigation away aborts the previous page's polls; that is not a failure.
  if (failure.includes('ERR_ABORTED')) return;
  problem(`request failed: ${r.method()} ${r.url()} ${failure}`);
});
page.on('response', (r) => {
  if (r.status() >= 400 && !expectedFailure(r.url())) {
    problem(`HTTP ${r.status()}: ${r.request().method()} ${r.url()}`);
  }
});

try {
  // What weir says, to compare the pages against.
  const overview = await api('/overview');
  const jobs = (await api('/jobs/overview')).jobs;
  const running = jobs.filter((j) => j.state === 'RUNNING');
  const completed = jobs.filter((j) => ['FINISHED', 'CANCELED', 'FAILED'].includes(j.state));
  const tms = (await api('/taskmanagers')).taskmanagers;
  for (const j of jobs) {
    if ((await api(`/jobs/${j.jid}`))['job-type'] === 'BATCH') {
      flinkAlsoFails.push(new RegExp(`/jobs/${j.jid}/checkpoints(/config)?$`));
    }
  }

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
    const tag = j.name;
    await visit(`${tag}-graph`, `${jobPath}/overview`, async () => {
      await expectText(j.name, 'job name');
      await expectText(j.state, 'job state');
      for (const v of details.vertices) await expectText(v.name, 'vertex');
    });
    await visit(`${tag}-exceptions`, `${jobPath}/exceptions`);
    await visit(`${tag}-dataskew`, `${jobPath}/dataskew`);
    await visit(`${tag}-timeline`, `${jobPath}/timeline`);
    await visit(`${tag}-configuration`, `${jobPath}/configuration`, async () => {
      const config = await api(`/jobs/${j.jid}/config`);
      await expectText('Job parallelism', 'execution configuration');
      for (const key of Object.keys(config['execution-config']['user-config'] ?? {})) {
        await expectText(key, 'user configuration key');
      }
    });
    const cps = await api(`/jobs/${j.jid}/checkpoints`, { missingOk: true });
    await visit(`${tag}-checkpoints`, `${jobPath}/checkpoints`, async () => {
      if (!cps) return;
      await expectText('Checkpoint Counts', 'checkpoint counts');
      const latest = cps.latest?.completed;
      if (latest) {
        // A running job checkpoints on: the page shows the latest completed checkpoint as of
        // its own load, which must be one weir completed, no older than the one read before.
        await expectText('Latest Completed Checkpoint', 'latest checkpoint');
        const row = await page
          .locator('flink-job-checkpoints tr:visible')
          .filter({ hasText: 'Latest Completed Checkpoint' })
          .first()
          .innerText();
        const shown = Number(/ID:\s*(\d+)/.exec(row)?.[1]);
        if (!(shown >= latest.id)) throw new Error(`latest checkpoint shown as ${shown}, weir had ${latest.id}: ${row}`);
        const details = await api(`/jobs/${j.jid}/checkpoints/details/${shown}`);
        if (details.status !== 'COMPLETED') throw new Error(`checkpoint ${shown} is ${details.status} in weir`);
      }
      await clickTab('History', 'flink-job-checkpoints');
      await shot(`${tag}-checkpoints-history`);
      if (latest) {
        // Expanding a checkpoint shows its operators; expanding one shows its subtasks.
        await expandFirstRow('flink-job-checkpoints');
        await expectText(details.vertices[0].name, 'vertex of the checkpoint');
        await expandFirstRow('flink-job-checkpoints-detail');
        await shot(`${tag}-checkpoints-history-expanded`);
      }
      await clickTab('Summary', 'flink-job-checkpoints');
      await shot(`${tag}-checkpoints-summary`);
      await clickTab('Configuration', 'flink-job-checkpoints');
      const cfg = await api(`/jobs/${j.jid}/checkpoints/config`);
      await expectText('Checkpointing Mode', 'checkpoint configuration');
      await expectText(cfg.checkpoint_storage, 'checkpoint storage');
      await shot(`${tag}-checkpoints-configuration`);
    });
    for (const v of details.vertices) {
      const vtag = `${tag}-${v.name.replace(/[^A-Za-z0-9]+/g, '_')}`;
      // Open the vertex from the job graph page, then walk its tabs as a user clicks them.
      current = `${vtag}-open`;
      pageProblems = [];
      await page.goto(`${base}/#${jobPath}/overview`);
      await settle(800);
      await page.locator('flink-job-overview-list a:visible, flink-job-overview-list td:visible').filter({ hasText: v.name }).first().click();
      await settle(800);
      const tabs = [
        ['Detail', null],
        ['SubTasks', async () => {
          await expectRows('flink-job-overview-drawer-subtasks tbody tr.ant-table-row:visible', v.parallelism, 'subtasks');
        }],
        ['TaskManagers', async () => {
          const vtm = await api(`/jobs/${j.jid}/vertices/${v.id}/taskmanagers`);
          for (const t of vtm.taskmanagers) await expectText(t.endpoint, 'TaskManager endpoint');
        }],
        ['Watermarks', null],
        ['Accumulators', null],
        ['BackPressure', null],
        ['Metrics', async () => {
          if (kind !== 'running') return;
          // Add a chart of the vertex's first metric.
          const select = page.locator('nz-select:visible').filter({ hasText: 'Select Metric Name' }).first();
          await select.click({ timeout: 8000 });
          await page.locator('nz-option-item:visible').first().click({ timeout: 8000 });
          await settle(3500);
          const charts = await page.locator('flink-job-chart:visible').count();
          if (charts < 1) throw new Error('no metric chart was added');
        }],
        ['FlameGraph', null],
      ];
      for (const [label, check] of tabs) {
        current = `${vtag}-${label}`;
        pageProblems = [];
        try {
          await clickTab(label);
        } catch {
          // Tabs past the drawer's width sit behind its "more" menu; go there by address.
          await page.goto(`${base}/#${jobPath}/overview/${v.id}/${label.toLowerCase()}`);
          await settle();
        }
        await runCheck(check);
        await shot(current);
        visited.push({ name: current, problems: pageProblems.length });
      }
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
  await visit('jm-profiler', '/job-manager/profiler', async () => {
    await page.getByText('Create Profiling Instance').first().click({ timeout: 8000 });
    await settle(500);
    // The default is a 30 s run; the list shows it RUNNING, then FINISHED with its file.
    await expectText('RUNNING', 'profiling run');
    const deadline = Date.now() + 60000;
    let list;
    do {
      await page.waitForTimeout(2000);
      list = (await api('/jobmanager/profiler')).profilingList;
    } while (list[0]?.status === 'RUNNING' && Date.now() < deadline);
    if (list[0]?.status !== 'FINISHED') throw new Error(`profiling ended ${list[0]?.status}: ${list[0]?.message}`);
    await page.reload();
    await settle();
    await expectText(list[0].outputFile, 'profiling result');
  });
  await visit('submit', '/submit');

  // Cancel a running job from its page, as a user does: the button, then "Yes".
  const victim = running.find((j) => j.name.includes('cancel')) ?? running[running.length - 1];
  if (victim) {
    await visit('cancel-job', `/job/running/${victim.jid}/overview`, async () => {
      await page.getByText('Cancel Job').first().click({ timeout: 8000 });
      await page.locator('.ant-popover:visible button').filter({ hasText: 'Yes' }).first().click({ timeout: 8000 });
      const deadline = Date.now() + 20000;
      let status;
      do {
        await page.waitForTimeout(500);
        status = (await api(`/jobs/${victim.jid}/status`)).status;
      } while (status !== 'CANCELED' && Date.now() < deadline);
      if (status !== 'CANCELED') throw new Error(`the job is ${status} after Cancel Job`);
      await settle();
      await expectText('CANCELED', 'job state after cancel');
    });
  }
} catch (e) {
  problem(`driver: ${e.stack ?? e}`);
} finally {
  await browser.close();
}

fs.writeFileSync(path.join(outDir, 'pages.json'), JSON.stringify({ visited, problems }, null, 1));
for (const p of problems) console.log(p);
console.log(`${visited.length} pages visited, ${problems.length} problems`);
process.exit(problems.length === 0 ? 0 : 1);
