import { useState, type FormEvent, type ReactNode } from "react";
import { useParams } from "react-router-dom";
import { api, messageOf, unwrap, type Schemas } from "../api/client";
import { useApi } from "../api/useApi";
import { ErrorNote } from "../components/ErrorNote";
import { formatTime } from "../format";
import { useOnline } from "../online";

type Permission = Schemas["Permission"];
const PERMISSIONS: Permission[] = [
  "board.read",
  "board.edit",
  "pipeline.read",
  "pipeline.edit",
  "pipeline.run",
  "run.cancel",
  "secret.read",
  "secret.write",
  "team.manage",
  "role.manage",
  "audit.read",
  "token.manage",
];

/** Runs `action`, shows its error, and reloads on success. */
function useAction(reload: () => void): [string | null, (action: () => Promise<unknown>) => Promise<void>] {
  const [error, setError] = useState<string | null>(null);
  async function run(action: () => Promise<unknown>) {
    setError(null);
    try {
      await action();
      reload();
    } catch (e) {
      setError(messageOf(e));
    }
  }
  return [error, run];
}

export function TeamSettingsPage() {
  const team = useParams().team!;
  return (
    <section aria-labelledby="settings-title">
      <h1 id="settings-title">Team {team}</h1>
      <Members team={team} />
      <Roles team={team} />
      <Secrets team={team} />
      <Audit team={team} />
    </section>
  );
}

function Panel({ title, children }: { title: string; children: ReactNode }) {
  const id = `panel-${title.toLowerCase().replace(/\W+/g, "-")}`;
  return (
    <section className="panel" aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      {children}
    </section>
  );
}

function Members({ team }: { team: string }) {
  const online = useOnline();
  const path = { params: { path: { team } } };
  const members = useApi(async () => unwrap(await api.GET("/api/teams/{team}/members", path)), [team]);
  const roles = useApi(async () => unwrap(await api.GET("/api/teams/{team}/roles", path)), [team]);
  const [error, act] = useAction(members.reload);
  const [username, setUsername] = useState("");
  const [role, setRole] = useState("viewer");
  const put = (user: string, newRole: string) =>
    act(async () => unwrap(await api.PUT("/api/teams/{team}/members/{username}", { params: { path: { team, username: user } }, body: { role: newRole } })));
  const roleNames = roles.data?.map((r) => r.name) ?? [];
  return (
    <Panel title="Members">
      <ErrorNote error={error ?? members.error} />
      <table>
        <thead>
          <tr>
            <th scope="col">User</th>
            <th scope="col">Role</th>
            <th scope="col">Since</th>
            <th scope="col">
              <span className="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {members.data?.map((m) => (
            <tr key={m.username}>
              <td>{m.display_name ? `${m.display_name} (${m.username})` : m.username}</td>
              <td>
                <select aria-label={`Role of ${m.username}`} value={m.role} disabled={!online} onChange={(e) => void put(m.username, e.target.value)}>
                  {[...new Set([m.role, ...roleNames])].map((r) => (
                    <option key={r}>{r}</option>
                  ))}
                </select>
              </td>
              <td>{formatTime(m.since)}</td>
              <td>
                <button
                  type="button"
                  disabled={!online}
                  aria-label={`Remove ${m.username}`}
                  onClick={() => void act(async () => unwrap(await api.DELETE("/api/teams/{team}/members/{username}", { params: { path: { team, username: m.username } } })))}
                >
                  Remove
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <form
        className="row"
        onSubmit={(e: FormEvent) => {
          e.preventDefault();
          void put(username, role).then(() => setUsername(""));
        }}
      >
        <label>
          Add user
          <input value={username} onChange={(e) => setUsername(e.target.value)} required />
        </label>
        <label>
          as
          <select value={role} onChange={(e) => setRole(e.target.value)}>
            {roleNames.map((r) => (
              <option key={r}>{r}</option>
            ))}
          </select>
        </label>
        <button type="submit" disabled={!online}>
          Add member
        </button>
      </form>
    </Panel>
  );
}

function Roles({ team }: { team: string }) {
  const online = useOnline();
  const roles = useApi(async () => unwrap(await api.GET("/api/teams/{team}/roles", { params: { path: { team } } })), [team]);
  const [error, act] = useAction(roles.reload);
  const [name, setName] = useState("");
  const [chosen, setChosen] = useState<Set<Permission>>(new Set(["board.read", "pipeline.read"]));
  function toggle(p: Permission) {
    const next = new Set(chosen);
    if (next.has(p)) next.delete(p);
    else next.add(p);
    setChosen(next);
  }
  return (
    <Panel title="Roles">
      <ErrorNote error={error ?? roles.error} />
      <table>
        <thead>
          <tr>
            <th scope="col">Role</th>
            <th scope="col">Permissions</th>
            <th scope="col">
              <span className="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {roles.data?.map((r) => (
            <tr key={r.name}>
              <td>
                {r.name} {r.builtin && <span className="muted">(built in)</span>}
              </td>
              <td className="perms">{r.permissions.join(", ")}</td>
              <td>
                {!r.builtin && (
                  <button
                    type="button"
                    disabled={!online}
                    aria-label={`Delete role ${r.name}`}
                    onClick={() => void act(async () => unwrap(await api.DELETE("/api/teams/{team}/roles/{name}", { params: { path: { team, name: r.name } } })))}
                  >
                    Delete
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <form
        onSubmit={(e: FormEvent) => {
          e.preventDefault();
          void act(async () => unwrap(await api.POST("/api/teams/{team}/roles", { params: { path: { team } }, body: { name, permissions: [...chosen] } }))).then(() => setName(""));
        }}
      >
        <label>
          New role
          <input value={name} onChange={(e) => setName(e.target.value)} required maxLength={100} />
        </label>
        <fieldset className="checks">
          <legend>Permissions</legend>
          {PERMISSIONS.map((p) => (
            <label key={p}>
              <input type="checkbox" checked={chosen.has(p)} onChange={() => toggle(p)} /> {p}
            </label>
          ))}
        </fieldset>
        <button type="submit" disabled={!online}>
          Create role
        </button>
      </form>
    </Panel>
  );
}

function Secrets({ team }: { team: string }) {
  const online = useOnline();
  const secrets = useApi(async () => unwrap(await api.GET("/api/teams/{team}/secrets", { params: { path: { team } } })), [team]);
  const [error, act] = useAction(secrets.reload);
  const [name, setName] = useState("");
  const [value, setValue] = useState("");
  return (
    <Panel title="Secrets">
      <p className="muted">Write-only: a value is never shown again. Jobs read them as environment variables; logs mask them.</p>
      <ErrorNote error={error ?? secrets.error} />
      <table>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Scope</th>
            <th scope="col">Updated</th>
            <th scope="col">By</th>
            <th scope="col">
              <span className="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {secrets.data?.map((s) => (
            <tr key={`${s.name}/${s.board}/${s.pipeline}`}>
              <td>
                <code>{s.name}</code>
              </td>
              <td>{s.pipeline ? `pipeline ${s.pipeline}` : s.board ? `board ${s.board}` : "team"}</td>
              <td>{formatTime(s.updated_at)}</td>
              <td>{s.updated_by ?? "—"}</td>
              <td>
                <button
                  type="button"
                  disabled={!online}
                  aria-label={`Delete secret ${s.name}`}
                  onClick={() =>
                    void act(async () =>
                      unwrap(await api.DELETE("/api/teams/{team}/secrets/{name}", { params: { path: { team, name: s.name }, query: { board: s.board, pipeline: s.pipeline } } })),
                    )
                  }
                >
                  Delete
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <form
        className="row"
        onSubmit={(e: FormEvent) => {
          e.preventDefault();
          void act(async () => unwrap(await api.PUT("/api/teams/{team}/secrets/{name}", { params: { path: { team, name } }, body: { value } }))).then(() => {
            setName("");
            setValue("");
          });
        }}
      >
        <label>
          Name
          <input value={name} onChange={(e) => setName(e.target.value)} required pattern="[A-Za-z_][A-Za-z0-9_]*" />
        </label>
        <label>
          Value
          <input type="password" autoComplete="off" value={value} onChange={(e) => setValue(e.target.value)} required />
        </label>
        <button type="submit" disabled={!online}>
          Save secret
        </button>
      </form>
    </Panel>
  );
}

function Audit({ team }: { team: string }) {
  const audit = useApi(async () => unwrap(await api.GET("/api/teams/{team}/audit", { params: { path: { team }, query: { limit: 100 } } })), [team]);
  return (
    <Panel title="Audit log">
      <ErrorNote error={audit.error} />
      <table>
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">Who</th>
            <th scope="col">Action</th>
            <th scope="col">Target</th>
            <th scope="col">From</th>
          </tr>
        </thead>
        <tbody>
          {audit.data?.map((a) => (
            <tr key={a.id}>
              <td>{formatTime(a.at)}</td>
              <td>{a.user ?? "system"}</td>
              <td>
                <code>{a.action}</code>
              </td>
              <td>{a.target}</td>
              <td>{a.remote ?? "—"}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </Panel>
  );
}
