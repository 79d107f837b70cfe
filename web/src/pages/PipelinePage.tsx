import { lazy, Suspense, useCallback, useEffect, useMemo, useState, type FormEvent } from "react";
import { useNavigate, useParams } from "react-router-dom";
import { api, ApiError, messageOf, unwrap, type Schemas } from "../api/client";
import { ErrorNote } from "../components/ErrorNote";
import { editSpec, fetchGraph, saveSpec, type SpecEdit, type SpecGraph } from "../editor/specApi";
import { teamPath } from "../format";
import { History } from "../history/History";
import { useOnline } from "../online";
import { MetricHistory } from "./MetricHistory";
import { RunForm } from "./RunForm";

const YamlEditor = lazy(() => import("../editor/YamlEditor"));
const GraphEditor = lazy(() => import("../graph/GraphEditor"));
const PAUSE_MS = 350;

export const NEW_PIPELINE = `# A new pipeline: name it, then add jobs here or in the graph view.
version: 1
name: my-pipeline
stages: [build, test]
jobs:
  build:
    stage: build
    script: echo building
`;

type View = "yaml" | "graph";

export default function PipelinePage() {
  const { team, pipeline } = useParams() as { team: string; pipeline?: string };
  const navigate = useNavigate();
  const online = useOnline();
  const [text, setText] = useState<string | null>(pipeline ? null : NEW_PIPELINE);
  const [saved, setSaved] = useState<string | null>(null);
  const [current, setCurrent] = useState<number | null>(null);
  const [graph, setGraph] = useState<SpecGraph | null>(null);
  const [view, setView] = useState<View>("yaml");
  const [message, setMessage] = useState("");
  const [boards, setBoards] = useState<Schemas["BoardOut"][]>([]);
  const [board, setBoard] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const load = useCallback(async () => {
    if (!pipeline) return;
    try {
      const found = unwrap(await api.GET("/api/teams/{team}/pipelines/{name}", { params: { path: { team, name: pipeline } } }));
      setCurrent(found.current_revision);
      if (found.current_revision) {
        const revision = unwrap(
          await api.GET("/api/teams/{team}/pipelines/{name}/revisions/{number}", { params: { path: { team, name: pipeline, number: found.current_revision } } }),
        );
        setText(revision.spec_text ?? "");
        setSaved(revision.spec_text ?? "");
      }
    } catch (e) {
      setError(messageOf(e));
    }
  }, [team, pipeline]);

  useEffect(() => {
    void load();
  }, [load]);
  useEffect(() => {
    if (pipeline) return;
    void api.GET("/api/teams/{team}/boards", { params: { path: { team } } }).then((r) => {
      const list = r.data ?? [];
      setBoards(list);
      setBoard((b) => b || list[0]?.name || "");
    });
  }, [team, pipeline]);

  // The graph and diagnostics of the text, asked for when typing pauses.
  useEffect(() => {
    if (text === null || !online) return;
    let live = true;
    const timer = window.setTimeout(() => {
      fetchGraph(text)
        .then((g) => live && setGraph(g))
        .catch((e: unknown) => live && setError(messageOf(e)));
    }, PAUSE_MS);
    return () => {
      live = false;
      window.clearTimeout(timer);
    };
  }, [text, online]);

  const names = useMemo(
    () => ({ jobs: graph?.jobs.map((j) => j.name) ?? [], outputs: graph?.jobs.flatMap((j) => j.outputs.map((o) => `${j.name}.${o.name}`)) ?? [] }),
    [graph],
  );

  async function applyEdits(edits: SpecEdit[]) {
    if (text === null) return;
    setError(null);
    try {
      const out = await editSpec(text, edits);
      setText(out.text);
      setGraph(out.graph);
    } catch (e) {
      setError(messageOf(e));
    }
  }

  async function save(event: FormEvent) {
    event.preventDefault();
    if (text === null) return;
    setBusy(true);
    setError(null);
    setNotice(null);
    try {
      const out = await saveSpec(team, text, message, pipeline ? null : board || null);
      setSaved(text);
      setCurrent(out.revision.number);
      setMessage("");
      setNotice(out.created ? `Saved as revision ${out.revision.number}.` : `No change: revision ${out.revision.number} has this YAML.`);
      if (out.pipeline.name !== pipeline) navigate(teamPath(team, `/p/${encodeURIComponent(out.pipeline.name)}`), { replace: true });
    } catch (e) {
      const problems = e instanceof ApiError ? (e.details as { diagnostics?: Schemas["DiagnosticOut"][] })?.diagnostics : undefined;
      setError(problems?.length ? `${messageOf(e)}: ${problems.map((d) => `line ${d.line}: ${d.message}`).join("; ")}` : messageOf(e));
    } finally {
      setBusy(false);
    }
  }

  const dirty = text !== null && text !== saved;
  const errors = graph?.diagnostics.filter((d) => d.severity === "error").length ?? 0;
  return (
    <section aria-labelledby="pipeline-title" className="pipeline-page">
      <div className="title-row">
        <h1 id="pipeline-title">{pipeline ? `Pipeline ${pipeline}` : "New pipeline"}</h1>
        <div role="tablist" aria-label="Editor view" className="tabs">
          {(["yaml", "graph"] as const).map((v) => (
            <button key={v} type="button" role="tab" aria-selected={view === v} className={view === v ? "selected" : undefined} onClick={() => setView(v)}>
              {v === "yaml" ? "YAML" : "Graph"}
            </button>
          ))}
        </div>
      </div>
      <ErrorNote error={error} />
      {notice && (
        <p className="notice" role="status">
          {notice}
        </p>
      )}
      <p className="muted" aria-live="polite" data-testid="diagnostic-summary">
        {graph ? (graph.valid ? "Valid." : `${errors} error${errors === 1 ? "" : "s"}${graph.diagnostics.length > errors ? `, ${graph.diagnostics.length - errors} other` : ""}.`) : "Checking…"}
        {dirty && " Unsaved changes."}
      </p>
      {text === null ? (
        <p>Loading…</p>
      ) : (
        <Suspense fallback={<p>Loading editor…</p>}>
          <div role="tabpanel" aria-label={view === "yaml" ? "YAML" : "Graph"}>
            {view === "yaml" ? (
              <YamlEditor label="Pipeline YAML" value={text} onChange={setText} diagnostics={graph?.diagnostics ?? []} names={names} />
            ) : graph ? (
              <GraphEditor graph={graph} onEdit={applyEdits} />
            ) : (
              <p>Reading the graph…</p>
            )}
          </div>
        </Suspense>
      )}
      {graph && graph.diagnostics.length > 0 && (
        <ul className="diagnostics" aria-label="Problems">
          {graph.diagnostics.map((d, i) => (
            <li key={i} className={`diag-${d.severity}`}>
              <code>
                {d.file}:{d.line}:{d.col}
              </code>{" "}
              {d.message} <span className="muted">[{d.code}]</span>
              {d.hint && <div className="muted">hint: {d.hint}</div>}
            </li>
          ))}
        </ul>
      )}
      <form className="row save-form" onSubmit={save} aria-label="Save a revision">
        {!pipeline && (
          <label>
            Board
            <select value={board} onChange={(e) => setBoard(e.target.value)}>
              <option value="">(the YAML's board:)</option>
              {boards.map((b) => (
                <option key={b.id}>{b.name}</option>
              ))}
            </select>
          </label>
        )}
        <label className="grow">
          Message
          <input value={message} onChange={(e) => setMessage(e.target.value)} maxLength={2000} placeholder="what changed" />
        </label>
        <button type="submit" className="primary" disabled={!online || busy || !dirty}>
          {busy ? "Saving…" : "Save revision"}
        </button>
      </form>
      {pipeline && graph && (
        <details className="run-panel" open>
          <summary>Run</summary>
          <RunForm team={team} pipeline={pipeline} params={graph.params} disabled={dirty ? "save your changes first" : !current ? "save a revision first" : undefined} key={graph.params.map((p) => p.name).join()} />
        </details>
      )}
      {pipeline && <MetricHistory team={team} pipeline={pipeline} />}
      {pipeline && <History team={team} pipeline={pipeline} current={current} onRolledBack={() => void load()} />}
    </section>
  );
}
