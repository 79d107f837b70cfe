// A job's log, live: `reefline logs RUN [JOB] -f` locally, the run's Server-Sent Events on a server.
// Both hand complete lines to `onLine` and resolve when the run has ended (or on `signal`).
import { spawn } from "node:child_process";
import { ApiClient, FollowResult } from "./api";
import { CliSettings, invocation } from "./cli";
import { jobMatches } from "./runsModel";

export interface LogFollow {
  /** resolves with the exit code of `reefline logs` (local) or the end state (server) */
  done: Promise<string>;
}

/** Splits a byte stream into lines (any line ending), keeping a partial line for the next chunk. */
export class LineSplitter {
  private rest = "";

  push(chunk: string): string[] {
    const text = this.rest + chunk;
    const parts = text.split(/\r\n|\n/);
    this.rest = parts.pop() ?? "";
    return parts;
  }

  flush(): string[] {
    const rest = this.rest;
    this.rest = "";
    return rest ? [rest] : [];
  }
}

export function followLocalLog(
  settings: CliSettings,
  projectDir: string,
  runId: number | "last",
  job: string | undefined,
  onLine: (line: string) => void,
  signal?: AbortSignal,
): LogFollow {
  const args = ["--project", projectDir, "logs", String(runId), ...(job ? [job] : []), "-f"];
  const inv = invocation(settings, args, projectDir);
  const done = new Promise<string>((resolve, reject) => {
    const child = spawn(inv.command, inv.args, { cwd: projectDir, env: { ...process.env, NO_COLOR: "1" } });
    const out = new LineSplitter();
    const err = new LineSplitter();
    child.stdout.setEncoding("utf8");
    child.stderr.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => out.push(chunk).forEach(onLine));
    child.stderr.on("data", (chunk: string) => err.push(chunk).forEach(onLine));
    const abort = (): void => {
      child.kill("SIGTERM");
    };
    signal?.addEventListener("abort", abort);
    child.on("error", (e) => {
      signal?.removeEventListener("abort", abort);
      reject(e);
    });
    child.on("close", (code, sig) => {
      signal?.removeEventListener("abort", abort);
      out.flush().forEach(onLine);
      err.flush().forEach(onLine);
      resolve(code !== null ? `exit ${code}` : `stopped (${sig})`);
    });
  });
  return { done };
}

/** A log event's text as shown: `name | text` when following several jobs, the bare text for one. */
export function formatLogEvent(data: unknown, prefix: boolean): string | undefined {
  if (typeof data !== "object" || data === null) return undefined;
  const o = data as { job?: unknown; text?: unknown; stream?: unknown };
  if (typeof o.text !== "string") return undefined;
  const text = o.text.replace(/\r?\n$/, "");
  return prefix && typeof o.job === "string" ? `${o.job} | ${text}` : text;
}

/** Follows a server run's log over SSE; lines of other jobs are left out when `job` is given (a
 * matrix job's name keeps all its expansions, prefixed). State changes of the run are reported too. */
export function followServerLog(
  api: ApiClient,
  runId: number,
  job: string | undefined,
  onLine: (line: string) => void,
  signal?: AbortSignal,
  onState?: (data: unknown) => void,
): LogFollow {
  const done = api
    .followEvents(
      runId,
      (event) => {
        if (event.event === "state") {
          onState?.(event.data);
          return;
        }
        if (event.event !== "log") return;
        const name = (event.data as { job?: unknown }).job;
        if (job && !(typeof name === "string" && jobMatches(name, job))) return;
        const line = formatLogEvent(event.data, !job || name !== job);
        if (line !== undefined) onLine(line);
      },
      { signal },
    )
    .then((result: FollowResult) => {
      const state = (result.end as { state?: unknown } | null)?.state;
      return typeof state === "string" ? state : "stopped";
    });
  return { done };
}
