// The REST calls the dashboard makes, typed by the fields it reads. The API is Flink's REST
// API v1 as weir serves it (the same answers `curl` gets), so every number on a page can be
// checked against the endpoint named next to it.

export interface ClusterOverview {
  taskmanagers: number;
  "slots-total": number;
  "slots-available": number;
  "jobs-running": number;
  "jobs-finished": number;
  "jobs-cancelled": number;
  "jobs-failed": number;
  "flink-version": string;
  "flink-commit": string;
}

export interface JobOverview {
  jid: string;
  name: string;
  state: string;
  "start-time": number;
  "end-time": number;
  duration: number;
  "last-modification": number;
  tasks: Record<string, number>;
}

export interface VertexMetrics {
  "read-bytes": number;
  "read-records": number;
  "write-bytes": number;
  "write-records": number;
  "accumulated-backpressured-time"?: number;
  "accumulated-busy-time"?: number;
}

export interface JobVertex {
  id: string;
  name: string;
  parallelism: number;
  maxParallelism: number;
  status: string;
  "start-time": number;
  "end-time": number;
  duration: number;
  tasks: Record<string, number>;
  metrics: VertexMetrics;
}

export interface PlanInput {
  num: number;
  id: string;
  ship_strategy: string;
  exchange: string;
}

export interface PlanNode {
  id: string;
  parallelism: number;
  operator: string;
  operator_strategy: string;
  description: string;
  inputs?: PlanInput[];
}

export interface JobDetails {
  jid: string;
  name: string;
  isStoppable: boolean;
  state: string;
  "job-type": string;
  "start-time": number;
  "end-time": number;
  duration: number;
  now: number;
  timestamps: Record<string, number>;
  vertices: JobVertex[];
  "status-counts": Record<string, number>;
  plan: { jid: string; name: string; type: string; nodes: PlanNode[] };
}

export interface ExceptionEntry {
  exceptionName: string;
  stacktrace: string;
  timestamp: number;
  taskName?: string | null;
  endpoint?: string | null;
  taskManagerId?: string | null;
  concurrentExceptions?: ExceptionEntry[];
}

export interface JobExceptions {
  exceptionHistory: { entries: ExceptionEntry[]; truncated: boolean };
}

export interface CheckpointEntry {
  id: number;
  status: string;
  is_savepoint: boolean;
  trigger_timestamp: number;
  latest_ack_timestamp: number;
  state_size: number;
  checkpointed_size: number;
  end_to_end_duration: number;
  num_subtasks: number;
  num_acknowledged_subtasks: number;
  external_path?: string | null;
  checkpoint_type: string;
  failure_message?: string | null;
}

export interface CheckpointStats {
  counts: { restored: number; total: number; in_progress: number; completed: number; failed: number };
  latest: {
    completed: CheckpointEntry | null;
    savepoint: CheckpointEntry | null;
    failed: CheckpointEntry | null;
    restored: { id: number; restore_timestamp: number; is_savepoint: boolean; external_path?: string | null } | null;
  };
  history: CheckpointEntry[];
}

export interface CheckpointConfig {
  mode: string;
  interval: number;
  timeout: number;
  min_pause: number;
  max_concurrent: number;
  externalization?: { enabled: boolean; delete_on_cancellation: boolean };
  state_backend?: string;
  checkpoint_storage?: string;
}

export interface CheckpointSubtaskDetail {
  id: number;
  status: string;
  latest_ack_timestamp: number;
  state_size: number;
  checkpointed_size: number;
  end_to_end_duration: number;
  num_subtasks: number;
  num_acknowledged_subtasks: number;
}

/** One subtask of a vertex in a checkpoint (`…/checkpoints/details/:cid/subtasks/:vid`);
 * the figures are absent until it acknowledged. */
export interface CheckpointSubtask {
  index: number;
  status: string;
  ack_timestamp?: number;
  end_to_end_duration?: number;
  checkpointed_size?: number;
  state_size?: number;
  checkpoint?: { sync: number; async: number };
  alignment?: { duration: number };
  start_delay?: number;
  unaligned_checkpoint?: boolean;
  aborted?: boolean;
}

export interface CheckpointVertexDetails extends CheckpointSubtaskDetail {
  subtasks: CheckpointSubtask[];
}

export interface CheckpointDetails extends CheckpointEntry {
  tasks: Record<string, CheckpointSubtaskDetail>;
}

export interface Subtask {
  subtask: number;
  status: string;
  attempt: number;
  endpoint: string;
  "start-time": number;
  "end-time": number;
  duration: number;
  metrics: VertexMetrics;
  "taskmanager-id": string;
}

export interface VertexDetails {
  id: string;
  name: string;
  parallelism: number;
  maxParallelism: number;
  now: number;
  subtasks: Subtask[];
}

export interface Backpressure {
  status: string;
  backpressureLevel?: string;
  "end-timestamp"?: number;
  subtasks?: { subtask: number; backpressureLevel: string; ratio: number; idleRatio: number; busyRatio: number }[];
}

export interface MetricValue {
  id: string;
  value?: string;
}

export interface FlameNode {
  name: string;
  value: number;
  children?: FlameNode[];
}

export interface TaskManager {
  id: string;
  path: string;
  dataPort: number;
  timeSinceLastHeartbeat: number;
  slotsNumber: number;
  freeSlots: number;
  hardware: { cpuCores: number; physicalMemory: number; freeMemory: number; managedMemory: number };
}

export interface LogFile {
  name: string;
  size: number;
  mtime?: number;
}

export interface JarFile {
  id: string;
  name: string;
  uploaded: number;
}

export interface AsyncOperation {
  status: { id: "IN_PROGRESS" | "COMPLETED" };
  operation?: { location?: string; "failure-cause"?: { "stack-trace"?: string; class?: string } } | null;
}

/** An error answer from the API: its status and Flink's `errors` list. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly errors: string[],
  ) {
    super(errors.join("\n") || `HTTP ${status}`);
  }
}

/** SeaTunnel's counts and rates of a job (`metrics` of its job-info): numbers as strings,
 * totals and per table path. */
export interface SeaTunnelMetrics {
  SourceReceivedCount: string;
  SinkWriteCount: string;
  SourceReceivedBytes: string;
  SinkWriteBytes: string;
  SourceReceivedQPS: string;
  SinkWriteQPS: string;
  SourceReceivedBytesPerSeconds: string;
  SinkWriteBytesPerSeconds: string;
  TableSourceReceivedCount: Record<string, string>;
  TableSinkWriteCount: Record<string, string>;
  TableSourceReceivedBytes: Record<string, string>;
  TableSinkWriteBytes: Record<string, string>;
  TableSourceReceivedQPS: Record<string, string>;
  TableSinkWriteQPS: Record<string, string>;
  TableSourceReceivedBytesPerSeconds: Record<string, string>;
  TableSinkWriteBytesPerSeconds: Record<string, string>;
}

export interface SeaTunnelVertex {
  vertexId: number;
  type: string;
  vertexName: string;
  tablePaths: string[];
}

/** `GET /jobs/:id/seatunnel`: the job as SeaTunnel's `/job-info/:jobId` shows it. */
export interface SeaTunnelJobInfo {
  jobId: string;
  jobName?: string;
  jobStatus?: string;
  createTime?: string;
  finishTime?: string;
  errorMsg?: string | null;
  isStartWithSavePoint?: boolean;
  envOptions?: Record<string, string>;
  jobDag?: {
    jobId: string;
    envOptions: Record<string, string>;
    pipelineEdges: Record<string, { inputVertexId: string; targetVertexId: string }[]>;
    vertexInfoMap: SeaTunnelVertex[];
  };
  metrics?: SeaTunnelMetrics;
}

/** The API's base: the page's own directory, so a proxy prefix is kept. */
export const base = new URL(".", window.location.href).pathname.replace(/\/$/, "");

async function errorOf(r: Response): Promise<ApiError> {
  const text = await r.text();
  try {
    const body = JSON.parse(text) as { errors?: unknown; message?: unknown };
    if (Array.isArray(body.errors)) return new ApiError(r.status, body.errors.map(String));
    if (typeof body.message === "string") return new ApiError(r.status, [body.message]);
  } catch {
    // not JSON: the text is the message
  }
  return new ApiError(r.status, [text || r.statusText]);
}

/** `fetch`, with the browser's bare "Failed to fetch" said as what it means here. */
async function reach(path: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(base + path, init);
  } catch (e) {
    if (e instanceof TypeError) throw new Error("no connection to the JobManager");
    throw e;
  }
}

async function get(path: string, signal: AbortSignal | undefined, accept: string): Promise<Response> {
  const r = await reach(path, { signal, headers: { Accept: accept } });
  if (!r.ok) throw await errorOf(r);
  return r;
}

export async function getJson<T>(path: string, signal?: AbortSignal): Promise<T> {
  return (await (await get(path, signal, "application/json")).json()) as T;
}

export async function getText(path: string, signal?: AbortSignal): Promise<string> {
  return (await get(path, signal, "text/plain, */*")).text();
}

export async function send<T>(method: string, path: string, body?: unknown, contentType = "application/json"): Promise<T> {
  const init: RequestInit = { method, headers: { Accept: "application/json" } };
  if (body instanceof FormData) {
    init.body = body;
  } else if (body !== undefined) {
    init.body = typeof body === "string" ? body : JSON.stringify(body);
    (init.headers as Record<string, string>)["Content-Type"] = contentType;
  }
  const r = await reach(path, init);
  if (!r.ok) throw await errorOf(r);
  const text = await r.text();
  return (text ? JSON.parse(text) : {}) as T;
}

/** The `curl` command that makes the same call, shown next to every action. */
export function curlOf(method: string, path: string, body?: string): string {
  const origin = window.location.origin + base;
  const data = body === undefined ? "" : ` -H 'Content-Type: application/json' -d '${body.replace(/'/g, "'\\''")}'`;
  return `curl -X ${method} ${origin}${path}${data}`;
}
