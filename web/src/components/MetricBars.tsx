export interface MetricRow {
  key: string;
  values: (number | null)[];
}

/** The numbers of a compare row (a metric value that is not a number counts as missing). */
export function numbers(values: unknown[]): (number | null)[] {
  return values.map((v) => (typeof v === "number" && Number.isFinite(v) ? v : null));
}

/** Every metric of the compared runs as a group of bars, one bar per run (each group scaled to its
 *  own largest value, so metrics of different sizes stay readable), the value written on the bar. */
export function MetricBars({ metrics, runs }: { metrics: MetricRow[]; runs: string[] }) {
  const plotted = metrics.filter((m) => m.values.some((v) => v !== null));
  if (plotted.length === 0) return <p className="muted">No numeric metrics to plot.</p>;
  const bar = 26;
  const gap = 14;
  const rowHeight = 90;
  const labelWidth = 150;
  const groupWidth = runs.length * bar;
  const width = Math.max(360, labelWidth + plotted.length * (groupWidth + gap * 2));
  const height = rowHeight + 50;
  const base = rowHeight + 10;
  const summary = plotted.map((m) => `${m.key}: ${m.values.map((v, i) => `${runs[i]} ${v ?? "none"}`).join(", ")}`).join("; ");
  return (
    <figure className="metric-bars">
      <svg className="plot bars" viewBox={`0 0 ${width} ${height}`} style={{ width: `${width}px` }} role="img" aria-label={`Metrics per run: ${summary}`}>
        <line x1={0} y1={base} x2={width} y2={base} className="axis" />
        {plotted.map((m, g) => {
          const known = m.values.filter((v): v is number => v !== null);
          const top = Math.max(...known.map(Math.abs), 1e-12);
          const x0 = g * (groupWidth + gap * 2) + gap;
          return (
            <g key={m.key} data-metric={m.key}>
              {m.values.map((v, i) => {
                const h = v === null ? 0 : Math.max(2, (Math.abs(v) / top) * (rowHeight - 20));
                return (
                  <g key={i}>
                    <rect className={`bar bar-${i % 6}`} x={x0 + i * bar} y={base - h} width={bar - 4} height={h}>
                      <title>{`${runs[i]} ${m.key} ${v ?? "none"}`}</title>
                    </rect>
                    <text x={x0 + i * bar + (bar - 4) / 2} y={base - h - 4} textAnchor="middle">
                      {v === null ? "—" : Number(v.toPrecision(4))}
                    </text>
                  </g>
                );
              })}
              <text x={x0 + groupWidth / 2} y={base + 18} textAnchor="middle" className="bar-label">
                {m.key.length > 22 ? `${m.key.slice(0, 21)}…` : m.key}
              </text>
            </g>
          );
        })}
      </svg>
      <figcaption className="legend">
        {runs.map((r, i) => (
          <span key={r} className="legend-item">
            <svg width="12" height="12" aria-hidden="true">
              <rect className={`bar bar-${i % 6}`} width="12" height="12" />
            </svg>{" "}
            {r}
          </span>
        ))}
      </figcaption>
    </figure>
  );
}
