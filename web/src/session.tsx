import { createContext, useCallback, useContext, useEffect, useState, type ReactNode } from "react";
import { api, hasCsrf, rememberCsrf, unwrap, type Schemas } from "./api/client";

type Me = Schemas["MeOut"];

interface Session {
  me: Me | null;
  checked: boolean;
  signIn: (username: string, password: string) => Promise<void>;
  signOut: () => Promise<void>;
  refresh: () => Promise<void>;
}

const SessionContext = createContext<Session | null>(null);

export function SessionProvider({ children }: { children: ReactNode }) {
  const [me, setMe] = useState<Me | null>(null);
  const [checked, setChecked] = useState(false);

  const refresh = useCallback(async () => {
    // No CSRF token kept: this browser has not signed in, so asking /me would only log a 401.
    if (!hasCsrf()) {
      setMe(null);
      setChecked(true);
      return;
    }
    try {
      const result = await api.GET("/api/me");
      setMe(result.response.ok ? (result.data ?? null) : null);
      if (result.response.status === 401) rememberCsrf(null);
    } catch {
      setMe(null);
    } finally {
      setChecked(true);
    }
  }, []);

  useEffect(() => {
    void refresh();
  }, [refresh]);

  const signIn = useCallback(async (username: string, password: string) => {
    const out = unwrap(await api.POST("/api/auth/login", { body: { username, password } }));
    rememberCsrf(out.csrf_token);
    setMe(out.user);
  }, []);

  const signOut = useCallback(async () => {
    try {
      await api.POST("/api/auth/logout");
    } finally {
      rememberCsrf(null);
      navigator.serviceWorker?.controller?.postMessage("signed-out");
      setMe(null);
    }
  }, []);

  return <SessionContext.Provider value={{ me, checked, signIn, signOut, refresh }}>{children}</SessionContext.Provider>;
}

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error("useSession outside SessionProvider");
  return session;
}
