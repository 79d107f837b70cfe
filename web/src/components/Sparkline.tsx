import { formatDuration } from "../format";

export interface SparkPoint {
  state: string;
  duration: number | null;
}

/** Recent runs, oldest to newest: bar height is the duration, colour the state. */
export function Sparkline({ points, width = 120, height = 28 }: { points: SparkPoint[]; width?: number; height?: number }) {
  if (points.length === 0) return <span className="muted">no runs</span>;
  const longest = Math.max(...points.map((p) => p.duration ?? 0), 0.001);
  const bar = Math.min(width / Math.max(points.length, 1), 10);
  const label = `${points.length} recent runs: ${points.map((p) => p.state).join(", ")}`;
  return (
    <svg className="sparkline" width={width} height={height} role="img" aria-label={label}>
      {points.map((p, i) => {
        const h = Math.max(3, ((p.duration ?? 0) / longest) * (height - 2));
        return (
          <rect key={i} className={`spark-${p.state}`} x={i * bar + 1} y={height - h} width={Math.max(bar - 2, 1)} height={h}>
            <title>{`${p.state}, ${formatDuration(p.duration)}`}</title>
          </rect>
        );
      })}
    </svg>
  );
}
