import { useState, type FormEvent } from "react";
import { api, messageOf, unwrap, type Schemas } from "../api/client";
import { useApi } from "../api/useApi";
import { ErrorNote } from "../components/ErrorNote";
import { formatTime } from "../format";
import { useOnline } from "../online";
import { useSession } from "../session";

export function AccountPage() {
  const { me } = useSession();
  const online = useOnline();
  const tokens = useApi(async () => unwrap(await api.GET("/api/me/tokens")), []);
  const [name, setName] = useState("");
  const [days, setDays] = useState("");
  const [created, setCreated] = useState<Schemas["NewTokenOut"] | null>(null);
  const [error, setError] = useState<string | null>(null);

  async function create(event: FormEvent) {
    event.preventDefault();
    setError(null);
    try {
      const out = unwrap(await api.POST("/api/me/tokens", { body: { name, expires_in_days: days ? Number(days) : null } }));
      setCreated(out);
      setName("");
      tokens.reload();
    } catch (e) {
      setError(messageOf(e));
    }
  }

  async function revoke(id: number) {
    setError(null);
    try {
      unwrap(await api.DELETE("/api/me/tokens/{token_id}", { params: { path: { token_id: id } } }));
      tokens.reload();
    } catch (e) {
      setError(messageOf(e));
    }
  }

  return (
    <section aria-labelledby="account-title">
      <h1 id="account-title">Account</h1>
      <p>
        Signed in as <strong>{me?.username}</strong>
        {me?.is_admin && " (server admin)"}. Teams: {me?.teams.map((t) => `${t.name} (${t.role ?? "no role"})`).join(", ") || "none"}.
      </p>
      <h2>API tokens</h2>
      <p className="muted">For the CLI (`reefline login`), the SDK and the editor. A token is shown once, when it is made.</p>
      <form onSubmit={create} className="row">
        <label>
          Name
          <input value={name} onChange={(e) => setName(e.target.value)} required maxLength={100} />
        </label>
        <label>
          Expires in days (optional)
          <input type="number" min={1} max={3650} value={days} onChange={(e) => setDays(e.target.value)} />
        </label>
        <button type="submit" className="primary" disabled={!online}>
          Create token
        </button>
      </form>
      {created && (
        <div className="notice" role="status">
          <p>
            Token <strong>{created.token.name}</strong> — copy it now, it is not shown again:
          </p>
          <code className="secret" data-testid="new-token">
            {created.secret}
          </code>
          <button type="button" onClick={() => void navigator.clipboard?.writeText(created.secret)}>
            Copy
          </button>
          <button type="button" onClick={() => setCreated(null)}>
            Done
          </button>
        </div>
      )}
      <ErrorNote error={error ?? tokens.error} />
      <table>
        <caption className="sr-only">Your API tokens</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Prefix</th>
            <th scope="col">Created</th>
            <th scope="col">Last used</th>
            <th scope="col">Expires</th>
            <th scope="col">State</th>
            <th scope="col">
              <span className="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {tokens.data?.map((t) => (
            <tr key={t.id}>
              <td>{t.name}</td>
              <td>
                <code>{t.prefix}…</code>
              </td>
              <td>{formatTime(t.created_at)}</td>
              <td>{formatTime(t.last_used_at)}</td>
              <td>{formatTime(t.expires_at)}</td>
              <td>{t.revoked_at ? `revoked ${formatTime(t.revoked_at)}` : "active"}</td>
              <td>
                {!t.revoked_at && (
                  <button type="button" onClick={() => void revoke(t.id)} disabled={!online} aria-label={`Revoke token ${t.name}`}>
                    Revoke
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
