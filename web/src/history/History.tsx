import { useState } from "react";
import { api, messageOf, unwrap } from "../api/client";
import { useApi } from "../api/useApi";
import { ErrorNote } from "../components/ErrorNote";
import { formatTime } from "../format";
import { useOnline } from "../online";
import { sideBySide } from "./sideBySide";

export function History({ team, pipeline, current, onRolledBack }: { team: string; pipeline: string; current: number | null; onRolledBack: () => void }) {
  const online = useOnline();
  const path = { team, name: pipeline };
  const revisions = useApi(async () => unwrap(await api.GET("/api/teams/{team}/pipelines/{name}/revisions", { params: { path } })), [team, pipeline, current]);
  const newest = revisions.data ? Math.max(...revisions.data.map((r) => r.number)) : null;
  const [a, setA] = useState<number | null>(null);
  const [b, setB] = useState<number | null>(null);
  const left = a ?? (newest && newest > 1 ? newest - 1 : newest);
  const right = b ?? newest;
  const diff = useApi(
    async () => (left && right ? unwrap(await api.GET("/api/teams/{team}/pipelines/{name}/diff", { params: { path, query: { a: left, b: right } } })) : null),
    [team, pipeline, left, right],
  );
  const [error, setError] = useState<string | null>(null);

  async function rollback(revision: number) {
    setError(null);
    try {
      unwrap(await api.POST("/api/teams/{team}/pipelines/{name}/rollback", { params: { path }, body: { revision, message: `roll back to revision ${revision}` } }));
      onRolledBack();
      revisions.reload();
    } catch (e) {
      setError(messageOf(e));
    }
  }

  const rows = diff.data ? sideBySide(diff.data.diff) : [];
  return (
    <section aria-labelledby="history-title">
      <h2 id="history-title">History</h2>
      <ErrorNote error={error ?? revisions.error ?? diff.error} />
      <table>
        <thead>
          <tr>
            <th scope="col">Revision</th>
            <th scope="col">Message</th>
            <th scope="col">Author</th>
            <th scope="col">When</th>
            <th scope="col">Compare</th>
            <th scope="col">
              <span className="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {[...(revisions.data ?? [])]
            .sort((x, y) => y.number - x.number)
            .map((r) => (
              <tr key={r.number}>
                <td>
                  {r.number}
                  {r.number === current && <span className="muted"> (current)</span>}
                </td>
                <td>{r.message ?? (r.rollback_of ? `roll back to ${r.rollback_of}` : "—")}</td>
                <td>{r.author ?? "—"}</td>
                <td>{formatTime(r.created_at)}</td>
                <td>
                  <label className="check">
                    <input type="radio" name="diff-a" checked={left === r.number} onChange={() => setA(r.number)} /> A
                  </label>{" "}
                  <label className="check">
                    <input type="radio" name="diff-b" checked={right === r.number} onChange={() => setB(r.number)} /> B
                  </label>
                </td>
                <td>
                  {r.number !== current && (
                    <button type="button" disabled={!online} onClick={() => void rollback(r.number)}>
                      Roll back to {r.number}
                    </button>
                  )}
                </td>
              </tr>
            ))}
        </tbody>
      </table>
      {left && right && (
        <table className="diff" aria-label={`Changes from revision ${left} to ${right}`}>
          <thead>
            <tr>
              <th scope="col" colSpan={2}>
                Revision {left}
              </th>
              <th scope="col" colSpan={2}>
                Revision {right}
              </th>
            </tr>
          </thead>
          <tbody>
            {rows.length === 0 && (
              <tr>
                <td colSpan={4} className="muted">
                  No differences.
                </td>
              </tr>
            )}
            {rows.map((row, i) => (
              <tr key={i} className={`diff-${row.kind}`}>
                <td className="ln">{row.leftNo ?? ""}</td>
                <td className={row.kind === "changed" || row.kind === "removed" ? "del" : undefined}>
                  <pre>{row.left ?? ""}</pre>
                </td>
                <td className="ln">{row.rightNo ?? ""}</td>
                <td className={row.kind === "changed" || row.kind === "added" ? "ins" : undefined}>
                  <pre>{row.right ?? ""}</pre>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
