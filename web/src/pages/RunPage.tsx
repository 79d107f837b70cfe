import { lazy, Suspense, useEffect, useMemo, useState } from "react";
import { Link, useNavigate, useParams } from "react-router-dom";
import { api, messageOf, unwrap, type Schemas } from "../api/client";
import { useApi } from "../api/useApi";
import { ErrorNote } from "../components/ErrorNote";
import { Gantt, type GanttAttempt } from "../components/Gantt";
import { Reproduction } from "../components/Reproduction";
import { RunOutputs } from "../components/RunOutputs";
import { ACTIVE_STATES, StateBadge } from "../components/StateBadge";
import { formatDuration, formatTime, teamPath } from "../format";
import { LogView } from "../logs/LogView";
import { useRunStream } from "../logs/runStream";
import { useOnline } from "../online";
import { useSession } from "../session";
import { lastTeam } from "../lastTeam";
import type { GraphEdge, GraphJob } from "../graph/JobGraph";

const JobGraph = lazy(() => import("../graph/JobGraph"));
type Run = Schemas["RunDetailShape"];
type Job = Schemas["JobShape"];

function seconds(value: string | null | undefined): number | null {
  if (!value) return null;
  const t = Date.parse(value);
  return Number.isNaN(t) ? null : t / 1000;
}

export function attemptsOf(run: Run): GanttAttempt[] {
  return run.jobs.flatMap((job) =>
    job.attempt_history
      .map((a) => ({ job: job.name, number: a.number, state: a.state, start: seconds(a.started_at), end: seconds(a.finished_at) }))
      .filter((a): a is GanttAttempt => a.start !== null),
  );
}

function graphOf(run: Run, live: Map<string, string>): { stages: string[]; jobs: GraphJob[]; edges: GraphEdge[] } {
  const stages = [...new Set(run.jobs.map((j) => j.stage))];
  const names = new Set(run.jobs.map((j) => j.name));
  const byBase = new Map<string, string[]>();
  for (const j of run.jobs) byBase.set(j.job, [...(byBase.get(j.job) ?? []), j.name]);
  const jobs = run.jobs.map((j) => ({
    name: j.name,
    stage: j.stage,
    inputs: [],
    outputs: j.outputs.map((o) => ({ name: o.name, type: o.type })),
    state: live.get(j.name) ?? j.state,
  }));
  const edges = run.jobs.flatMap((j) =>
    j.needs.flatMap((need) => (names.has(need) ? [need] : (byBase.get(need) ?? []))).map((from) => ({ kind: "needs", from_job: from, to_job: j.name })),
  );
  return { stages, jobs, edges };
}

export default function RunPage() {
  const runId = Number(useParams().runId);
  const online = useOnline();
  const navigate = useNavigate();
  const { me } = useSession();
  const detail = useApi(async () => unwrap(await api.GET("/api/runs/{run_id}", { params: { path: { run_id: runId } } })), [runId]);
  const [generation, setGeneration] = useState(0);
  const stream = useRunStream(runId, online && Number.isInteger(runId), generation);
  const [selected, setSelected] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [now, setNow] = useState(Date.now() / 1000);
  const run = detail.data;
  const runState = stream.states.get("") ?? run?.state;
  const active = runState ? ACTIVE_STATES.has(runState) : false;

  // A job that finished or a run that ended has new outputs, metrics and attempts: fetch them.
  const finishedCount = [...stream.states.values()].filter((s) => !ACTIVE_STATES.has(s)).length;
  useEffect(() => {
    if (stream.version > 0) detail.reload();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [finishedCount, stream.ended]);
  useEffect(() => {
    if (!active) return;
    const timer = window.setInterval(() => setNow(Date.now() / 1000), 1000);
    return () => window.clearInterval(timer);
  }, [active]);

  const graph = useMemo(() => (run ? graphOf(run, stream.states) : null), [run, stream.states]);
  const job: Job | undefined = run?.jobs.find((j) => j.name === (selected ?? run.jobs[0]?.name));
  const team = lastTeam(me?.teams.map((t) => t.name) ?? []);

  async function act(action: "cancel" | "retry" | "reproduce") {
    setError(null);
    try {
      if (action === "reproduce") {
        const made = unwrap(await api.POST("/api/runs/{run_id}/reproduce", { params: { path: { run_id: runId } } }));
        navigate(`/runs/${made.id}`);
      } else if (action === "cancel") {
        unwrap(await api.POST("/api/runs/{run_id}/cancel", { params: { path: { run_id: runId } } }));
        detail.reload();
      } else {
        const next = unwrap(await api.POST("/api/runs/{run_id}/retry", { params: { path: { run_id: runId } }, body: { no_cache: false } }));
        if (next.id === runId) {
          // the jobs that did not succeed run again in this same run: follow it anew
          setGeneration((g) => g + 1);
          detail.reload();
        } else navigate(`/runs/${next.id}`);
      }
    } catch (e) {
      setError(messageOf(e));
    }
  }

  if (!run) return <>{detail.error ? <ErrorNote error={detail.error} /> : <p>Loading run…</p>}</>;
  return (
    <section aria-labelledby="run-title">
      <div className="title-row">
        <h1 id="run-title">
          Run #{run.id} of {team ? <Link to={teamPath(team, `/p/${encodeURIComponent(run.pipeline)}`)}>{run.pipeline}</Link> : run.pipeline}{" "}
          <StateBadge state={runState ?? run.state} />
        </h1>
        <div className="actions">
          {active ? (
            <button type="button" className="danger" onClick={() => void act("cancel")} disabled={!online || runState === "canceling"}>
              Cancel run
            </button>
          ) : (
            <>
              <button type="button" onClick={() => void act("retry")} disabled={!online}>
                Retry run
              </button>
              <button
                type="button"
                onClick={() => void act("reproduce")}
                disabled={!online}
                title="a new run of the same revision and params, nothing cached; then its outputs compared with these"
              >
                Reproduce
              </button>
            </>
          )}
        </div>
      </div>
      <p className="muted">
        Revision {run.revision ?? "—"} · {run.trigger}
        {run.triggered_by ? ` by ${run.triggered_by_name ?? `user ${run.triggered_by}`}` : ""} · started {formatTime(run.started_at ?? run.created_at)} · {formatDuration(run.duration ?? (active && run.started_at ? now - (seconds(run.started_at) ?? now) : null))}
        {run.reason ? ` · ${run.reason}` : ""}
      </p>
      {Object.keys(run.params).length > 0 && (
        <p>
          Params:{" "}
          {Object.entries(run.params).map(([k, v]) => (
            <code key={k} className="param">
              {k}={JSON.stringify(v)}
            </code>
          ))}
        </p>
      )}
      <ErrorNote error={error ?? detail.error} />
      {run.trigger === "reproduce" && <Reproduction runId={run.id} reloadKey={`${runState ?? run.state}:${finishedCount}`} />}
      <div className="run-grid">
        <div>
          <h2>Jobs</h2>
          {graph && (
            <Suspense fallback={<p>Loading graph…</p>}>
              <JobGraph label={`Jobs of run ${run.id}`} stages={graph.stages} jobs={graph.jobs} edges={graph.edges} selected={job?.name} onSelect={setSelected} />
            </Suspense>
          )}
          <ul className="job-list" aria-label="Jobs">
            {run.jobs.map((j) => (
              <li key={j.name}>
                <button type="button" className={j.name === job?.name ? "selected" : undefined} aria-pressed={j.name === job?.name} onClick={() => setSelected(j.name)}>
                  {j.name} <StateBadge state={stream.states.get(j.name) ?? j.state} /> {formatDuration(j.duration)}
                </button>
              </li>
            ))}
          </ul>
          <h2>Timeline</h2>
          <Gantt attempts={attemptsOf(run)} now={now} />
        </div>
        <div>
          {job && (
            <>
              <h2>
                Log of {job.name} <StateBadge state={stream.states.get(job.name) ?? job.state} />
              </h2>
              <LogView
                key={job.name}
                name={job.name}
                lines={stream.logs.get(job.name) ?? []}
                live={!stream.ended && active}
                downloadUrl={`/api/runs/${run.id}/logs/download?job=${encodeURIComponent(job.name)}`}
              />
              <h3>Outputs</h3>
              <RunOutputs runId={run.id} job={job.name} reloadKey={`${stream.states.get(job.name) ?? job.state}:${job.outputs.length}`} />
              <h3>Metrics</h3>
              {Object.keys(job.metrics).length === 0 ? (
                <p className="muted">None.</p>
              ) : (
                <table>
                  <tbody>
                    {Object.entries(job.metrics).map(([k, v]) => (
                      <tr key={k}>
                        <th scope="row">{k}</th>
                        <td>{v}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
            </>
          )}
        </div>
      </div>
    </section>
  );
}
