import { useState } from "react";
import { api, unwrap } from "../api/client";
import { useApi } from "../api/useApi";
import { ErrorNote } from "../components/ErrorNote";
import { MetricPlot } from "../components/MetricPlot";

/** One metric of a pipeline across its recent runs; the metric names come from its latest run. */
export function MetricHistory({ team, pipeline }: { team: string; pipeline: string }) {
  const keys = useApi(async () => {
    const runs = unwrap(await api.GET("/api/teams/{team}/runs", { params: { path: { team }, query: { pipeline, limit: 1 } } }));
    if (runs.length === 0) return [];
    const latest = unwrap(await api.GET("/api/runs/{run_id}", { params: { path: { run_id: runs[0].id } } }));
    return [...new Set(latest.jobs.flatMap((j) => Object.keys(j.metrics)))].sort();
  }, [team, pipeline]);
  const [chosen, setChosen] = useState("");
  const key = chosen || keys.data?.[0] || "";
  const history = useApi(
    async () => (key ? unwrap(await api.GET("/api/teams/{team}/pipelines/{name}/metrics", { params: { path: { team, name: pipeline }, query: { key, limit: 50 } } })) : null),
    [team, pipeline, key],
  );
  if (!keys.data?.length) return null;
  const points = [...(history.data?.points ?? [])].sort((a, b) => a.run_id - b.run_id);
  return (
    <section aria-labelledby="metric-history-title">
      <h2 id="metric-history-title">Metrics across runs</h2>
      <label>
        Metric
        <select value={key} onChange={(e) => setChosen(e.target.value)}>
          {keys.data.map((k) => (
            <option key={k}>{k}</option>
          ))}
        </select>
      </label>
      <ErrorNote error={keys.error ?? history.error} />
      {points.length > 0 && (
        <MetricPlot name={key} labels={points.map((p) => `#${p.run_id}${p.job ? ` ${p.job}` : ""}`)} values={points.map((p) => p.value)} />
      )}
    </section>
  );
}
