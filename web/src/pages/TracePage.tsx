import { Link, useNavigate, useParams, useSearchParams } from "react-router-dom";
import { api, unwrap } from "../api/client";
import { useApi } from "../api/useApi";
import { ErrorNote } from "../components/ErrorNote";
import { TraceView } from "../lineage/TraceView";

/** `/runs/:runId/trace?output=job.output[&forward=1]`: the lineage view of one of a run's outputs. */
export default function TracePage() {
  const runId = Number(useParams().runId);
  const [search, setSearch] = useSearchParams();
  const navigate = useNavigate();
  const output = search.get("output") ?? "";
  const forward = search.get("forward") === "1";
  const trace = useApi(
    async () => (output ? unwrap(await api.GET("/api/runs/{run_id}/trace", { params: { path: { run_id: runId }, query: { output, forward } } })) : null),
    [runId, output, forward],
  );
  return (
    <section aria-labelledby="trace-title">
      <h1 id="trace-title">
        Trace of {output || "an output"} in run <Link to={`/runs/${runId}`}>#{runId}</Link>
      </h1>
      <div className="tabs" role="group" aria-label="Direction">
        <button type="button" aria-pressed={!forward} onClick={() => setSearch({ output })}>
          Where it came from
        </button>
        <button type="button" aria-pressed={forward} onClick={() => setSearch({ output, forward: "1" })}>
          What it fed
        </button>
      </div>
      {!output && <p>Pick an output on the run page to trace it.</p>}
      <ErrorNote error={trace.error} />
      {trace.loading && !trace.data && output && <p>Loading trace…</p>}
      {trace.data && <TraceView trace={trace.data} onOpenRun={(id) => navigate(`/runs/${id}`)} />}
    </section>
  );
}
