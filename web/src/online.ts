import { useSyncExternalStore } from "react";

// "Online" means the browser has a network AND the server answered the last call: a dropped
// connection or a stopped server shows the offline banner as well.
let serverReachable = true;
const listeners = new Set<() => void>();
let probe: number | undefined;

function notify(): void {
  for (const listener of listeners) listener();
}

/** Called by the API client after each call: false when the network failed or the service worker
 *  answered from its cache because the server could not be reached. */
export function reportServerReachable(reachable: boolean): void {
  if (reachable === serverReachable) return;
  serverReachable = reachable;
  notify();
  window.clearInterval(probe);
  if (!reachable) {
    // Ask again every few seconds; the first answer from the server ends the offline state.
    probe = window.setInterval(() => {
      fetch("/api/health", { cache: "no-store" })
        .then((r) => reportServerReachable(r.ok && r.headers.get("x-reefline-cache") !== "offline"))
        .catch(() => undefined);
    }, 3000);
  }
}

function subscribe(callback: () => void): () => void {
  listeners.add(callback);
  window.addEventListener("online", callback);
  window.addEventListener("offline", callback);
  return () => {
    listeners.delete(callback);
    window.removeEventListener("online", callback);
    window.removeEventListener("offline", callback);
  };
}

export function isOnline(): boolean {
  return navigator.onLine && serverReachable;
}

/** Whether the server can be reached; actions that need it are disabled without it. */
export function useOnline(): boolean {
  return useSyncExternalStore(subscribe, isOnline, () => true);
}
