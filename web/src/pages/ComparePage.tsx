import { useState } from "react";
import { Link, useParams, useSearchParams } from "react-router-dom";
import { api, unwrap } from "../api/client";
import { useApi } from "../api/useApi";
import { ErrorNote } from "../components/ErrorNote";
import { MetricPlot } from "../components/MetricPlot";
import { StateBadge } from "../components/StateBadge";
import { compareRuns } from "../compare";

export function ComparePage() {
  const team = useParams().team!;
  const [search] = useSearchParams();
  const ids = (search.get("runs") ?? "")
    .split(",")
    .map(Number)
    .filter((n) => Number.isInteger(n) && n > 0);
  const loaded = useApi(
    async () => Promise.all(ids.map(async (id) => unwrap(await api.GET("/api/runs/{run_id}", { params: { path: { run_id: id } } })))),
    [ids.join(",")],
  );
  const comparison = loaded.data ? compareRuns(loaded.data) : null;
  const [metric, setMetric] = useState<string>("");
  const plotted = comparison?.metrics.find((m) => m.name === metric) ?? comparison?.metrics[0];
  const labels = ids.map((id) => `#${id}`);

  return (
    <section aria-labelledby="compare-title">
      <h1 id="compare-title">Compare runs {labels.join(", ")}</h1>
      <p className="muted">
        Team {team}. Pick runs on the <Link to={`/t/${encodeURIComponent(team)}/runs`}>runs page</Link>.
      </p>
      <ErrorNote error={loaded.error} />
      {ids.length < 2 && <p>Choose two or more runs to compare.</p>}
      {loaded.data && comparison && (
        <>
          <table className="compare">
            <caption>Runs</caption>
            <thead>
              <tr>
                <th scope="col">Run</th>
                {loaded.data.map((d) => (
                  <th scope="col" key={d.id}>
                    <Link to={`/runs/${d.id}`}>#{d.id}</Link>
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              <tr>
                <th scope="row">pipeline</th>
                {loaded.data.map((d) => (
                  <td key={d.id}>{d.pipeline} (rev {d.revision ?? "—"})</td>
                ))}
              </tr>
              <tr>
                <th scope="row">state</th>
                {loaded.data.map((d) => (
                  <td key={d.id}>
                    <StateBadge state={d.state} />
                  </td>
                ))}
              </tr>
            </tbody>
          </table>
          <table className="compare" data-testid="params-table">
            <caption>Params</caption>
            <tbody>
              {comparison.params.map((p) => (
                <tr key={p.name} className={p.differs ? "differs" : undefined}>
                  <th scope="row">{p.name}</th>
                  {p.values.map((v, i) => (
                    <td key={i}>{v}</td>
                  ))}
                </tr>
              ))}
              {comparison.params.length === 0 && (
                <tr>
                  <td className="muted">No params.</td>
                </tr>
              )}
            </tbody>
          </table>
          <table className="compare" data-testid="metrics-table">
            <caption>Metrics</caption>
            <tbody>
              {comparison.metrics.map((m) => (
                <tr key={m.name}>
                  <th scope="row">{m.name}</th>
                  {m.values.map((v, i) => (
                    <td key={i}>{v ?? "—"}</td>
                  ))}
                </tr>
              ))}
              {comparison.metrics.length === 0 && (
                <tr>
                  <td className="muted">These runs recorded no metrics.</td>
                </tr>
              )}
            </tbody>
          </table>
          {plotted && (
            <>
              <label>
                Plot metric{" "}
                <select value={plotted.name} onChange={(e) => setMetric(e.target.value)}>
                  {comparison.metrics.map((m) => (
                    <option key={m.name}>{m.name}</option>
                  ))}
                </select>
              </label>
              <MetricPlot name={plotted.name} labels={labels} values={plotted.values} />
            </>
          )}
        </>
      )}
    </section>
  );
}
