import { formatDuration } from "../format";

export interface GanttAttempt {
  job: string;
  number: number;
  state: string;
  start: number;
  end: number | null;
}

/** Attempts on a time axis: one row per job, a bar per attempt from its start to its end (or now). */
export function Gantt({ attempts, now }: { attempts: GanttAttempt[]; now: number }) {
  if (attempts.length === 0) return <p className="muted">No attempt has started yet.</p>;
  const jobs = [...new Set(attempts.map((a) => a.job))];
  const first = Math.min(...attempts.map((a) => a.start));
  const last = Math.max(...attempts.map((a) => a.end ?? now), first + 1);
  const width = 640;
  const label = 150;
  const row = 22;
  const scale = (t: number) => label + ((t - first) / (last - first)) * (width - label - 10);
  return (
    <svg className="gantt" viewBox={`0 0 ${width} ${jobs.length * row + 24}`} role="img" aria-label={`Timeline of ${attempts.length} attempts over ${formatDuration(last - first)}`}>
      {jobs.map((job, i) => (
        <text key={job} x={4} y={i * row + 15} className="gantt-label">
          {job.length > 22 ? `${job.slice(0, 21)}…` : job}
        </text>
      ))}
      {attempts.map((a) => {
        const x = scale(a.start);
        const w = Math.max(2, scale(a.end ?? now) - x);
        return (
          <rect key={`${a.job}#${a.number}`} x={x} y={jobs.indexOf(a.job) * row + 4} width={w} height={row - 8} rx={3} className={`spark-${a.state}`}>
            <title>{`${a.job} attempt ${a.number}: ${a.state}, ${formatDuration((a.end ?? now) - a.start)}`}</title>
          </rect>
        );
      })}
      <text x={label} y={jobs.length * row + 18} className="gantt-label">
        0 s
      </text>
      <text x={width - 10} y={jobs.length * row + 18} textAnchor="end" className="gantt-label">
        {formatDuration(last - first)}
      </text>
    </svg>
  );
}
