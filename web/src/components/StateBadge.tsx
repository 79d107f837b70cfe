export const ACTIVE_STATES = new Set(["queued", "pending", "running", "canceling"]);

export function StateBadge({ state }: { state: string }) {
  return <span className={`state state-${state}`}>{state}</span>;
}
