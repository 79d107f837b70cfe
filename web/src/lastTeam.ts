const LAST_TEAM = "reefline.team";

export function rememberTeam(team: string): void {
  localStorage.setItem(LAST_TEAM, team);
}

/** The team the user last looked at (pages without a team in their path, like a run's, use it). */
export function lastTeam(teams: string[]): string | undefined {
  const last = localStorage.getItem(LAST_TEAM);
  return last && teams.includes(last) ? last : teams[0];
}
