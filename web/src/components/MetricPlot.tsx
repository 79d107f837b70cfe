/** One metric across runs: a point per run, joined by a line, with the values written beside. */
export function MetricPlot({ name, labels, values }: { name: string; labels: string[]; values: (number | null)[] }) {
  const width = 520;
  const height = 180;
  const pad = 36;
  const known = values.filter((v): v is number => v !== null);
  if (known.length === 0) return <p className="muted">No values of {name}.</p>;
  const low = Math.min(...known);
  const high = Math.max(...known);
  const span = high - low || Math.abs(high) || 1;
  const x = (i: number) => pad + (values.length === 1 ? (width - 2 * pad) / 2 : (i * (width - 2 * pad)) / (values.length - 1));
  const y = (v: number) => height - pad - ((v - low) / span) * (height - 2 * pad);
  const points = values.map((v, i) => (v === null ? null : `${x(i)},${y(v)}`)).filter(Boolean);
  return (
    <svg className="plot" viewBox={`0 0 ${width} ${height}`} role="img" aria-label={`${name} across runs: ${values.map((v, i) => `${labels[i]} ${v ?? "none"}`).join(", ")}`}>
      <line x1={pad} y1={height - pad} x2={width - pad} y2={height - pad} className="axis" />
      <polyline points={points.join(" ")} className="line" />
      {values.map((v, i) =>
        v === null ? null : (
          <g key={i}>
            <circle cx={x(i)} cy={y(v)} r={4} className="dot" />
            <text x={x(i)} y={y(v) - 8} textAnchor="middle">
              {Number(v.toPrecision(4))}
            </text>
          </g>
        ),
      )}
      {labels.map((label, i) => (
        <text key={label} x={x(i)} y={height - pad + 18} textAnchor="middle">
          {label}
        </text>
      ))}
    </svg>
  );
}
