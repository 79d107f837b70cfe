import { Background, Controls, Handle, MarkerType, Position, ReactFlow, type Connection, type Edge, type Node, type NodeProps } from "@xyflow/react";
import "@xyflow/react/dist/style.css";
import { useMemo } from "react";
import { layoutGraph, NODE_WIDTH, STAGE_HEADER } from "./layout";

export interface GraphPort {
  name: string;
  type?: string | null;
}

export interface GraphJob {
  name: string;
  stage: string;
  description?: string | null;
  inputs: GraphPort[];
  outputs: GraphPort[];
  /** a run's job state: colours the node */
  state?: string;
  matrixSize?: number;
  /** short notes shown on the node (a trace: "cached from run 3", "stale") */
  marks?: string[];
}

export interface GraphEdge {
  kind: string;
  from_job: string;
  to_job: string;
  from_output?: string | null;
  to_input?: string | null;
  type?: string | null;
  /** the edge's label (default: an artifact edge's type or output) */
  label?: string | null;
}

export interface JobGraphProps {
  stages: string[];
  jobs: GraphJob[];
  edges: GraphEdge[];
  selected?: string | null;
  onSelect?: (job: string) => void;
  /** set: the graph is editable and dragging an output onto an input connects them */
  onConnect?: (from: string, to: string) => void;
  label: string;
}

type JobData = { job: GraphJob; selected: boolean; editable: boolean };
type StageData = { stage: string };

function JobNode({ data }: NodeProps<Node<JobData>>) {
  const { job, editable } = data;
  return (
    <div className={`job-node state-bg-${job.state ?? "none"}${data.selected ? " selected" : ""}`} title={job.description ?? undefined}>
      <div className="job-node-title">
        <strong>{job.name}</strong>
        {job.matrixSize && job.matrixSize > 1 ? <span className="muted"> ×{job.matrixSize}</span> : null}
        {job.state && <span className={`state state-${job.state}`}>{job.state}</span>}
      </div>
      {job.marks && job.marks.length > 0 && (
        <div className="job-node-marks">
          {job.marks.map((m) => (
            <span key={m} className="mark">
              {m}
            </span>
          ))}
        </div>
      )}
      <Handle type="target" position={Position.Left} id="job" className="job-handle" isConnectable={false} />
      <Handle type="source" position={Position.Right} id="job" className="job-handle" isConnectable={false} />
      <div className="ports">
        <ul className="inputs" aria-label={`Inputs of ${job.name}`}>
          {job.inputs.map((p) => (
            <li key={p.name}>
              <Handle type="target" position={Position.Left} id={`in:${p.name}`} isConnectable={editable} />
              {p.name}
              {p.type && <span className="type">{p.type}</span>}
            </li>
          ))}
        </ul>
        <ul className="outputs" aria-label={`Outputs of ${job.name}`}>
          {job.outputs.map((p) => (
            <li key={p.name}>
              {p.name}
              {p.type && <span className="type">{p.type}</span>}
              <Handle type="source" position={Position.Right} id={`out:${p.name}`} isConnectable={editable} />
            </li>
          ))}
        </ul>
      </div>
    </div>
  );
}

function StageNode({ data }: NodeProps<Node<StageData>>) {
  return <div className="stage-column-label">{data.stage}</div>;
}

const nodeTypes = { job: JobNode, stage: StageNode };

/** Builds the React Flow nodes and edges: stage columns behind the jobs, typed edges labelled. */
export function flowElements(props: Pick<JobGraphProps, "stages" | "jobs" | "edges" | "selected" | "onConnect">): { nodes: Node[]; edges: Edge[] } {
  const layout = layoutGraph(
    props.stages,
    props.jobs.map((j) => ({ name: j.name, stage: j.stage, ports: Math.max(j.inputs.length, j.outputs.length) + (j.marks?.length ? 1 : 0) })),
    props.edges.map((e) => ({ from: e.from_job, to: e.to_job })),
  );
  const byName = new Map(props.jobs.map((j) => [j.name, j]));
  const nodes: Node[] = [
    ...layout.stages.map((s) => ({
      id: `stage:${s.stage}`,
      type: "stage",
      position: { x: s.x, y: 0 },
      data: { stage: s.stage },
      draggable: false,
      selectable: false,
      focusable: false,
      style: { width: NODE_WIDTH, height: s.height + STAGE_HEADER },
      zIndex: -1,
    })),
    ...layout.jobs.map((p) => ({
      id: p.name,
      type: "job",
      position: { x: p.x, y: p.y },
      data: { job: byName.get(p.name)!, selected: props.selected === p.name, editable: Boolean(props.onConnect) },
      style: { width: p.width },
      ariaLabel: `Job ${p.name}${byName.get(p.name)?.state ? `, ${byName.get(p.name)?.state}` : ""}${byName.get(p.name)?.marks?.length ? `, ${byName.get(p.name)?.marks?.join(", ")}` : ""}`,
    })),
  ];
  const edges: Edge[] = props.edges.map((e, i) => {
    const artifact = e.kind === "artifact";
    return {
      id: `${e.from_job}.${e.from_output ?? ""}->${e.to_job}.${e.to_input ?? ""}#${i}`,
      source: e.from_job,
      target: e.to_job,
      sourceHandle: artifact && e.from_output ? `out:${e.from_output}` : "job",
      targetHandle: artifact && e.to_input ? `in:${e.to_input}` : "job",
      label: e.label ?? (artifact ? (e.type ?? e.from_output ?? undefined) : undefined),
      className: artifact ? "edge-artifact" : "edge-needs",
      markerEnd: { type: MarkerType.ArrowClosed },
      style: artifact ? undefined : { strokeDasharray: "4 4" },
    };
  });
  return { nodes, edges };
}

export default function JobGraph(props: JobGraphProps) {
  const { nodes, edges } = useMemo(() => flowElements(props), [props]);
  const { onConnect, onSelect } = props;
  return (
    <div className="job-graph" role="region" aria-label={props.label}>
      <ReactFlow
        nodes={nodes}
        edges={edges}
        nodeTypes={nodeTypes}
        fitView
        minZoom={0.2}
        proOptions={{ hideAttribution: true }}
        nodesDraggable={false}
        nodesConnectable={Boolean(onConnect)}
        onNodeClick={(_, node) => node.type === "job" && onSelect?.(node.id)}
        onConnect={(c: Connection) => {
          if (!onConnect || !c.sourceHandle?.startsWith("out:") || !c.targetHandle?.startsWith("in:")) return;
          onConnect(`${c.source}.${c.sourceHandle.slice(4)}`, `${c.target}.${c.targetHandle.slice(3)}`);
        }}
      >
        <Background />
        <Controls showInteractive={false} />
      </ReactFlow>
    </div>
  );
}
