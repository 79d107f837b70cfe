import { lazy, Suspense } from "react";
import { Navigate, NavLink, Route, Routes, useLocation, useParams } from "react-router-dom";
import { OfflineBanner } from "./components/OfflineBanner";
import { lastTeam, rememberTeam } from "./lastTeam";
import { useOnline } from "./online";
import { AccountPage } from "./pages/AccountPage";
import { BoardsPage } from "./pages/BoardsPage";
import { ComparePage } from "./pages/ComparePage";
import { NoTeamPage } from "./pages/NoTeamPage";
import { RunsPage } from "./pages/RunsPage";
import { SignInPage } from "./pages/SignInPage";
import { TeamSettingsPage } from "./pages/TeamSettingsPage";
import { useSession } from "./session";

// The editor and run pages carry CodeMirror and React Flow: loaded when first opened.
const PipelinePage = lazy(() => import("./pages/PipelinePage"));
const RunPage = lazy(() => import("./pages/RunPage"));
const TracePage = lazy(() => import("./pages/TracePage"));

export function App() {
  const { me, checked } = useSession();
  const location = useLocation();
  if (!checked) return <p className="page">Loading…</p>;
  if (!me) {
    return (
      <>
        <OfflineBanner />
        {location.pathname === "/signin" ? <SignInPage /> : <Navigate to="/signin" replace state={{ from: location.pathname + location.search }} />}
      </>
    );
  }
  const firstTeam = me.teams[0]?.name;
  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <OfflineBanner />
      <Header />
      <main id="main" className="page">
        <Suspense fallback={<p>Loading…</p>}>
          <Routes>
            <Route path="/" element={firstTeam ? <Navigate to={`/t/${encodeURIComponent(firstTeam)}`} replace /> : <NoTeamPage />} />
            <Route path="/signin" element={<Navigate to="/" replace />} />
            <Route path="/account" element={<AccountPage />} />
            <Route path="/teams/new" element={<NoTeamPage />} />
            <Route path="/t/:team" element={<BoardsPage />} />
            <Route path="/t/:team/new" element={<PipelinePage />} />
            <Route path="/t/:team/p/:pipeline" element={<PipelinePage />} />
            <Route path="/t/:team/runs" element={<RunsPage />} />
            <Route path="/t/:team/compare" element={<ComparePage />} />
            <Route path="/t/:team/settings" element={<TeamSettingsPage />} />
            <Route path="/runs/:runId" element={<RunPage />} />
            <Route path="/runs/:runId/trace" element={<TracePage />} />
            <Route path="*" element={<p role="alert">No page here. <NavLink to="/">Go to your boards</NavLink>.</p>} />
          </Routes>
        </Suspense>
      </main>
    </>
  );
}

function Header() {
  const { me, signOut } = useSession();
  const online = useOnline();
  const params = useParams();
  const location = useLocation();
  const fromPath = /^\/t\/([^/]+)/.exec(location.pathname)?.[1];
  if (fromPath) rememberTeam(decodeURIComponent(fromPath));
  const team = params.team ?? (fromPath ? decodeURIComponent(fromPath) : lastTeam(me?.teams.map((t) => t.name) ?? []));
  const base = team ? `/t/${encodeURIComponent(team)}` : "";
  return (
    <header className="topbar">
      <NavLink to="/" className="brand" aria-label="Reefline home">
        <img src="/icons/icon-192.png" alt="" width={28} height={28} /> Reefline
      </NavLink>
      <nav aria-label="Main">
        {team && (
          <>
            <NavLink to={base} end>
              Boards
            </NavLink>
            <NavLink to={`${base}/runs`}>Runs</NavLink>
            <NavLink to={`${base}/settings`}>Team</NavLink>
          </>
        )}
        <NavLink to="/account">Account</NavLink>
      </nav>
      {me && me.teams.length > 1 && team && <TeamSwitch current={team} teams={me.teams.map((t) => t.name)} />}
      <span className="who">{me?.username}</span>
      <button type="button" onClick={() => void signOut()} disabled={!online} title={online ? undefined : "needs the network"}>
        Sign out
      </button>
    </header>
  );
}

function TeamSwitch({ current, teams }: { current: string; teams: string[] }) {
  return (
    <label className="team-switch">
      <span className="sr-only">Team</span>
      <select value={current} onChange={(e) => (window.location.href = `/t/${encodeURIComponent(e.target.value)}`)}>
        {teams.map((t) => (
          <option key={t}>{t}</option>
        ))}
      </select>
    </label>
  );
}
