import { useEffect, useRef, useState } from "react";
import { appendLogLine } from "./ansi";

export interface StateEvent {
  job: string | null;
  from: string | null;
  to: string;
  at: string | null;
  reason: string | null;
  attempt: number | null;
}

export interface RunStream {
  /** log lines per job, `\r` rewrites collapsed */
  logs: Map<string, string[]>;
  /** the newest state of the run (key "") and of each job */
  states: Map<string, string>;
  ended: boolean;
  /** bumps whenever something arrived, for effects that refetch */
  version: number;
}

const FLUSH_MS = 100;

/** Follows a run's Server-Sent Events: state changes and log lines, batched into one update per
 *  100 ms so that a chatty job does not re-render the page per line. The browser's EventSource
 *  reconnects with Last-Event-ID by itself; the stream is closed on `end`. A new `generation`
 *  (the run was retried: it goes on in the same run) follows it again from the start. */
export function useRunStream(runId: number, enabled: boolean, generation = 0): RunStream {
  const [stream, setStream] = useState<RunStream>({ logs: new Map(), states: new Map(), ended: false, version: 0 });
  const pending = useRef<{ logs: [string, string][]; states: [string, string][]; ended: boolean }>({ logs: [], states: [], ended: false });

  useEffect(() => {
    if (!enabled) return;
    const logs = new Map<string, string[]>();
    const overwritten = new Set<string>(); // jobs whose last line a progress bar's next state replaces
    const states = new Map<string, string>();
    pending.current = { logs: [], states: [], ended: false };
    setStream((old) => ({ logs, states, ended: false, version: old.version + 1 }));
    const source = new EventSource(`/api/runs/${runId}/events`, { withCredentials: true });
    source.addEventListener("log", (event) => {
      const data = JSON.parse((event as MessageEvent<string>).data) as { job: string; text: string };
      pending.current.logs.push([data.job, data.text]);
    });
    source.addEventListener("state", (event) => {
      const data = JSON.parse((event as MessageEvent<string>).data) as StateEvent;
      pending.current.states.push([data.job ?? "", data.to]);
    });
    source.addEventListener("end", () => {
      pending.current.ended = true;
      source.close();
    });
    const timer = window.setInterval(() => {
      const batch = pending.current;
      if (batch.logs.length === 0 && batch.states.length === 0 && !batch.ended) return;
      pending.current = { logs: [], states: [], ended: false };
      for (const [job, text] of batch.logs) {
        const lines = logs.get(job) ?? [];
        for (const line of text.split("\n")) {
          if (appendLogLine(lines, line, overwritten.has(job))) overwritten.add(job);
          else overwritten.delete(job);
        }
        logs.set(job, lines);
      }
      for (const [job, state] of batch.states) states.set(job, state);
      setStream((old) => ({ logs: new Map(logs), states: new Map(states), ended: old.ended || batch.ended, version: old.version + 1 }));
    }, FLUSH_MS);
    return () => {
      source.close();
      window.clearInterval(timer);
    };
  }, [runId, enabled, generation]);
  return stream;
}
