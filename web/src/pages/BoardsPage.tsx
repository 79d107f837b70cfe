import { useState, type FormEvent } from "react";
import { Link, useParams } from "react-router-dom";
import { api, messageOf, unwrap, type Schemas } from "../api/client";
import { useApi } from "../api/useApi";
import { ErrorNote } from "../components/ErrorNote";
import { Sparkline, type SparkPoint } from "../components/Sparkline";
import { StateBadge } from "../components/StateBadge";
import { formatDuration, formatTime, teamPath } from "../format";
import { useOnline } from "../online";

type Pipeline = Schemas["PipelineSummaryOut"];

interface Row {
  pipeline: Pipeline;
  last: Pipeline["last_run"];
  recent: SparkPoint[];
}

/** Pipelines by board, each with its last run and its recent runs oldest to newest. */
export function boardRows(pipelines: Pipeline[]): Map<string, Row[]> {
  const boards = new Map<string, Row[]>();
  for (const pipeline of pipelines) {
    const board = pipeline.board ?? "(no board)";
    const recent = [...pipeline.recent_runs].sort((a, b) => a.id - b.id).map((r) => ({ state: r.state, duration: r.duration }));
    boards.set(board, [...(boards.get(board) ?? []), { pipeline, last: pipeline.last_run, recent }]);
  }
  return boards;
}

export function BoardsPage() {
  const team = useParams().team!;
  const online = useOnline();
  const loaded = useApi(async () => {
    const path = { params: { path: { team } } };
    const [boards, pipelines] = await Promise.all([
      api.GET("/api/teams/{team}/boards", path).then(unwrap),
      api.GET("/api/teams/{team}/pipelines", { params: { path: { team }, query: { limit: 500 } } }).then(unwrap),
    ]);
    return { boards, rows: boardRows(pipelines) };
  }, [team]);
  const [boardName, setBoardName] = useState("");
  const [error, setError] = useState<string | null>(null);

  async function createBoard(event: FormEvent) {
    event.preventDefault();
    try {
      unwrap(await api.POST("/api/teams/{team}/boards", { params: { path: { team } }, body: { name: boardName } }));
      setBoardName("");
      loaded.reload();
    } catch (e) {
      setError(messageOf(e));
    }
  }

  const boardNames = [...new Set([...(loaded.data?.boards.map((b) => b.name) ?? []), ...(loaded.data?.rows.keys() ?? [])])];
  return (
    <section aria-labelledby="boards-title">
      <div className="title-row">
        <h1 id="boards-title">Boards of {team}</h1>
        <Link className="button primary" to={teamPath(team, "/new")}>
          New pipeline
        </Link>
      </div>
      <ErrorNote error={loaded.error ?? error} />
      {loaded.loading && !loaded.data && <p>Loading…</p>}
      {loaded.data && boardNames.length === 0 && <p>No boards yet. Create one, then a pipeline on it.</p>}
      {boardNames.map((board) => (
        <section key={board} className="board" aria-labelledby={`board-${board}`}>
          <h2 id={`board-${board}`}>{board}</h2>
          <table className="pipelines">
            <thead>
              <tr>
                <th scope="col">Pipeline</th>
                <th scope="col">Revision</th>
                <th scope="col">Last run</th>
                <th scope="col">Duration</th>
                <th scope="col">Finished</th>
                <th scope="col">Recent runs</th>
              </tr>
            </thead>
            <tbody>
              {(loaded.data?.rows.get(board) ?? []).map(({ pipeline, last, recent }) => (
                <tr key={pipeline.id}>
                  <td>
                    <Link to={teamPath(team, `/p/${encodeURIComponent(pipeline.name)}`)}>{pipeline.name}</Link>
                  </td>
                  <td>{pipeline.current_revision ?? "—"}</td>
                  <td>{last ? <Link to={`/runs/${last.id}`}><StateBadge state={last.state} /> #{last.id}</Link> : <span className="muted">never run</span>}</td>
                  <td>{formatDuration(last?.duration)}</td>
                  <td>{formatTime(last?.finished_at)}</td>
                  <td>
                    <Sparkline points={recent} />
                  </td>
                </tr>
              ))}
              {(loaded.data?.rows.get(board) ?? []).length === 0 && (
                <tr>
                  <td colSpan={6} className="muted">
                    No pipelines on this board.
                  </td>
                </tr>
              )}
            </tbody>
          </table>
        </section>
      ))}
      <form onSubmit={createBoard} className="row">
        <label>
          New board
          <input value={boardName} onChange={(e) => setBoardName(e.target.value)} required maxLength={100} />
        </label>
        <button type="submit" disabled={!online}>
          Create board
        </button>
      </form>
    </section>
  );
}
