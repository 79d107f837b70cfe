import { Link } from "react-router-dom";
import { api, unwrap, type Schemas } from "../api/client";
import { useApi } from "../api/useApi";
import { formatBytes } from "../format";
import { ErrorNote } from "./ErrorNote";

type Output = Schemas["RunOutputOut"];

/** The outputs one job of a run recorded: download links to their bytes (a directory as a tar) and
 *  a link to the lineage view of each. `reloadKey` changes when the job may have recorded more. */
export function RunOutputs({ runId, job, reloadKey }: { runId: number; job: string; reloadKey: string }) {
  const listed = useApi(async () => unwrap(await api.GET("/api/runs/{run_id}/outputs", { params: { path: { run_id: runId } } })), [runId, reloadKey]);
  const outputs: Output[] = (listed.data ?? []).filter((o) => o.job === job);
  if (listed.error) return <ErrorNote error={listed.error} />;
  if (outputs.length === 0) return <p className="muted">{listed.loading ? "Loading…" : "None."}</p>;
  return (
    <table className="outputs-table">
      <thead>
        <tr>
          <th scope="col">Output</th>
          <th scope="col">Type</th>
          <th scope="col">Size</th>
          <th scope="col">SHA-256</th>
          <th scope="col">
            <span className="sr-only">Actions</span>
          </th>
        </tr>
      </thead>
      <tbody>
        {outputs.map((o) => (
          <tr key={o.id}>
            <td title={o.path}>{o.name}</td>
            <td>{o.type}</td>
            <td>{formatBytes(o.size)}</td>
            <td>
              <code title={o.sha256}>{o.sha256.slice(0, 12)}…</code>
            </td>
            <td className="output-actions">
              <a href={o.download} download aria-label={`Download ${o.name}${o.type === "directory" ? " (tar)" : ""}`}>
                Download
              </a>{" "}
              <Link to={`/runs/${runId}/trace?output=${encodeURIComponent(`${job}.${o.name}`)}`} aria-label={`Trace ${o.name}`}>
                Trace
              </Link>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
