import { useState, type FormEvent } from "react";
import { useNavigate } from "react-router-dom";
import { api, messageOf, unwrap, type Schemas } from "../api/client";
import { ErrorNote } from "../components/ErrorNote";
import { useOnline } from "../online";

type Param = Schemas["GraphParamOut"];

/** A form field's value as the API takes it (`-p name=value` text; the server types it). */
export function paramValue(param: Param, raw: string): string {
  if (param.type === "list") {
    return JSON.stringify(
      raw
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean),
    );
  }
  return raw.trim();
}

function initial(param: Param): string {
  if (param.default === null || param.default === undefined) return "";
  return Array.isArray(param.default) ? param.default.join(", ") : String(param.default);
}

export function RunForm({ team, pipeline, params, disabled }: { team: string; pipeline: string; params: Param[]; disabled?: string }) {
  const online = useOnline();
  const navigate = useNavigate();
  const [values, setValues] = useState<Record<string, string>>(() => Object.fromEntries(params.map((p) => [p.name, initial(p)])));
  const [noCache, setNoCache] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function start(event: FormEvent) {
    event.preventDefault();
    setError(null);
    // Only what differs from the defaults is sent: the run records the rest as the spec's defaults.
    const typed = Object.fromEntries(
      params.filter((p) => (values[p.name] ?? initial(p)) !== initial(p)).map((p) => [p.name, paramValue(p, values[p.name] ?? "")]),
    );
    try {
      const run = unwrap(await api.POST("/api/teams/{team}/pipelines/{name}/runs", { params: { path: { team, name: pipeline } }, body: { params: typed, no_cache: noCache } }));
      navigate(`/runs/${run.id}`);
    } catch (e) {
      setError(messageOf(e));
    }
  }

  return (
    <form className="run-form" onSubmit={start} aria-label={`Run ${pipeline}`}>
      {params.map((p) => (
        <label key={p.name} title={p.description ?? undefined}>
          {p.name} <span className="muted">({p.type})</span>
          {p.choices ? (
            <select value={values[p.name] ?? ""} onChange={(e) => setValues({ ...values, [p.name]: e.target.value })}>
              {p.choices.map((c) => (
                <option key={String(c)}>{String(c)}</option>
              ))}
            </select>
          ) : p.type === "bool" ? (
            <select value={values[p.name] ?? "false"} onChange={(e) => setValues({ ...values, [p.name]: e.target.value })}>
              <option>true</option>
              <option>false</option>
            </select>
          ) : (
            <input
              type={p.type === "int" || p.type === "float" ? "number" : "text"}
              step={p.type === "float" ? "any" : undefined}
              value={values[p.name] ?? ""}
              onChange={(e) => setValues({ ...values, [p.name]: e.target.value })}
            />
          )}
        </label>
      ))}
      <label className="check">
        <input type="checkbox" checked={noCache} onChange={(e) => setNoCache(e.target.checked)} /> Ignore the cache
      </label>
      <button type="submit" className="primary" disabled={!online || Boolean(disabled)} title={disabled}>
        Run
      </button>
      <ErrorNote error={error} />
    </form>
  );
}
