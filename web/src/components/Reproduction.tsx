import { Link } from "react-router-dom";
import { api, unwrap } from "../api/client";
import { useApi } from "../api/useApi";
import { ErrorNote } from "./ErrorNote";

/** For a run made by reproduce: each output of the original run, identical, different or missing
 *  here. `reloadKey` changes when the run may have recorded more. */
export function Reproduction({ runId, reloadKey }: { runId: number; reloadKey: string }) {
  const found = useApi(async () => unwrap(await api.GET("/api/runs/{run_id}/reproduction", { params: { path: { run_id: runId } } })), [runId, reloadKey]);
  const report = found.data;
  if (found.error) return <ErrorNote error={found.error} />;
  if (!report) return null;
  const summary = !report.finished
    ? "still running: outputs not recorded yet show as missing"
    : report.identical
      ? "every output came out byte-identical"
      : `${report.outputs.filter((o) => o.verdict !== "identical").length} of ${report.outputs.length} outputs differ or are missing`;
  return (
    <section aria-labelledby="reproduction-title">
      <h2 id="reproduction-title">
        Reproduction of run <Link to={`/runs/${report.original_run_id}`}>#{report.original_run_id}</Link>
      </h2>
      <p className="muted" data-testid="reproduction-summary">
        {summary}
      </p>
      <table className="reproduction">
        <thead>
          <tr>
            <th scope="col">Output</th>
            <th scope="col">Original</th>
            <th scope="col">This run</th>
            <th scope="col">Verdict</th>
          </tr>
        </thead>
        <tbody>
          {report.outputs.map((o) => (
            <tr key={`${o.job}.${o.output}`} className={o.verdict === "identical" ? undefined : "differs"}>
              <th scope="row" title={o.path}>
                {o.job}.{o.output}
              </th>
              <td>
                <code>{o.original_sha256.slice(0, 12)}</code>
              </td>
              <td>{o.new_sha256 ? <code>{o.new_sha256.slice(0, 12)}</code> : "—"}</td>
              <td className={`verdict verdict-${o.verdict}`}>{o.verdict}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
