import dagre from "@dagrejs/dagre";

export interface LayoutJob {
  name: string;
  stage: string;
  /** rows of ports the node shows (its height grows with them) */
  ports?: number;
}

export interface LayoutEdge {
  from: string;
  to: string;
}

export interface Placed {
  name: string;
  stage: string;
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface StageColumn {
  stage: string;
  x: number;
  width: number;
  height: number;
}

export interface Layout {
  jobs: Placed[];
  stages: StageColumn[];
}

export const NODE_WIDTH = 200;
const NODE_BASE_HEIGHT = 44;
const PORT_HEIGHT = 20;
const COLUMN_GAP = 80;
const ROW_GAP = 24;
export const STAGE_HEADER = 36;

/** Jobs in one column per stage (in the stages' order); dagre orders each column to keep edges
 *  from crossing, then the column is packed top to bottom. */
export function layoutGraph(stages: string[], jobs: LayoutJob[], edges: LayoutEdge[]): Layout {
  const order = [...stages, ...new Set(jobs.map((j) => j.stage).filter((s) => !stages.includes(s)))];
  const height = (job: LayoutJob) => NODE_BASE_HEIGHT + (job.ports ?? 0) * PORT_HEIGHT;
  const graph = new dagre.graphlib.Graph();
  graph.setGraph({ rankdir: "LR", nodesep: ROW_GAP, ranksep: COLUMN_GAP });
  graph.setDefaultEdgeLabel(() => ({}));
  const names = new Set(jobs.map((j) => j.name));
  for (const job of jobs) graph.setNode(job.name, { width: NODE_WIDTH, height: height(job) });
  for (const edge of edges) {
    if (names.has(edge.from) && names.has(edge.to) && edge.from !== edge.to) graph.setEdge(edge.from, edge.to);
  }
  dagre.layout(graph);

  const columns: StageColumn[] = [];
  const placed: Placed[] = [];
  let tallest = 0;
  const used = order.filter((stage) => jobs.some((j) => j.stage === stage));
  used.forEach((stage, column) => {
    const x = column * (NODE_WIDTH + COLUMN_GAP);
    const members = jobs
      .filter((j) => j.stage === stage)
      .map((j) => ({ job: j, y: graph.node(j.name)?.y ?? 0 }))
      .sort((a, b) => a.y - b.y || a.job.name.localeCompare(b.job.name));
    let y = STAGE_HEADER;
    for (const { job } of members) {
      placed.push({ name: job.name, stage, x: x + 10, y, width: NODE_WIDTH - 20, height: height(job) });
      y += height(job) + ROW_GAP;
    }
    tallest = Math.max(tallest, y);
    columns.push({ stage, x, width: NODE_WIDTH, height: 0 });
  });
  for (const column of columns) column.height = tallest;
  return { jobs: placed, stages: columns };
}
