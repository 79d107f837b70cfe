// The Reefline server's REST API (README "The server") over fetch, and its Server-Sent Events.
// No `vscode` import here, so the unit tests run on plain Node against a local HTTP server.

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: unknown = {},
  ) {
    super(message);
    this.name = "ApiError";
  }
}

export interface SseEvent {
  id: string | null;
  event: string;
  /** the data parsed as JSON, or the raw text if it is not JSON */
  data: unknown;
}

/** An incremental text/event-stream parser (WHATWG rules): feed it chunks as they arrive, in any
 * split; it returns the events completed so far. `lastEventId` is the id of the latest event. */
export class SseParser {
  lastEventId: string | null = null;
  retryMs: number | null = null;
  private buffer = "";
  private eventName = "";
  private data: string[] = [];
  private first = true;

  feed(chunk: string): SseEvent[] {
    if (this.first && chunk.length > 0) {
      if (chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1);
      this.first = false;
    }
    this.buffer += chunk;
    const events: SseEvent[] = [];
    for (;;) {
      const match = /\r\n|\r|\n/.exec(this.buffer);
      if (!match) break;
      // A lone \r at the very end may be the first half of \r\n: wait for the next chunk.
      if (match[0] === "\r" && match.index === this.buffer.length - 1) break;
      const line = this.buffer.slice(0, match.index);
      this.buffer = this.buffer.slice(match.index + match[0].length);
      const event = this.line(line);
      if (event) events.push(event);
    }
    return events;
  }

  private line(line: string): SseEvent | undefined {
    if (line === "") {
      const name = this.eventName || "message";
      const data = this.data;
      this.eventName = "";
      this.data = [];
      if (data.length === 0) return undefined;
      const text = data.join("\n");
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // not JSON: keep the text
      }
      return { id: this.lastEventId, event: name, data: parsed };
    }
    if (line.startsWith(":")) return undefined;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") this.eventName = value;
    else if (field === "data") this.data.push(value);
    else if (field === "id" && !value.includes("\0")) this.lastEventId = value;
    else if (field === "retry" && /^\d+$/.test(value)) this.retryMs = Number(value);
    return undefined;
  }
}

export interface FollowOptions {
  /** resume after this event id (sent as Last-Event-ID) */
  lastEventId?: string | null;
  signal?: AbortSignal;
  /** wait before reconnecting after a dropped connection (default: the stream's `retry:`, else 1 s) */
  reconnectDelayMs?: number;
  /** give up after this many reconnections in a row without a new event (default 30) */
  maxReconnects?: number;
  /** a stream silent this long is taken as dropped (the server sends a keepalive every 15 s) */
  idleTimeoutMs?: number;
}

export interface FollowResult {
  /** the `end` event's data ({state}), or null if stopped through the signal */
  end: unknown;
  lastEventId: string | null;
  reconnects: number;
}

type Fetch = typeof fetch;

export interface ClientOptions {
  fetch?: Fetch;
  timeoutMs?: number;
}

export interface RunStart {
  params?: Record<string, string>;
  revision?: number;
  noCache?: boolean;
}

export class ApiClient {
  readonly baseUrl: string;
  private readonly fetchImpl: Fetch;
  private readonly timeoutMs: number;

  constructor(
    baseUrl: string,
    private token?: string,
    options: ClientOptions = {},
  ) {
    this.baseUrl = baseUrl.replace(/\/+$/, "");
    this.fetchImpl = options.fetch ?? fetch;
    this.timeoutMs = options.timeoutMs ?? 30_000;
  }

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    const headers: Record<string, string> = { Accept: "application/json", ...extra };
    if (this.token) headers["Authorization"] = `Bearer ${this.token}`;
    return headers;
  }

  private url(path: string, query: Record<string, string | number | undefined> = {}): string {
    const url = new URL(this.baseUrl + path);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, String(v));
    return url.toString();
  }

  /** One request; answers the JSON body, or throws ApiError with the server's message. */
  async request(
    method: string,
    path: string,
    options: { body?: unknown; query?: Record<string, string | number | undefined>; headers?: Record<string, string> } = {},
  ): Promise<unknown> {
    const init: RequestInit = {
      method,
      headers: this.headers(options.body !== undefined ? { "Content-Type": "application/json", ...options.headers } : options.headers),
      signal: AbortSignal.timeout(this.timeoutMs),
    };
    if (options.body !== undefined) init.body = JSON.stringify(options.body);
    let response: Response;
    try {
      response = await this.fetchImpl(this.url(path, options.query), init);
    } catch (e) {
      throw new ApiError(0, "unreachable", `cannot reach the Reefline server at ${this.baseUrl}: ${causeOf(e)}`);
    }
    return decoded(response);
  }

  health(): Promise<unknown> {
    return this.request("GET", "/api/health");
  }

  me(): Promise<unknown> {
    return this.request("GET", "/api/me");
  }

  /** Signs in with a password and creates a personal API token named `tokenName`; answers its secret
   * (the session used for it is closed again). */
  async createTokenWithPassword(username: string, password: string, tokenName: string): Promise<string> {
    let response: Response;
    try {
      response = await this.fetchImpl(this.url("/api/auth/login"), {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ username, password }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (e) {
      throw new ApiError(0, "unreachable", `cannot reach the Reefline server at ${this.baseUrl}: ${causeOf(e)}`);
    }
    const login = (await decoded(response)) as { csrf_token?: string };
    const cookie = sessionCookie(response.headers);
    if (!cookie || !login.csrf_token) throw new ApiError(response.status, "bad_response", "the server did not open a session");
    const session = { Cookie: cookie, "X-CSRF-Token": login.csrf_token };
    try {
      const created = (await this.request("POST", "/api/me/tokens", { body: { name: tokenName }, headers: session })) as {
        secret?: string;
      };
      if (!created.secret) throw new ApiError(201, "bad_response", "the server answered no token");
      return created.secret;
    } finally {
      await this.request("POST", "/api/auth/logout", { headers: session }).catch(() => undefined);
    }
  }

  validate(text: string, file = "reefline.yaml"): Promise<unknown> {
    return this.request("POST", "/api/validate", { body: { text, file } });
  }

  runs(team: string, options: { pipeline?: string; limit?: number } = {}): Promise<unknown> {
    return this.request("GET", `/api/teams/${enc(team)}/runs`, {
      query: { pipeline: options.pipeline, limit: options.limit },
    });
  }

  run(runId: number): Promise<unknown> {
    return this.request("GET", `/api/runs/${runId}`);
  }

  startRun(team: string, pipeline: string, options: RunStart = {}): Promise<unknown> {
    const body: Record<string, unknown> = { params: options.params ?? {} };
    if (options.revision !== undefined) body["revision"] = options.revision;
    if (options.noCache) body["no_cache"] = true;
    return this.request("POST", `/api/teams/${enc(team)}/pipelines/${enc(pipeline)}/runs`, { body });
  }

  cancel(runId: number): Promise<unknown> {
    return this.request("POST", `/api/runs/${runId}/cancel`);
  }

  retry(runId: number): Promise<unknown> {
    return this.request("POST", `/api/runs/${runId}/retry`, { body: {} });
  }

  logs(runId: number, options: { job?: string; after?: number; limit?: number } = {}): Promise<unknown> {
    return this.request("GET", `/api/runs/${runId}/logs`, { query: options });
  }

  /** Follows the run's events until `end` (or the signal), calling `onEvent` once per event:
   * after a dropped connection it reconnects with Last-Event-ID, so nothing is missed or repeated. */
  async followEvents(runId: number, onEvent: (event: SseEvent) => void, options: FollowOptions = {}): Promise<FollowResult> {
    let last = options.lastEventId ?? null;
    let reconnects = 0;
    let failuresInARow = 0;
    const maxReconnects = options.maxReconnects ?? 30;
    const idleTimeoutMs = options.idleTimeoutMs ?? 60_000;
    let retryMs = options.reconnectDelayMs ?? null;
    for (;;) {
      if (options.signal?.aborted) return { end: null, lastEventId: last, reconnects };
      const connection = new AbortController();
      const abort = (): void => connection.abort();
      options.signal?.addEventListener("abort", abort);
      let idle: NodeJS.Timeout | undefined;
      const touch = (): void => {
        clearTimeout(idle);
        idle = setTimeout(abort, idleTimeoutMs);
      };
      const parser = new SseParser();
      parser.lastEventId = last;
      let progressed = false;
      try {
        touch();
        const response = await this.fetchImpl(this.url(`/api/runs/${runId}/events`), {
          headers: this.headers(last ? { Accept: "text/event-stream", "Last-Event-ID": last } : { Accept: "text/event-stream" }),
          signal: connection.signal,
        });
        if (response.status >= 400 && response.status < 500) await decoded(response);
        if (response.status !== 200 || !response.body) throw new Error(`HTTP ${response.status}`);
        const decoder = new TextDecoder();
        for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
          touch();
          for (const event of parser.feed(decoder.decode(chunk, { stream: true }))) {
            last = event.id;
            progressed = true;
            onEvent(event);
            if (event.event === "end") return { end: event.data, lastEventId: last, reconnects };
          }
        }
        if (parser.retryMs !== null && options.reconnectDelayMs === undefined) retryMs = parser.retryMs;
      } catch (e) {
        if (e instanceof ApiError) throw e;
        if (options.signal?.aborted) return { end: null, lastEventId: last, reconnects };
        if (parser.retryMs !== null && options.reconnectDelayMs === undefined) retryMs = parser.retryMs;
      } finally {
        clearTimeout(idle);
        options.signal?.removeEventListener("abort", abort);
      }
      failuresInARow = progressed ? 0 : failuresInARow + 1;
      if (failuresInARow > maxReconnects) {
        throw new ApiError(0, "unreachable", `lost the event stream of run ${runId} (${this.baseUrl}); gave up after ${maxReconnects} tries`);
      }
      reconnects += 1;
      await sleep(retryMs ?? 1000, options.signal);
    }
  }
}

function enc(part: string): string {
  return encodeURIComponent(part);
}

function causeOf(e: unknown): string {
  const err = e as { cause?: { code?: string; message?: string }; message?: string };
  return err.cause?.code ?? err.cause?.message ?? err.message ?? String(e);
}

async function decoded(response: Response): Promise<unknown> {
  const kind = response.headers.get("content-type") ?? "";
  const text = await response.text();
  let body: unknown = text;
  if (kind.startsWith("application/json") && text) {
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
  }
  if (response.status >= 400) {
    const error = (typeof body === "object" && body !== null ? (body as { error?: Record<string, unknown> }).error : undefined) ?? {};
    throw new ApiError(
      response.status,
      typeof error["code"] === "string" ? error["code"] : "error",
      typeof error["message"] === "string" ? error["message"] : `HTTP ${response.status}`,
      error["details"] ?? {},
    );
  }
  return response.status === 204 ? null : body;
}

function sessionCookie(headers: Headers): string | undefined {
  const withList = headers as Headers & { getSetCookie?: () => string[] };
  const all = withList.getSetCookie ? withList.getSetCookie() : (headers.get("set-cookie") ?? "").split(/,(?=\s*[A-Za-z0-9_]+=)/);
  const found = all.map((c) => c.trim().split(";")[0]).find((c) => c.startsWith("reefline_session="));
  return found;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done);
  });
}

