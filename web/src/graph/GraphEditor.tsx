import { useState, type FormEvent } from "react";
import type { SpecEdit, SpecGraph } from "../editor/specApi";
import { useOnline } from "../online";
import JobGraph from "./JobGraph";

export interface GraphEditorProps {
  graph: SpecGraph;
  /** applies edits to the YAML (on the server, keeping comments and key order) */
  onEdit: (edits: SpecEdit[]) => Promise<void>;
}

/** The visual editor: the graph, a palette of types, and forms that edit the YAML. */
export default function GraphEditor({ graph, onEdit }: GraphEditorProps) {
  const online = useOnline();
  const [selected, setSelected] = useState<string | null>(null);
  const [newJob, setNewJob] = useState("");
  const [newStage, setNewStage] = useState("");
  const [rename, setRename] = useState("");
  const [output, setOutput] = useState({ name: "", path: "", type: "file" });
  const [connectFrom, setConnectFrom] = useState("");
  const [connectTo, setConnectTo] = useState("");
  const job = graph.jobs.find((j) => j.name === selected) ?? null;
  const outputs = graph.jobs.flatMap((j) => j.outputs.map((o) => `${j.name}.${o.name}`));
  const inputs = graph.jobs.flatMap((j) => j.inputs.map((i) => `${j.name}.${i.name}`));

  function submit(edits: SpecEdit[], after?: () => void) {
    return (event: FormEvent) => {
      event.preventDefault();
      void onEdit(edits).then(() => after?.());
    };
  }

  return (
    <div className="graph-editor">
      <JobGraph
        label="Pipeline graph"
        stages={graph.stages}
        jobs={graph.jobs.map((j) => ({ ...j, matrixSize: j.matrix_size }))}
        edges={graph.edges}
        selected={selected}
        onSelect={(name) => {
          setSelected(name);
          setRename(name);
        }}
        onConnect={(from, to) => void onEdit([{ op: "connect", from, to }])}
      />
      <aside className="graph-side" aria-label="Graph tools">
        <section aria-labelledby="palette-title">
          <h3 id="palette-title">Types</h3>
          <ul className="palette">
            {graph.types.map((t) => (
              <li key={t.name}>
                <button
                  type="button"
                  className={output.type === t.name ? "selected" : undefined}
                  aria-pressed={output.type === t.name}
                  title={t.description ?? undefined}
                  onClick={() => setOutput({ ...output, type: t.name })}
                >
                  {t.name}
                  {t.custom && <span className="muted"> (custom)</span>}
                </button>
              </li>
            ))}
          </ul>
        </section>
        <label>
          Selected job
          <select
            value={selected ?? ""}
            onChange={(e) => {
              setSelected(e.target.value || null);
              setRename(e.target.value);
            }}
          >
            <option value="">(click a job, or choose)</option>
            {graph.jobs.map((j) => (
              <option key={j.name}>{j.name}</option>
            ))}
          </select>
        </label>
        <form onSubmit={submit([{ op: "add_job", name: newJob, stage: newStage || null }], () => setNewJob(""))} aria-label="Add a job">
          <h3>Add job</h3>
          <label>
            Name
            <input value={newJob} onChange={(e) => setNewJob(e.target.value)} required pattern="[A-Za-z_][A-Za-z0-9_\-]*" />
          </label>
          <label>
            Stage
            <select value={newStage} onChange={(e) => setNewStage(e.target.value)}>
              <option value="">(default)</option>
              {graph.stages.map((s) => (
                <option key={s}>{s}</option>
              ))}
            </select>
          </label>
          <button type="submit" disabled={!online}>
            Add job
          </button>
        </form>
        <form onSubmit={submit([{ op: "connect", from: connectFrom, to: connectTo }])} aria-label="Connect an output to an input">
          <h3>Connect</h3>
          <label>
            Output
            <select value={connectFrom} onChange={(e) => setConnectFrom(e.target.value)} required>
              <option value="">choose…</option>
              {outputs.map((o) => (
                <option key={o}>{o}</option>
              ))}
            </select>
          </label>
          <label>
            to input (job.input)
            <input value={connectTo} onChange={(e) => setConnectTo(e.target.value)} list="graph-inputs" required pattern="[^.]+\.[^.]+" />
            <datalist id="graph-inputs">
              {inputs.map((i) => (
                <option key={i} value={i} />
              ))}
            </datalist>
          </label>
          <button type="submit" disabled={!online}>
            Connect
          </button>
        </form>
        {job && (
          <section aria-labelledby="job-panel-title">
            <h3 id="job-panel-title">Job {job.name}</h3>
            {job.description && <p className="muted">{job.description}</p>}
            <form onSubmit={submit([{ op: "rename_job", name: job.name, new_name: rename }], () => setSelected(rename))}>
              <label>
                Rename to
                <input value={rename} onChange={(e) => setRename(e.target.value)} required pattern="[A-Za-z_][A-Za-z0-9_\-]*" />
              </label>
              <button type="submit" disabled={!online || rename === job.name}>
                Rename
              </button>
            </form>
            <form onSubmit={submit([{ op: "add_output", job: job.name, name: output.name, path: output.path, type: output.type }], () => setOutput({ ...output, name: "", path: "" }))}>
              <label>
                New output
                <input value={output.name} onChange={(e) => setOutput({ ...output, name: e.target.value })} required />
              </label>
              <label>
                Path
                <input value={output.path} onChange={(e) => setOutput({ ...output, path: e.target.value })} required />
              </label>
              <p className="muted">Type: {output.type} (pick in Types)</p>
              <button type="submit" disabled={!online}>
                Add output
              </button>
            </form>
            <button type="button" className="danger" disabled={!online} onClick={() => void onEdit([{ op: "delete_job", name: job.name }]).then(() => setSelected(null))}>
              Delete job
            </button>
          </section>
        )}
      </aside>
    </div>
  );
}
