import { useMemo } from "react";
import { Link } from "react-router-dom";
import JobGraph from "../graph/JobGraph";
import { formatTime } from "../format";
import { marksOf, nodeName, shortSha, traceGraph, type Trace } from "./traceGraph";

/** A trace as a graph (frames as nodes, inputs as labelled edges) and as a table of its frames;
 *  clicking a node calls `onOpenRun` with that frame's run. */
export function TraceView({ trace, onOpenRun }: { trace: Trace; onOpenRun: (runId: number) => void }) {
  const graph = useMemo(() => traceGraph(trace), [trace]);
  const back = trace.direction !== "forward";
  return (
    <>
      <p className="muted">
        {back ? "Where" : "What"} <code>{trace.target}</code> (sha256 {shortSha(trace.sha256)}) {back ? "came from" : "fed"}: {trace.frames.length} frame
        {trace.frames.length === 1 ? "" : "s"}
        {trace.truncated ? ", more beyond the depth limit" : ""}
        {trace.hidden > 0 ? `, ${trace.hidden} hidden (runs of teams you are not in)` : ""}. Click a node to open its run.
      </p>
      <JobGraph
        label={`Lineage of ${trace.target}`}
        stages={graph.stages}
        jobs={graph.jobs}
        edges={graph.edges}
        onSelect={(name) => {
          const run = graph.runOf.get(name);
          if (run !== undefined) onOpenRun(run);
        }}
      />
      <table className="trace-frames" aria-label="Frames">
        <thead>
          <tr>
            <th scope="col">Frame</th>
            <th scope="col">Run</th>
            <th scope="col">Code and params</th>
            <th scope="col">Inputs</th>
            <th scope="col">Notes</th>
          </tr>
        </thead>
        <tbody>
          {trace.frames.map((f) => (
            <tr key={f.number} data-testid={`frame-${f.number}`}>
              <th scope="row">{nodeName(f)}</th>
              <td>
                <Link to={`/runs/${f.run_id}`}>run {f.run_id}</Link>
                {f.pipeline ? ` · ${f.pipeline}` : ""} · {formatTime(f.at)} · by {f.author}
              </td>
              <td>
                {f.commit ? <code>{f.commit.slice(0, 7) + (f.dirty ? "+dirty" : "")}</code> : "no commit"}{" "}
                {Object.entries(f.params).map(([k, v]) => (
                  <code key={k} className="param">
                    {k}={JSON.stringify(v)}
                  </code>
                ))}
              </td>
              <td>
                {f.inputs.length === 0
                  ? "—"
                  : f.inputs.map((l) => (
                      <div key={l.name}>
                        {l.name} <code>{shortSha(l.sha256)}</code>
                        {l.frame !== null ? ` ← #${l.frame}` : l.producer_run !== null ? ` ← run ${l.producer_run}` : back ? " (source)" : ""}
                      </div>
                    ))}
              </td>
              <td>
                {[...marksOf(f), ...f.stale].join("; ") || "—"}
                {f.exception ? ` · raised: ${f.exception}` : ""}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
