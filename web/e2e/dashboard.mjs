// Drives weir's own dashboard in headless Chromium through every page, checks that what it
// shows equals what the REST API answers at the same moment (a live counter must lie between
// the API's answers just before and just after it was read), and runs the user's path from the
// UI: a job file with a mistake shows it at its line, the fixed file runs, a savepoint is taken,
// the job is stopped with a savepoint and resumed from it. Any console error, page error, failed
// request or HTTP status >= 400 is a problem of the page it happened on (web/e2e/harness.mjs).
// Screenshots of every page go to OUT_DIR.
//
//   node web/e2e/dashboard.mjs BASE_URL OUT_DIR JOBS_JSON
//
// JOBS_JSON names the jobs the caller made: {"groupby", "batch", "failed", "cancelled"}.
// Exit status 0 when every page passed; 1 with one line per problem otherwise.

import { openDashboard } from './harness.mjs';

const [base, outDir, jobsJson] = process.argv.slice(2);
if (!base || !outDir || !jobsJson) {
  console.error('usage: node web/e2e/dashboard.mjs BASE_URL OUT_DIR JOBS_JSON');
  process.exit(2);
}
const jobs = JSON.parse(jobsJson);
const { page, api, step, until, text, number, between, equalNow, finish } = await openDashboard(base, outDir);

// ---- Overview -------------------------------------------------------------------------------
await step('overview', '/overview', async () => {
  for (const [id, key] of [
    ['taskmanagers', 'taskmanagers'],
    ['slots-total', 'slots-total'],
    ['slots-available', 'slots-available'],
    ['jobs-running', 'jobs-running'],
    ['jobs-finished', 'jobs-finished'],
    ['jobs-cancelled', 'jobs-cancelled'],
    ['jobs-failed', 'jobs-failed'],
  ]) {
    await equalNow(`[data-testid="${id}"]`, '/overview', (o) => o[key], id);
  }
  const o = await api('/overview');
  const version = await text('[data-testid="version"]');
  if (version !== o['flink-version']) throw new Error(`version ${version}, API ${o['flink-version']}`);
  await until('the age of the numbers is shown', async () => /updated .* ago/.test(await text('[data-testid="age"]')));
});

// ---- Jobs -----------------------------------------------------------------------------------
await step('jobs', '/jobs', async () => {
  const all = (await api('/jobs/overview')).jobs;
  await until('every job is listed', async () => (await page.locator('[data-testid="job-table"] tbody tr').count()) === Math.min(all.length, 50));
  const first = await page.locator('[data-testid="job-table"] tbody tr').first().getAttribute('data-jid');
  const newest = [...all].sort((a, b) => b['start-time'] - a['start-time'])[0].jid;
  if (first !== newest) throw new Error(`first row ${first}, newest job ${newest}`);
  await page.getByLabel('Search jobs').fill('compat-groupby');
  await until('the search keeps only the GROUP BY job', async () => {
    const rows = await page.locator('[data-testid="job-table"] tbody tr').all();
    return rows.length === 1 && (await rows[0].getAttribute('data-jid')) === jobs.groupby;
  });
  await page.getByLabel('Search jobs').fill('');
  await page.getByLabel('Filter by state').selectOption('FAILED');
  const failed = all.filter((j) => j.state === 'FAILED').length;
  await until('the state filter keeps the failed jobs', async () => (await page.locator('[data-testid="job-table"] tbody tr').count()) === failed);
});

// ---- One job --------------------------------------------------------------------------------
await step('job-overview', `/jobs/${jobs.groupby}/overview`, async () => {
  const d = await api(`/jobs/${jobs.groupby}`);
  await until('the graph has a box per vertex', async () => (await page.locator('svg.graph .vertex').count()) === d.plan.nodes.length);
  const edges = d.plan.nodes.reduce((n, x) => n + (x.inputs ?? []).length, 0);
  if ((await page.locator('svg.graph .edge').count()) !== edges) throw new Error('an edge is missing from the graph');
  const labels = (await page.locator('svg.graph .edge text').allTextContents()).map((t) => t.trim());
  for (const n of d.plan.nodes) for (const i of n.inputs ?? []) if (!labels.includes(i.ship_strategy)) throw new Error(`edge label ${i.ship_strategy} missing`);
  for (const v of d.vertices) {
    const row = page.locator(`[data-testid="vertex-table"] tr[data-vertex="${v.id}"]`);
    const cells = await row.locator('td').allInnerTexts();
    if (cells[0] !== v.name || number(cells[2]) !== v.parallelism) throw new Error(`vertex row ${cells.join('|')} is not ${v.name} ×${v.parallelism}`);
  }
  const source = d.vertices[0].id;
  await between(`tr[data-vertex="${source}"] td[data-field="write-records"]`, `/jobs/${jobs.groupby}`, (j) => j.vertices[0].metrics['write-records'], 'rows out of the source');
  await until('a live rate is shown in the graph', async () => /out [0-9.]+ ?[kM]?\/s/.test(await page.locator(`svg.graph .vertex[data-vertex="${source}"] .vertex-rate`).textContent()));
});

await step('job-checkpoints', `/jobs/${jobs.groupby}/checkpoints`, async () => {
  await between('[data-testid="cp-completed"]', `/jobs/${jobs.groupby}/checkpoints`, (c) => c.counts.completed, 'completed checkpoints', 2000);
  await until('the latest completed checkpoint is shown', async () => {
    const c = await api(`/jobs/${jobs.groupby}/checkpoints`);
    const shown = await text('[data-testid="cp-latest"]');
    const id = Number(/#(\d+)/.exec(shown)?.[1]);
    return id >= c.latest.completed.id - 1 && id <= c.latest.completed.id ? true : `shown #${id}, API #${c.latest.completed.id}`;
  });
  await page.locator('[data-testid="cp-size-chart"] canvas').first().waitFor({ timeout: 8000 });
  // A checkpoint expands to its vertices, a vertex to its subtasks, each as the API has it.
  const c = await api(`/jobs/${jobs.groupby}/checkpoints`);
  const cp = c.latest.completed.id;
  const vertices = (await api(`/jobs/${jobs.groupby}`)).vertices;
  await until(`checkpoint #${cp} is listed`, async () => (await page.locator(`[data-testid="cp-history"] tr[data-checkpoint="${cp}"]`).count()) === 1);
  await page.locator(`[data-testid="cp-history"] tr[data-checkpoint="${cp}"]`).click();
  await until('a row per vertex', async () => (await page.locator('tr[data-cp-vertex]').count()) === vertices.length);
  const agg = vertices[vertices.length - 1];
  await page.locator(`tr[data-cp-vertex="${agg.id}"]`).click();
  const detail = await api(`/jobs/${jobs.groupby}/checkpoints/details/${cp}/subtasks/${agg.id}`);
  await until('a row per subtask of the checkpoint', async () => (await page.locator('[data-testid="cp-subtasks"] tr[data-subtask]').count()) === detail.subtasks.length);
  for (const t of detail.subtasks) {
    const cells = await page.locator(`[data-testid="cp-subtasks"] tr[data-subtask="${t.index}"] td`).allInnerTexts();
    if (cells[1] !== t.status) throw new Error(`subtask ${t.index} shows ${cells[1]}, the API says ${t.status}`);
  }
});

// ---- The SeaTunnel view: tables and their counts ---------------------------------------------
await step('job-tables', `/jobs/${jobs.groupby}/seatunnel`, async () => {
  const st = await api(`/jobs/${jobs.groupby}/seatunnel`);
  const table = Object.keys(st.metrics.TableSourceReceivedCount)[0];
  if (!table) throw new Error(`the API knows no table of the job: ${JSON.stringify(st.metrics)}`);
  const id = await text('[data-testid="st-job-id"]');
  if (!id.includes(st.jobId)) throw new Error(`SeaTunnel id ${id}, API ${st.jobId}`);
  await between(`[data-testid="st-tables"] tr[data-table="${table}"] td[data-field="in"]`, `/jobs/${jobs.groupby}/seatunnel`, (j) => Number(j.metrics.TableSourceReceivedCount[table]), `rows read from ${table}`, 2000);
  const pipelines = Object.keys(st.jobDag.pipelineEdges).length;
  if ((await page.locator('.pipeline').count()) !== pipelines) throw new Error(`not ${pipelines} pipelines shown`);
  const vertices = st.jobDag.vertexInfoMap.length;
  if ((await page.locator('tr[data-st-vertex]').count()) !== vertices) throw new Error(`not ${vertices} SeaTunnel vertices shown`);
});

await step('job-configuration', `/jobs/${jobs.groupby}/configuration`, async () => {
  const c = await api(`/jobs/${jobs.groupby}/config`);
  const want = Object.keys(c['execution-config']).filter((k) => k !== 'user-config').length + Object.keys(c['execution-config']['user-config'] ?? {}).length;
  await until('every configuration entry is shown', async () => (await page.locator('[data-testid="job-config"] tr').count()) === want);
});

await step('job-exceptions-failed', `/jobs/${jobs.failed}/exceptions`, async () => {
  const e = await api(`/jobs/${jobs.failed}/exceptions`);
  const root = e.exceptionHistory.entries[0];
  if (!root) throw new Error('the failed job has no exception in the API');
  const shown = await text('[data-testid="root-exception"]');
  if (!shown.includes(root.stacktrace.split('\n')[0])) throw new Error(`root cause shown is not the API's: ${shown.slice(0, 120)}`);
});

await step('job-finished-batch', `/jobs/${jobs.batch}/overview`, async () => {
  await until('the batch job is shown FINISHED', async () => (await text('.job-head .state')) === 'FINISHED');
  if (!(await page.locator('[data-action="cancel"]').isDisabled())) throw new Error('a finished job offers Cancel');
});

await step('job-cancelled', `/jobs/${jobs.cancelled}/overview`, async () => {
  await until('the cancelled job is shown CANCELED', async () => (await text('.job-head .state')) === 'CANCELED');
});

// ---- Vertex ---------------------------------------------------------------------------------
const groupby = await api(`/jobs/${jobs.groupby}`);
const agg = groupby.vertices[groupby.vertices.length - 1];
await step('vertex', `/jobs/${jobs.groupby}/vertices/${agg.id}`, async () => {
  await until('a row per subtask', async () => (await page.locator('[data-testid="subtask-table"] tbody tr').count()) === agg.parallelism);
  const v = await api(`/jobs/${jobs.groupby}/vertices/${agg.id}`);
  for (const s of v.subtasks) {
    const cells = await page.locator(`[data-testid="subtask-table"] tr[data-subtask="${s.subtask}"] td`).allInnerTexts();
    if (cells[1] !== s.status || cells[3] !== s.endpoint) throw new Error(`subtask ${s.subtask}: ${cells.join('|')}`);
  }
  const list = (await api(`/jobs/${jobs.groupby}/vertices/${agg.id}/metrics`)).map((m) => m.id);
  const picks = [list.find((m) => m.endsWith('numRecordsInPerSecond')), list.find((m) => m.endsWith('numRecordsIn'))].filter(Boolean);
  if (picks.length < 2) throw new Error(`the vertex lists no record metrics: ${list.slice(0, 10).join(', ')}`);
  for (const m of picks) await page.getByLabel('Add a metric').selectOption(m);
  await page.locator('[data-testid="metric-chart"] canvas').first().waitFor({ timeout: 8000 });
  await until('both metrics are charted', async () => (await page.locator('[data-testid="metric-chart"] .u-series').count()) >= 3);
  await page.locator('[data-testid="backpressure"] tbody tr').first().waitFor({ timeout: 10000 });
  // On-CPU: a graph, or (a quiet GROUP BY is idle most of the time) the page saying no sample
  // caught a subtask running; never "sampling" for ever. The full graph counts every sample.
  await page.locator('[data-testid="flame"] rect, [data-testid="flame-none"]').first().waitFor({ timeout: 15000 });
  await page.getByLabel('Flame graph type').selectOption('full');
  await page.locator('[data-testid="flame"] rect').first().waitFor({ timeout: 15000 });
  await page.getByLabel('Flame graph type').selectOption('off_cpu');
  await page.waitForTimeout(1500);
});

// ---- TaskManagers and the JobManager --------------------------------------------------------
const tms = (await api('/taskmanagers')).taskmanagers;
await step('taskmanagers', '/taskmanagers', async () => {
  await until('a row per TaskManager', async () => (await page.locator('[data-testid="tm-table"] tbody tr').count()) === tms.length);
  for (const t of tms) {
    await equalNow(`tr[data-tm="${t.id}"] td[data-field="slots"]`, '/taskmanagers', (a) => a.taskmanagers.find((x) => x.id === t.id).slotsNumber, 'slots');
    await equalNow(`tr[data-tm="${t.id}"] td[data-field="free-slots"]`, '/taskmanagers', (a) => a.taskmanagers.find((x) => x.id === t.id).freeSlots, 'free slots');
  }
});

for (const [name, hash, baseApi] of [
  ['taskmanager', `/taskmanagers/${encodeURIComponent(tms[0].id)}`, `/taskmanagers/${encodeURIComponent(tms[0].id)}`],
  ['jobmanager', '/jobmanager', '/jobmanager'],
]) {
  await step(`${name}-metrics`, hash, async () => {
    const list = await api(`${baseApi}/metrics`);
    await until('the metric list is offered', async () => (await page.getByLabel('Add a metric').locator('option').count()) === list.length + 1);
    await page.getByLabel('Add a metric').selectOption(list[0].id);
    await page.locator('[data-testid="metric-chart"] canvas').first().waitFor({ timeout: 8000 });
    if (name === 'jobmanager') {
      const config = await api('/jobmanager/config');
      await until('every configuration entry is shown', async () => (await page.locator('[data-testid="jm-config"] tr').count()) === config.length);
    }
  });
  await step(`${name}-log`, null, async () => {
    await page.locator('.tabs .tab', { hasText: /^logs$/ }).click();
    await until('the log is shown as the API has it', async () => {
      const log = (await (await fetch(`${base}${baseApi}/log`)).text()).trim();
      const shown = (await text('[data-testid="log"]')).trim();
      return log === '' ? shown === '(empty)' : shown.startsWith(log.split('\n')[0]) ? true : `shown ${shown.slice(0, 80)}`;
    });
  });
  await step(`${name}-stdout`, null, async () => {
    await page.locator('.tabs .tab', { hasText: /^stdout$/ }).click();
    await page.locator('[data-testid="stdout"]').waitFor({ timeout: 8000 });
  });
  await step(`${name}-thread-dump`, null, async () => {
    await page.locator('.tabs .tab', { hasText: /^thread dump$/ }).click();
    await until('threads are listed', async () => (await text('[data-testid="thread-dump"]')).includes('Id='));
  });
}

// ---- Submit, savepoint, stop with savepoint, resume -----------------------------------------
const GOOD = `env {
  job.name = "dashboard-submitted"
  job.mode = "STREAMING"
  parallelism = 1
  checkpoint.interval = 1000
}
source {
  FakeSource {
    plugin_output = rows
    unbounded = true
    rows.per.second = 500
    schema = { fields { k = int, v = int } }
  }
}
transform {
  Sql {
    plugin_input = rows
    plugin_output = agg
    query = "select k, count(*) as c from rows group by k"
  }
}
sink {
  Blackhole { plugin_input = agg }
}
`;
const MISTAKE_LINE = GOOD.split('\n').findIndex((l) => l.includes('Blackhole')) + 1;
const BAD = GOOD.replace('Blackhole', 'Blackhol');

async function fillFile(content) {
  await page.getByLabel('Job file text').fill(content);
}

await step('submit-mistake', '/submit', async () => {
  await fillFile(BAD);
  await page.locator('[data-action="check"]').click();
  await page.locator('[data-testid="problems"]').waitFor({ timeout: 10000 });
  const item = page.locator(`[data-testid="problems"] li[data-line="${MISTAKE_LINE}"]`);
  if ((await item.count()) !== 1) throw new Error(`no problem at line ${MISTAKE_LINE}: ${await text('[data-testid="problems"]')}`);
  const said = await item.innerText();
  if (!said.includes('Blackhole')) throw new Error(`the problem does not suggest the right plugin: ${said}`);
  if (!said.includes('sink[0] Blackhol')) throw new Error(`the problem does not say where it is: ${said}`);
  if ((await page.locator(`.gutter .bad[data-line="${MISTAKE_LINE}"]`).count()) !== 1) throw new Error('the line is not marked in the editor');
  // Checking leaves no upload behind.
  await until('the check upload was removed', async () => (await api('/jars')).files.length === 0);
});

let submitted;
await step('submit-run', null, async () => {
  await fillFile(GOOD);
  await page.locator('[data-action="check"]').click();
  await page.locator('[data-testid="check-ok"]').waitFor({ timeout: 10000 });
  await page.locator('[data-action="run"]').click();
  await page.waitForURL(/#\/jobs\/[0-9a-f]{32}\/overview$/, { timeout: 15000 });
  submitted = /#\/jobs\/([0-9a-f]{32})/.exec(page.url())[1];
  await until('the submitted job runs', async () => (await text('.job-head .state')) === 'RUNNING', 20000);
  await until('the submitted job checkpoints', async () => (await api(`/jobs/${submitted}/checkpoints`)).counts.completed >= 1, 20000);
});

async function action(kind) {
  if ((await page.locator('.confirm').count()) === 0) await page.locator(`[data-action="${kind}"]`).click();
  const command = await text('.confirm .command code');
  if (!command.startsWith('curl -X ')) throw new Error(`no curl command shown for ${kind}: ${command}`);
  await page.locator(`[data-confirm="${kind}"]`).click();
  await until(`${kind} completes`, async () => {
    const state = await page.locator('[data-testid="operation"]').getAttribute('data-state');
    if (state === 'failed') throw new Error(await text('[data-testid="operation"]'));
    return state === 'done';
  }, 30000);
  return text('[data-testid="savepoint-path"]');
}

let savepoint;
await step('savepoint', null, async () => {
  savepoint = await action('savepoint');
  await until('the savepoint is in the history', async () => (await api(`/jobs/${submitted}/checkpoints`)).history.some((h) => h.is_savepoint && h.external_path === savepoint));
});

let stopped;
await step('stop-with-savepoint', null, async () => {
  stopped = await action('stop');
  if (stopped === savepoint) throw new Error('stop reused the earlier savepoint');
  await until('the stopped job is shown FINISHED', async () => (await text('.job-head .state')) === 'FINISHED', 20000);
  const s = await api(`/jobs/${submitted}`);
  if (s.state !== 'FINISHED') throw new Error(`the API says ${s.state}`);
});

let resumed;
await step('resume-from-savepoint', '/submit', async () => {
  await fillFile(GOOD);
  await page.getByLabel('Savepoint path').fill(stopped);
  await page.locator('[data-action="run"]').click();
  await page.waitForURL((u) => /#\/jobs\/[0-9a-f]{32}\/overview$/.test(u.hash) && !u.hash.includes(submitted), { timeout: 15000 });
  resumed = /#\/jobs\/([0-9a-f]{32})/.exec(page.url())[1];
  await until('the resumed job restored the savepoint', async () => (await api(`/jobs/${resumed}/checkpoints`)).latest.restored?.external_path === stopped, 20000);
  await page.goto(`${base}/#/jobs/${resumed}/checkpoints`);
  await until('the page says where it restored from', async () => (await page.locator('main').innerText()).includes(stopped));
  // The uploaded file is listed to run again.
  await page.goto(`${base}/#/submit`);
  await page.locator('[data-testid="jar-table"] tbody tr').first().waitFor({ timeout: 8000 });
});

await step('rescale', `/jobs/${resumed}/overview`, async () => {
  await until('the resumed job runs', async () => (await text('.job-head .state')) === 'RUNNING', 20000);
  await page.locator('[data-action="rescale"]').click();
  await page.getByLabel('new parallelism').fill('2');
  await action('rescale').catch((e) => {
    if (!String(e.message).includes('savepoint-path')) throw e;
  });
  await until('the API shows the new parallelism after the source', async () => {
    const d = await api(`/jobs/${resumed}`);
    return d.state === 'RUNNING' && d.vertices.slice(1).every((v) => v.parallelism === 2) ? true : d.vertices.map((v) => v.parallelism).join(',');
  }, 30000);
  await until('the vertex table shows it', async () => {
    const d = await api(`/jobs/${resumed}`);
    const last = d.vertices[d.vertices.length - 1];
    const cells = await page.locator(`[data-testid="vertex-table"] tr[data-vertex="${last.id}"] td`).allInnerTexts();
    return number(cells[2]) === 2;
  });
});

await step('cancel', `/jobs/${resumed}/overview`, async () => {
  await action('cancel').catch(() => undefined);
  await until('the cancelled job is shown CANCELED', async () => (await text('.job-head .state')) === 'CANCELED', 20000);
});

// ---- Themes and small screens ---------------------------------------------------------------
await step('dark-theme', '/overview', async () => {
  await page.locator('button.theme').click();
  await until('the dark theme is on', async () => (await page.evaluate(() => document.documentElement.dataset.theme)) === 'dark');
});

await page.setViewportSize({ width: 390, height: 844 });
for (const [name, hash] of [
  ['phone-overview', '/overview'],
  ['phone-job', `/jobs/${jobs.groupby}/overview`],
  ['phone-submit', '/submit'],
]) {
  await step(name, hash, async () => {
    await page.waitForTimeout(1500);
    const wide = await page.evaluate(() => document.documentElement.scrollWidth);
    if (wide > 392) throw new Error(`the page is ${wide} px wide on a 390 px screen`);
  });
}

await finish({ jobs: { ...jobs, submitted, resumed }, savepoint, stopped });
