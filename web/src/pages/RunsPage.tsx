import { useState } from "react";
import { Link, useNavigate, useParams, useSearchParams } from "react-router-dom";
import { api, unwrap, type Schemas } from "../api/client";
import { useApi } from "../api/useApi";
import { ErrorNote } from "../components/ErrorNote";
import { StateBadge } from "../components/StateBadge";
import { formatDuration, formatTime, teamPath } from "../format";

type Run = Schemas["RunShape"];
const FILTERS = ["pipeline", "state", "trigger", "who"] as const;
type Filter = (typeof FILTERS)[number];

const RUN_STATES: Schemas["RunState"][] = ["queued", "pending", "running", "canceling", "success", "failed", "canceled", "interrupted"];

export function RunsPage() {
  const team = useParams().team!;
  const navigate = useNavigate();
  const [search, setSearch] = useSearchParams();
  const filters = Object.fromEntries(FILTERS.map((f) => [f, search.get(f) ?? ""])) as Record<Filter, string>;
  const runs = useApi(
    async () => {
      const query = Object.fromEntries(FILTERS.filter((f) => filters[f]).map((f) => [f, filters[f]]));
      return unwrap(await api.GET("/api/teams/{team}/runs", { params: { path: { team }, query: { ...query, limit: 200 } } }));
    },
    [team, filters.pipeline, filters.state, filters.trigger, filters.who],
  );
  const members = useApi(async () => unwrap(await api.GET("/api/teams/{team}/members", { params: { path: { team } } })), [team]);
  const [selected, setSelected] = useState<Set<number>>(new Set());
  const shown = runs.data ?? [];
  const values = (key: keyof Run) => [...new Set((runs.data ?? []).map((r) => r[key]).filter((v) => v !== null && v !== undefined).map(String))].sort();

  function setFilter(key: Filter, value: string) {
    const next = new URLSearchParams(search);
    if (value) next.set(key, value);
    else next.delete(key);
    setSearch(next, { replace: true });
  }

  function toggle(id: number) {
    const next = new Set(selected);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setSelected(next);
  }

  const options: Record<Filter, string[]> = { pipeline: values("pipeline"), state: RUN_STATES, trigger: values("trigger"), who: (members.data ?? []).map((m) => m.username) };
  return (
    <section aria-labelledby="runs-title">
      <div className="title-row">
        <h1 id="runs-title">Runs</h1>
        <button
          type="button"
          className="primary"
          disabled={selected.size < 2}
          onClick={() => navigate(teamPath(team, `/compare?runs=${[...selected].sort((a, b) => a - b).join(",")}`))}
        >
          Compare {selected.size || ""} selected
        </button>
      </div>
      <form className="row filters" aria-label="Filter runs" onSubmit={(e) => e.preventDefault()}>
        {FILTERS.map((f) => (
          <label key={f}>
            {f}
            <select value={filters[f]} onChange={(e) => setFilter(f, e.target.value)}>
              <option value="">any</option>
              {[...new Set([...options[f], ...(filters[f] ? [filters[f]] : [])])].map((v) => (
                <option key={v}>{v}</option>
              ))}
            </select>
          </label>
        ))}
      </form>
      <ErrorNote error={runs.error} />
      <table>
        <caption className="sr-only">Runs of team {team}</caption>
        <thead>
          <tr>
            <th scope="col">
              <span className="sr-only">Select</span>
            </th>
            <th scope="col">Run</th>
            <th scope="col">Pipeline</th>
            <th scope="col">State</th>
            <th scope="col">Trigger</th>
            <th scope="col">By</th>
            <th scope="col">Started</th>
            <th scope="col">Duration</th>
          </tr>
        </thead>
        <tbody>
          {shown.map((r) => (
            <tr key={r.id}>
              <td>
                <input type="checkbox" checked={selected.has(r.id)} onChange={() => toggle(r.id)} aria-label={`Select run ${r.id}`} />
              </td>
              <td>
                <Link to={`/runs/${r.id}`}>#{r.id}</Link>
              </td>
              <td>{r.pipeline}</td>
              <td>
                <StateBadge state={r.state} />
              </td>
              <td>{r.trigger}</td>
              <td>{r.triggered_by === null || r.triggered_by === undefined ? "—" : (r.triggered_by_name ?? `user ${r.triggered_by}`)}</td>
              <td>{formatTime(r.started_at ?? r.created_at)}</td>
              <td>{formatDuration(r.duration)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {runs.data && shown.length === 0 && <p className="muted">No runs match.</p>}
    </section>
  );
}
