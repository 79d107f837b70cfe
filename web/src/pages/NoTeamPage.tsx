import { useState, type FormEvent } from "react";
import { api, messageOf, unwrap } from "../api/client";
import { ErrorNote } from "../components/ErrorNote";
import { useOnline } from "../online";
import { useSession } from "../session";

export function NoTeamPage() {
  const { me, refresh } = useSession();
  const online = useOnline();
  const [name, setName] = useState("");
  const [error, setError] = useState<string | null>(null);

  async function create(event: FormEvent) {
    event.preventDefault();
    try {
      unwrap(await api.POST("/api/teams", { body: { name } }));
      await refresh();
      window.location.assign(`/t/${encodeURIComponent(name)}`);
    } catch (e) {
      setError(messageOf(e));
    }
  }

  return (
    <section aria-labelledby="team-title">
      <h1 id="team-title">{me?.teams.length ? "New team" : "You are in no team yet"}</h1>
      <p>Pipelines, boards and runs belong to a team. Create one, or ask a team admin to add you.</p>
      <form onSubmit={create} className="row">
        <label>
          Team name
          <input value={name} onChange={(e) => setName(e.target.value)} required pattern="[A-Za-z0-9][A-Za-z0-9._\-]*" />
        </label>
        <button type="submit" className="primary" disabled={!online}>
          Create team
        </button>
      </form>
      <ErrorNote error={error} />
    </section>
  );
}
