import { Link, useParams, useSearchParams } from "react-router-dom";
import { api, unwrap, type Schemas } from "../api/client";
import { useApi } from "../api/useApi";
import { ErrorNote } from "../components/ErrorNote";
import { MetricBars, numbers } from "../components/MetricBars";
import { StateBadge } from "../components/StateBadge";
import { formatTime } from "../format";
import { MetricHistory } from "./MetricHistory";

type Row = Schemas["ComparedRowOut"];

function valueText(value: unknown): string {
  if (value === null || value === undefined) return "—";
  if (typeof value === "number") return String(Number(value.toPrecision(6)));
  return typeof value === "string" ? value : JSON.stringify(value);
}

function Rows({ rows, runs, empty, testId, caption }: { rows: Row[]; runs: number[]; empty: string; testId: string; caption: string }) {
  return (
    <table className="compare" data-testid={testId}>
      <caption>
        {caption} <span className="muted">(rows that differ are highlighted)</span>
      </caption>
      <thead>
        <tr>
          <th scope="col">Key</th>
          {runs.map((id) => (
            <th scope="col" key={id}>
              #{id}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr key={r.key} className={r.differs ? "differs" : undefined}>
            <th scope="row">
              {r.differs && <span className="sr-only">differs: </span>}
              {r.key}
            </th>
            {r.values.map((v, i) => (
              <td key={i}>{valueText(v)}</td>
            ))}
          </tr>
        ))}
        {rows.length === 0 && (
          <tr>
            <td className="muted" colSpan={runs.length + 1}>
              {empty}
            </td>
          </tr>
        )}
      </tbody>
    </table>
  );
}

/** Runs side by side from `/api/teams/{team}/compare`: params and metrics with the differences
 *  highlighted, a bar plot of the metrics, and the metric history when the runs share a pipeline. */
export function ComparePage() {
  const team = useParams().team!;
  const [search] = useSearchParams();
  const ids = (search.get("runs") ?? "")
    .split(",")
    .map(Number)
    .filter((n) => Number.isInteger(n) && n > 0);
  const loaded = useApi(
    async () => (ids.length < 2 ? null : unwrap(await api.GET("/api/teams/{team}/compare", { params: { path: { team }, query: { runs: ids.join(",") } } }))),
    [team, ids.join(",")],
  );
  const comparison = loaded.data;
  const runIds = comparison?.runs.map((r) => r.id) ?? ids;
  const pipelines = [...new Set(comparison?.runs.map((r) => r.pipeline) ?? [])];

  return (
    <section aria-labelledby="compare-title">
      <h1 id="compare-title">Compare runs {ids.map((id) => `#${id}`).join(", ")}</h1>
      <p className="muted">
        Team {team}. Pick runs on the <Link to={`/t/${encodeURIComponent(team)}/runs`}>runs page</Link>.
      </p>
      <ErrorNote error={loaded.error} />
      {ids.length < 2 && <p>Choose two or more runs to compare.</p>}
      {comparison && (
        <>
          <table className="compare">
            <caption>Runs</caption>
            <thead>
              <tr>
                <th scope="col">Run</th>
                {comparison.runs.map((r) => (
                  <th scope="col" key={r.id}>
                    <Link to={`/runs/${r.id}`}>#{r.id}</Link>
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              <tr>
                <th scope="row">pipeline</th>
                {comparison.runs.map((r) => (
                  <td key={r.id}>{r.pipeline}</td>
                ))}
              </tr>
              <tr>
                <th scope="row">state</th>
                {comparison.runs.map((r) => (
                  <td key={r.id}>
                    <StateBadge state={r.state} />
                  </td>
                ))}
              </tr>
              <tr>
                <th scope="row">created</th>
                {comparison.runs.map((r) => (
                  <td key={r.id}>{formatTime(r.created_at)}</td>
                ))}
              </tr>
            </tbody>
          </table>
          <Rows rows={comparison.params} runs={runIds} empty="No params." testId="params-table" caption="Params" />
          <Rows rows={comparison.metrics} runs={runIds} empty="These runs recorded no metrics." testId="metrics-table" caption="Metrics" />
          {comparison.metrics.length > 0 && (
            <section aria-labelledby="metric-plot-title">
              <h2 id="metric-plot-title">Metrics per run</h2>
              <MetricBars metrics={comparison.metrics.map((m) => ({ key: m.key, values: numbers(m.values) }))} runs={runIds.map((id) => `#${id}`)} />
            </section>
          )}
          {pipelines.length === 1 && <MetricHistory team={team} pipeline={pipelines[0]} />}
        </>
      )}
    </section>
  );
}
