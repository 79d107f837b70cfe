import type { Schemas } from "../api/client";
import type { GraphEdge, GraphJob } from "../graph/JobGraph";

export type Trace = Schemas["TraceOut"];
export type Frame = Schemas["TraceFrameOut"];

export interface TraceGraph {
  stages: string[];
  jobs: GraphJob[];
  edges: GraphEdge[];
  /** node name -> the run to open when it is clicked */
  runOf: Map<string, number>;
}

/** The node of a frame: `#N job` (a trace may hold the same job of several runs). */
export function nodeName(frame: Frame): string {
  return `#${frame.number} ${frame.job}`;
}

export function shortSha(sha: string): string {
  return sha ? sha.slice(0, 8) : "—";
}

/** What marks a frame: cached from an earlier run, stale (and why), a failed component. */
export function marksOf(frame: Frame): string[] {
  const marks: string[] = [];
  if (frame.kind === "component") marks.push(frame.in_job ? `component in ${frame.in_job}` : "component");
  if (frame.cached_from_run !== null) marks.push(`cached from run ${frame.cached_from_run}`);
  if (frame.stale.length > 0 || frame.inputs.some((l) => l.stale)) marks.push("stale");
  if (frame.status === "failed") marks.push("failed");
  return marks;
}

/** How many links each frame is from frame #0 (along inputs backwards, `derived_from` forwards). */
function distances(trace: Trace): Map<number, number> {
  const parents = new Map<number, number[]>();
  for (const frame of trace.frames) {
    const from = trace.direction === "forward" ? (frame.derived_from === null ? [] : [frame.derived_from]) : [];
    parents.set(frame.number, from);
  }
  if (trace.direction !== "forward") {
    for (const frame of trace.frames) {
      for (const input of frame.inputs) {
        if (input.frame !== null) parents.set(input.frame, [...(parents.get(input.frame) ?? []), frame.number]);
      }
    }
  }
  const depth = new Map<number, number>();
  const walk = (n: number, seen: Set<number>): number => {
    const known = depth.get(n);
    if (known !== undefined) return known;
    if (seen.has(n)) return 0;
    seen.add(n);
    const up = (parents.get(n) ?? []).filter((p) => p !== n);
    const d = up.length === 0 ? 0 : 1 + Math.max(...up.map((p) => walk(p, seen)));
    depth.set(n, d);
    return d;
  };
  for (const frame of trace.frames) walk(frame.number, new Set());
  return depth;
}

function stageName(d: number, forward: boolean): string {
  if (d === 0) return "traced output";
  const unit = d === 1 ? "link" : "links";
  return forward ? `${d} ${unit} on` : `${d} ${unit} back`;
}

/** The frames of a trace as a job graph: one node per frame (a column per distance from #0, the
 *  sources on the left), an edge per input made by another frame, labelled `input sha`. */
export function traceGraph(trace: Trace): TraceGraph {
  const forward = trace.direction === "forward";
  const depth = distances(trace);
  const deepest = Math.max(0, ...depth.values());
  const order = Array.from({ length: deepest + 1 }, (_, i) => (forward ? i : deepest - i));
  const stages = order.map((d) => stageName(d, forward));
  const byNumber = new Map(trace.frames.map((f) => [f.number, f]));
  const jobs: GraphJob[] = trace.frames.map((frame) => ({
    name: nodeName(frame),
    stage: stageName(depth.get(frame.number) ?? 0, forward),
    description: `${frame.kind === "component" ? "component run" : "job"} of run ${frame.run_id}${frame.pipeline ? `, pipeline ${frame.pipeline}` : ""}`,
    inputs: frame.inputs.map((l) => ({ name: l.name, type: l.type })),
    outputs: frame.outputs.map((l) => ({ name: l.name, type: l.type })),
    state: frame.status === "failed" ? "failed" : frame.cached_from_run !== null ? "cached" : "success",
    marks: marksOf(frame),
  }));
  const edges: GraphEdge[] = [];
  for (const frame of trace.frames) {
    for (const input of frame.inputs) {
      const producer = input.frame === null ? undefined : byNumber.get(input.frame);
      if (!producer || producer.number === frame.number) continue;
      const made = producer.outputs.find((o) => o.sha256 === input.sha256 && o.sha256 !== "");
      edges.push({
        kind: made ? "artifact" : "needs",
        from_job: nodeName(producer),
        to_job: nodeName(frame),
        from_output: made?.name ?? null,
        to_input: input.name,
        label: `${input.name} ${shortSha(input.sha256)}${input.stale ? " (stale)" : ""}`,
      });
    }
  }
  if (forward) {
    for (const frame of trace.frames) {
      const parent = frame.derived_from === null ? undefined : byNumber.get(frame.derived_from);
      if (parent && !edges.some((e) => e.to_job === nodeName(frame))) edges.push({ kind: "needs", from_job: nodeName(parent), to_job: nodeName(frame), label: "reads" });
    }
  }
  return { stages, jobs, edges, runOf: new Map(trace.frames.map((f) => [nodeName(f), f.run_id])) };
}
