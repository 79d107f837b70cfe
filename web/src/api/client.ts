// The typed API client: openapi-fetch over the types generated from the server's OpenAPI document
// (schema.d.ts, `make web-api`). Changes made with the session cookie carry the CSRF token.
import createClient, { type Middleware } from "openapi-fetch";
import { reportServerReachable } from "../online";
import type { components, paths } from "./schema";

export type Schemas = components["schemas"];

const CSRF_KEY = "reefline.csrf";
const SAFE = new Set(["GET", "HEAD", "OPTIONS"]);

export function rememberCsrf(token: string | null): void {
  if (token) localStorage.setItem(CSRF_KEY, token);
  else localStorage.removeItem(CSRF_KEY);
}

export function hasCsrf(): boolean {
  return localStorage.getItem(CSRF_KEY) !== null;
}

const csrf: Middleware = {
  onRequest({ request }) {
    const token = localStorage.getItem(CSRF_KEY);
    if (token && !SAFE.has(request.method)) request.headers.set("X-CSRF-Token", token);
    return request;
  },
};

// The service worker marks an answer it took from its cache because the server was unreachable.
const reachability: Middleware = {
  onResponse({ response }) {
    reportServerReachable(response.headers.get("x-reefline-cache") !== "offline");
    return response;
  },
  onError({ error }) {
    reportServerReachable(false);
    return error instanceof Error ? error : new Error(String(error));
  },
};

export const api = createClient<paths>({ baseUrl: globalThis.location?.origin ?? "http://localhost", credentials: "same-origin" });
api.use(csrf, reachability);

/** A failed API call, with the server's one error shape (`{"error": {code, message, details}}`). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: unknown = {},
  ) {
    super(message);
  }
}

type Result<T> = { data?: T; error?: unknown; response: Response };

/** The data of a call, or an ApiError carrying the server's message. */
export function unwrap<T>(result: Result<T>): T {
  if (result.error !== undefined || !result.response.ok) {
    const body = result.error as { error?: { code?: string; message?: string; details?: unknown } } | undefined;
    const detail = body?.error;
    throw new ApiError(
      result.response.status,
      detail?.code ?? "error",
      detail?.message ?? `${result.response.status} ${result.response.statusText}`,
      detail?.details,
    );
  }
  return result.data as T;
}

/** The message to show for anything a call threw (a network failure reads as offline). */
export function messageOf(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof TypeError) return "the server cannot be reached (offline?)";
  return String(error);
}
