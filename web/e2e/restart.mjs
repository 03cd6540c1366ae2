// The dashboard across a JobManager restart: real `weir jobmanager` and `weir taskmanager`
// processes, a checkpointed streaming GROUP BY, its job page open in headless Chromium. The
// JobManager is killed (SIGKILL): the page must keep what it showed and say that the numbers
// are stale and why. A new JobManager on the same ports and data directory recovers the job:
// the page, left open, must catch up by itself (the same job RUNNING, fresh numbers that agree
// with the API) without a reload. Connection failures are tolerated only while the
// JobManager is down or coming back.
//
//   node web/e2e/restart.mjs WEIR_BIN DATA_DIR REST_PORT RPC_PORT OUT_DIR
//
// Exit status 0 when every step passed; 1 with one line per problem otherwise.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { getJson, openDashboard, poll } from './harness.mjs';

const [bin, dataDir, restPort, rpcPort, outDir] = process.argv.slice(2);
if (!bin || !dataDir || !restPort || !rpcPort || !outDir) {
  console.error('usage: node web/e2e/restart.mjs WEIR_BIN DATA_DIR REST_PORT RPC_PORT OUT_DIR');
  process.exit(2);
}
const base = `http://127.0.0.1:${restPort}`;
const children = new Set();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

/** Starts `weir args…` and resolves once a line of its stdout contains `ready`. */
function start(args, ready) {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    children.add(child);
    child.on('exit', () => children.delete(child));
    const timer = setTimeout(() => reject(new Error(`weir ${args[0]} not ready in 30 s`)), 30000);
    child.on('error', (e) => reject(e));
    // Every line is read, so a full pipe never blocks the process.
    readline.createInterface({ input: child.stdout }).on('line', (line) => {
      if (line.includes(ready)) {
        clearTimeout(timer);
        resolve(child);
      }
    });
  });
}

const jobManager = () =>
  start(
    [
      'jobmanager',
      '--data-dir', path.join(dataDir, 'jm'),
      '-D', `weir.sandbox.allowed-paths=${dataDir}`,
      '-D', `rest.port=${restPort}`,
      '-D', `jobmanager.rpc.port=${rpcPort}`,
      '-D', 'seatunnel.engine.http.enable-http=false',
      '-D', 'seatunnel.engine.rest-v1.enabled=false',
      '-D', 'heartbeat.interval=100ms',
      '-D', 'heartbeat.timeout=1s',
    ],
    'TaskManagers join:',
  );

let jm = await jobManager();
await start(
  ['taskmanager', '--jobmanager', `127.0.0.1:${rpcPort}`, '--data-dir', path.join(dataDir, 'tm'), '-D', 'taskmanager.numberOfTaskSlots=4'],
  'JobManager:',
);

await poll('the TaskManager registered', async () => (await getJson(base, '/taskmanagers')).taskmanagers.length === 1, 20000);
const jobFile = fs.readFileSync(new URL('../../compat/jobs/streaming_groupby.conf', import.meta.url), 'utf8');
const submitted = await fetch(`${base}/jobs`, { method: 'POST', body: jobFile });
if (submitted.status !== 202) throw new Error(`submission answered ${submitted.status}: ${await submitted.text()}`);
const job = (await submitted.json()).jobUrl.replace('/jobs/', '');
await poll('the job completed a checkpoint', async () => (await getJson(base, `/jobs/${job}/checkpoints`)).counts.completed >= 2, 20000);

const { page, api, step, until, text, number, between, finish } = await openDashboard(base, outDir);

/** The browser's view of a JobManager that is gone: refused or cut connections. */
const outage = (kind, t) =>
  (kind === 'requestfailed' && /ERR_CONNECTION_(REFUSED|RESET|CLOSED)|ERR_EMPTY_RESPONSE/.test(t)) ||
  (kind === 'console' && /Failed to load resource: net::ERR_(CONNECTION_(REFUSED|RESET|CLOSED)|EMPTY_RESPONSE)/.test(t));

const vertexRows = () => page.locator('[data-testid="vertex-table"] tr[data-vertex]').count();
let vertices;

await step('before-restart', `/jobs/${job}/overview`, async () => {
  const d = await api(`/jobs/${job}`);
  vertices = d.vertices;
  await until('the job is shown RUNNING', async () => (await text('.job-head .state')) === 'RUNNING');
  await until('a row per vertex', async () => (await vertexRows()) === vertices.length);
  const age = page.locator('[data-testid="age"]').first();
  if (await age.evaluate((e) => e.classList.contains('stale'))) throw new Error('fresh numbers are marked stale');
});

let lastShown;
await step(
  'jobmanager-down',
  null,
  async () => {
    const source = vertices[0].id;
    jm.kill('SIGKILL');
    await new Promise((r) => jm.once('exit', r));
    await until('the page says the JobManager is not answering', async () => {
      const age = page.locator('[data-testid="age"]').first();
      return (await age.evaluate((e) => e.classList.contains('stale'))) && (await age.innerText()).includes('not updated: no connection to the JobManager');
    });
    // What the page showed stays: the graph, the vertex table, the last state and counts.
    if ((await vertexRows()) !== vertices.length) throw new Error('the vertex table went away with the JobManager');
    if ((await page.locator('svg.graph .vertex').count()) !== vertices.length) throw new Error('the graph went away with the JobManager');
    if ((await text('.job-head .state')) !== 'RUNNING') throw new Error('the last known state is gone');
    lastShown = number(await text(`tr[data-vertex="${source}"] td[data-field="write-records"]`));
    if (!(lastShown > 0)) throw new Error(`the source's rows are not shown while stale: ${lastShown}`);
    // The age keeps counting: it says how old the numbers are, not when the page was opened.
    const first = await text('[data-testid="age"]');
    await page.waitForTimeout(1500);
    const later = await text('[data-testid="age"]');
    if (first === later) throw new Error(`the age of stale numbers does not move: ${first}`);
  },
  { tolerate: outage },
);

await step(
  'jobmanager-back',
  null,
  async () => {
    jm = await jobManager();
    await until(
      'the page catches up with the restarted JobManager',
      async () => {
        const age = page.locator('[data-testid="age"]').first();
        return !(await age.evaluate((e) => e.classList.contains('stale')));
      },
      30000,
    );
    await until('the recovered job is shown RUNNING', async () => (await api(`/jobs/${job}`)).state === 'RUNNING' && (await text('.job-head .state')) === 'RUNNING', 30000);
    const shownId = await text('.job-head');
    if (!shownId.includes(job)) throw new Error(`the page no longer shows job ${job}`);
    if ((await vertexRows()) !== vertices.length) throw new Error('not a row per vertex after the restart');
    const source = vertices[0].id;
    await between(`tr[data-vertex="${source}"] td[data-field="write-records"]`, `/jobs/${job}`, (j) => j.vertices[0].metrics['write-records'], 'rows out of the source after the restart', 2000);
    const cps = await api(`/jobs/${job}/checkpoints`);
    if (!cps.latest?.restored?.external_path) throw new Error(`the recovered job restored no checkpoint: ${JSON.stringify(cps.latest)}`);
  },
  { tolerate: outage },
);

await step('checkpoints-after-restart', `/jobs/${job}/checkpoints`, async () => {
  await between('[data-testid="cp-completed"]', `/jobs/${job}/checkpoints`, (c) => c.counts.completed, 'completed checkpoints after the restart', 2000);
  const restored = (await api(`/jobs/${job}/checkpoints`)).latest.restored;
  await until('the checkpoint it restored is shown with its path', async () => {
    const shown = await text('[data-testid="cp-restored-from"]');
    return shown.includes(`#${restored.id}`) && shown.includes(restored.external_path) ? true : shown;
  });
});

await finish({ job, lastShown });
