import { useState, type FormEvent } from "react";
import { useLocation, useNavigate } from "react-router-dom";
import { messageOf } from "../api/client";
import { ErrorNote } from "../components/ErrorNote";
import { useOnline } from "../online";
import { useSession } from "../session";

export function SignInPage() {
  const { signIn } = useSession();
  const online = useOnline();
  const navigate = useNavigate();
  const location = useLocation();
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await signIn(username, password);
      const from = (location.state as { from?: string } | null)?.from;
      navigate(from && from !== "/signin" ? from : "/", { replace: true });
    } catch (e) {
      setError(messageOf(e));
    } finally {
      setBusy(false);
    }
  }

  return (
    <main id="main" className="signin">
      <form onSubmit={submit} aria-labelledby="signin-title">
        <h1 id="signin-title">
          <img src="/icons/icon-192.png" alt="" width={40} height={40} /> Sign in to Reefline
        </h1>
        <label>
          Username
          <input name="username" autoComplete="username" value={username} onChange={(e) => setUsername(e.target.value)} required autoFocus />
        </label>
        <label>
          Password
          <input name="password" type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} required />
        </label>
        <ErrorNote error={error} />
        <button type="submit" className="primary" disabled={busy || !online}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
        <p className="muted">
          No account? An admin creates one: <code>reefline admin create-user NAME</code>.
        </p>
      </form>
    </main>
  );
}
