// Runs and jobs as the Runs view shows them, from the CLI's `--json` (local) or the server's API.
// Both write the shapes of services/shapes.py (README "`--json` shapes"); SSE state events carry
// epoch seconds in `at`.
import { asObject, num, optNum, optStr, ShapeError, str } from "./cli";

export type RunState = "queued" | "pending" | "running" | "canceling" | "success" | "failed" | "canceled" | "interrupted";

/** Mirrors reefline.engine.states.ACTIVE_RUN_STATES: a run in one of these may still change. */
export const ACTIVE_RUN_STATES: ReadonlySet<string> = new Set(["queued", "pending", "running", "canceling"]);
const ACTIVE_JOB_STATES: ReadonlySet<string> = new Set(["pending", "queued", "running"]);

export function isActive(state: string): boolean {
  return ACTIVE_RUN_STATES.has(state);
}

export interface RunSummary {
  id: number;
  pipeline: string;
  state: string;
  reason: string | null;
  trigger: string;
  /** epoch milliseconds */
  createdAt: number | null;
  startedAt: number | null;
  finishedAt: number | null;
  /** seconds; null while unknown */
  duration: number | null;
}

export interface JobSummary {
  /** the step id, e.g. "train[model=tree]" */
  name: string;
  /** the job's key in the spec, e.g. "train" */
  job: string;
  stage: string;
  state: string;
  reason: string | null;
  attempts: number;
  exitCode: number | null;
  cachedFromRun: number | null;
  startedAt: number | null;
  finishedAt: number | null;
  duration: number | null;
}

export interface RunDetail extends RunSummary {
  jobs: JobSummary[];
}

/** A time as the JSON writes it: ISO 8601 (the CLI's and the API's shapes) or epoch seconds (the
 * `at` of SSE state events). Answers epoch milliseconds. */
function time(o: Record<string, unknown>, key: string): number | null {
  const v = o[key];
  if (v === undefined || v === null) return null;
  if (typeof v === "number") return v * 1000;
  if (typeof v === "string") {
    const t = Date.parse(v);
    if (!Number.isNaN(t)) return t;
  }
  throw new ShapeError(`"${key}" is not a time`, v);
}

function span(started: number | null, finished: number | null): number | null {
  return started !== null && finished !== null ? Math.max(0, (finished - started) / 1000) : null;
}

/** One run of `reefline runs --json`, or of the API (`GET /api/teams/{team}/runs`, `POST …/runs`,
 * cancel, retry): since services/shapes.py both are the same shape. */
export function runFromJson(value: unknown): RunSummary {
  const o = asObject(value, "a run");
  const firstStart = time(o, "started_at");
  // `last_started_at` is a retried run's latest start; its duration counts from there.
  const startedAt = time(o, "last_started_at") ?? firstStart;
  const finishedAt = time(o, "finished_at");
  return {
    id: num(o, "id"),
    pipeline: str(o, "pipeline"),
    state: str(o, "state"),
    reason: optStr(o, "reason"),
    trigger: optStr(o, "trigger") ?? "cli",
    createdAt: time(o, "created_at"),
    startedAt,
    finishedAt,
    duration: optNum(o, "duration") ?? span(startedAt, finishedAt),
  };
}

export function runsFromJson(value: unknown): RunSummary[] {
  if (!Array.isArray(value)) throw new ShapeError("the runs are not a list", value);
  return value.map(runFromJson);
}

function jobFromJson(value: unknown): JobSummary {
  const o = asObject(value, "a job");
  const startedAt = time(o, "started_at");
  const finishedAt = time(o, "finished_at");
  const attempts = o["attempts"];
  return {
    name: str(o, "name"),
    job: optStr(o, "job") ?? str(o, "name"),
    stage: optStr(o, "stage") ?? "",
    state: str(o, "state"),
    reason: optStr(o, "reason"),
    attempts: Array.isArray(attempts) ? attempts.length : (optNum(o, "attempts") ?? 0),
    exitCode: optNum(o, "exit_code"),
    cachedFromRun: optNum(o, "cached_from_run_id"),
    startedAt,
    finishedAt,
    duration: optNum(o, "duration") ?? span(startedAt, finishedAt),
  };
}

/** `reefline show RUN --json`, or the API's `GET /api/runs/{id}`: the run plus `jobs`. */
export function detailFromJson(value: unknown): RunDetail {
  const o = asObject(value, "a run");
  const jobs = o["jobs"];
  if (!Array.isArray(jobs)) throw new ShapeError('"jobs" is not a list', jobs);
  return { ...runFromJson(o), jobs: jobs.map(jobFromJson) };
}

/** A `state` event of the run's SSE stream applied to what we know: the run's state or one job's.
 * Returns whether anything changed. */
export function applyStateEvent(detail: RunDetail, data: unknown, now = Date.now()): boolean {
  const o = asObject(data, "a state event");
  const to = str(o, "to");
  const job = optStr(o, "job");
  const when = time(o, "at") ?? now;
  if (job === null) {
    if (detail.state === to) return false;
    detail.state = to;
    if (to === "running" && detail.startedAt === null) detail.startedAt = when;
    if (!isActive(to)) {
      detail.finishedAt = when;
      detail.duration = span(detail.startedAt, when);
    }
    return true;
  }
  const target = detail.jobs.find((j) => j.name === job);
  if (!target || target.state === to) return false;
  target.state = to;
  const attempt = optNum(o, "attempt");
  if (attempt !== null) target.attempts = Math.max(target.attempts, attempt);
  if (to === "running") target.startedAt = when;
  if (!ACTIVE_JOB_STATES.has(to)) {
    target.finishedAt = when;
    target.duration = span(target.startedAt, when);
  }
  return true;
}

// ---- how the view shows them ----

export interface StateIcon {
  /** a codicon id (ThemeIcon) */
  icon: string;
  /** a theme color id, or undefined for the default */
  color?: string;
}

const ICONS: Record<string, StateIcon> = {
  queued: { icon: "clock" },
  pending: { icon: "circle-outline" },
  running: { icon: "sync~spin", color: "charts.blue" },
  canceling: { icon: "loading~spin", color: "charts.orange" },
  success: { icon: "pass", color: "testing.iconPassed" },
  cached: { icon: "history", color: "testing.iconPassed" },
  failed: { icon: "error", color: "testing.iconFailed" },
  skipped: { icon: "debug-step-over", color: "disabledForeground" },
  canceled: { icon: "circle-slash", color: "charts.orange" },
  interrupted: { icon: "warning", color: "charts.yellow" },
};

export function stateIcon(state: string): StateIcon {
  return ICONS[state] ?? { icon: "question" };
}

/** 0.04 → "0.0s", 75 → "1m 15s", 3725 → "1h 2m". */
export function formatDuration(seconds: number): string {
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const s = Math.round(seconds);
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
}

export function formatAgo(at: number, now: number): string {
  const seconds = Math.max(0, Math.round((now - at) / 1000));
  if (seconds < 60) return "just now";
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ago`;
  return `${Math.floor(seconds / 86400)} d ago`;
}

function elapsed(startedAt: number | null, duration: number | null, active: boolean, now: number): string | null {
  if (duration !== null && !active) return formatDuration(duration);
  if (active && startedAt !== null) return formatDuration(Math.max(0, (now - startedAt) / 1000));
  return duration !== null ? formatDuration(duration) : null;
}

export function runLabel(run: RunSummary): string {
  return `#${run.id} ${run.pipeline}`;
}

export function runDescription(run: RunSummary, now = Date.now()): string {
  const parts = [run.state];
  const time = elapsed(run.startedAt, run.duration, isActive(run.state), now);
  if (time) parts.push(time);
  const at = run.startedAt ?? run.createdAt;
  if (at !== null) parts.push(formatAgo(at, now));
  return parts.join(" · ");
}

export function jobDescription(job: JobSummary, now = Date.now()): string {
  const parts = [job.state];
  if (job.state === "cached" && job.cachedFromRun !== null) parts[0] = `cached from #${job.cachedFromRun}`;
  const time = job.state === "cached" ? null : elapsed(job.startedAt, job.duration, job.state === "running", now);
  if (time) parts.push(time);
  if (job.state === "failed" && job.exitCode !== null) parts.push(`exit ${job.exitCode}`);
  if (job.attempts > 1) parts.push(`attempt ${job.attempts}`);
  return parts.join(" · ");
}

export function runTooltip(run: RunSummary): string {
  const lines = [`Run ${run.id} of ${run.pipeline}: ${run.state}`];
  if (run.reason) lines.push(run.reason);
  lines.push(`trigger: ${run.trigger}`);
  if (run.startedAt !== null) lines.push(`started ${new Date(run.startedAt).toISOString()}`);
  if (run.finishedAt !== null) lines.push(`finished ${new Date(run.finishedAt).toISOString()}`);
  return lines.join("\n");
}

/** The status bar text of the current run, with a codicon. */
export function statusText(run: RunSummary | undefined): string {
  if (!run) return "$(circle-outline) Reefline";
  const icon = stateIcon(run.state).icon;
  return `$(${icon}) Reefline #${run.id} ${run.state}`;
}

/** Which run the status bar follows: the newest active one, else the newest. */
export function currentRun(runs: readonly RunSummary[]): RunSummary | undefined {
  const newest = [...runs].sort((a, b) => b.id - a.id);
  return newest.find((r) => isActive(r.state)) ?? newest[0];
}

/** Whether a job row belongs to the spec job `job` (a matrix job's expansions are `job[…]`). */
export function jobMatches(name: string, job: string): boolean {
  return name === job || (name.startsWith(`${job}[`) && name.endsWith("]"));
}
