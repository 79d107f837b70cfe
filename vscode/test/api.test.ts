// The API client against a real HTTP server started by the test (no vscode module needed).
import assert from "node:assert/strict";
import * as http from "node:http";
import { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { ApiClient, ApiError, SseEvent, SseParser } from "../src/api";
import { followServerLog } from "../src/logStream";

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, body: string) => void;

async function serve(handler: Handler): Promise<{ url: string; close: () => Promise<void> }> {
  const sockets = new Set<import("node:net").Socket>();
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => handler(req, res, body));
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        sockets.forEach((s) => s.destroy());
        server.close(() => resolve());
      }),
  };
}

function json(res: http.ServerResponse, status: number, value: unknown, headers: Record<string, string | string[]> = {}): void {
  res.writeHead(status, { "Content-Type": "application/json", ...headers });
  res.end(JSON.stringify(value));
}

function frame(id: string, event: string, data: unknown): string {
  return `id: ${id}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

describe("SseParser", () => {
  const stream =
    "\ufeffretry: 2000\n\n: keepalive\n\n" +
    frame("1.0", "state", { job: null, from: null, to: "running" }) +
    "id: 1.5\r\nevent: log\r\ndata: {\"job\": \"a\",\r\ndata:  \"text\": \"x\"}\r\n\r\n" +
    "data: plain text\rdata: second\r\r" +
    frame("2.5", "end", { state: "success" });
  const expected: SseEvent[] = [
    { id: "1.0", event: "state", data: { job: null, from: null, to: "running" } },
    { id: "1.5", event: "log", data: { job: "a", text: "x" } },
    { id: "1.5", event: "message", data: "plain text\nsecond" },
    { id: "2.5", event: "end", data: { state: "success" } },
  ];

  it("parses a whole stream: ids, names, multi-line data, comments, CRLF and CR, a BOM, retry", () => {
    const parser = new SseParser();
    assert.deepEqual(parser.feed(stream), expected);
    assert.equal(parser.retryMs, 2000);
    assert.equal(parser.lastEventId, "2.5");
  });

  it("gives the same events however the stream is split into chunks", () => {
    for (const size of [1, 2, 3, 7, 50]) {
      const parser = new SseParser();
      const events: SseEvent[] = [];
      for (let i = 0; i < stream.length; i += size) events.push(...parser.feed(stream.slice(i, i + size)));
      assert.deepEqual(events, expected, `chunks of ${size}`);
    }
  });

  it("keeps an event without its blank line for later", () => {
    const parser = new SseParser();
    assert.deepEqual(parser.feed('event: log\ndata: {"text": "a"}\n'), []);
    assert.deepEqual(parser.feed("\n"), [{ id: null, event: "log", data: { text: "a" } }]);
  });
});

describe("ApiClient", () => {
  let server: { url: string; close: () => Promise<void> };
  const seen: { path: string; auth?: string; lastEventId?: string }[] = [];
  let eventConnections = 0;
  let loggedOut = false;

  before(async () => {
    server = await serve((req, res, body) => {
      const url = new URL(req.url ?? "/", "http://x");
      seen.push({
        path: url.pathname + url.search,
        auth: req.headers.authorization,
        lastEventId: req.headers["last-event-id"] as string | undefined,
      });
      if (url.pathname === "/api/teams/research/runs" && req.method === "GET") {
        return json(res, 200, [
          { id: 3, pipeline: "iris", state: "running", trigger: "api", reason: null, params: {}, spec_path: "reefline.yaml",
            revision_id: 1, triggered_by: 1, created_at: "2025-01-31T10:00:00+00:00", started_at: "2025-01-31T10:00:01+00:00",
            last_started_at: "2025-01-31T10:00:01+00:00", finished_at: null, duration: null },
        ]);
      }
      if (url.pathname === "/api/teams/research/pipelines/iris/runs" && req.method === "POST") {
        const sent = JSON.parse(body) as { params: Record<string, string> };
        return json(res, 201, { id: 4, pipeline: "iris", state: "queued", trigger: "api", reason: null,
          params: sent.params, spec_path: "reefline.yaml", revision_id: 1, triggered_by: 1,
          created_at: "2025-01-31T10:00:00+00:00", started_at: null, last_started_at: null, finished_at: null, duration: null });
      }
      if (url.pathname === "/api/runs/99") {
        return json(res, 404, { error: { code: "not_found", message: "no run 99", details: { run: 99 } } });
      }
      if (url.pathname === "/api/auth/login") {
        const { username, password } = JSON.parse(body) as { username: string; password: string };
        if (username !== "alice" || password !== "s3cret") {
          return json(res, 401, { error: { code: "unauthenticated", message: "wrong username or password", details: {} } });
        }
        return json(res, 200, { user: { id: 1, name: "alice" }, csrf_token: "csrf-1" }, {
          "Set-Cookie": ["reefline_session=sess-1; HttpOnly; Path=/; SameSite=strict"],
        });
      }
      if (url.pathname === "/api/me/tokens" && req.method === "POST") {
        if (req.headers.cookie !== "reefline_session=sess-1" || req.headers["x-csrf-token"] !== "csrf-1") {
          return json(res, 403, { error: { code: "forbidden", message: "missing or wrong x-csrf-token header", details: {} } });
        }
        const { name } = JSON.parse(body) as { name: string };
        return json(res, 201, { token: { id: 1, name }, secret: "rl_secret" });
      }
      if (url.pathname === "/api/auth/logout") {
        loggedOut = req.headers.cookie === "reefline_session=sess-1";
        res.writeHead(204);
        return res.end();
      }
      if (url.pathname === "/api/runs/7/events") {
        eventConnections += 1;
        res.writeHead(200, { "Content-Type": "text/event-stream" });
        const last = req.headers["last-event-id"];
        if (!last) {
          // The first connection drops after three events, in the middle of a fourth one.
          res.write("retry: 10\n\n");
          res.write(frame("1.0", "state", { job: null, from: "pending", to: "running", at: 1700000001, reason: null, attempt: null }));
          res.write(frame("1.1", "log", { job: "train[model=tree]", attempt: 1, seq: 1, ts: 1, stream: "stdout", text: "epoch 1" }));
          res.write(frame("1.2", "log", { job: "prepare", attempt: 1, seq: 1, ts: 1, stream: "stdout", text: "rows: 150" }));
          res.write('id: 1.3\nevent: log\ndata: {"job": "train[model=tree]", "te');
          setTimeout(() => req.socket.destroy(), 20);
          return;
        }
        assert.equal(last, "1.2");
        res.write(frame("1.3", "log", { job: "train[model=tree]", attempt: 1, seq: 2, ts: 2, stream: "stdout", text: "epoch 2" }));
        res.write(frame("2.3", "state", { job: null, from: "running", to: "success", at: 1700000009, reason: null, attempt: null }));
        res.end(frame("2.3", "end", { state: "success" }));
        return;
      }
      if (url.pathname === "/api/runs/8/events") {
        // Says nothing at all: the client must take it as a dropped connection and come back.
        eventConnections += 1;
        res.writeHead(200, { "Content-Type": "text/event-stream" });
        if (req.headers["last-event-id"] === "5.5") res.end(frame("5.5", "end", { state: "failed" }));
        else if (eventConnections > 1) res.end(frame("5.5", "end", { state: "failed" }));
        return;
      }
      if (url.pathname === "/api/runs/9/events") {
        res.writeHead(200, { "Content-Type": "text/event-stream" });
        res.write(": keepalive\n\n");
        return; // a run that goes on and on
      }
      json(res, 404, { error: { code: "not_found", message: `no route ${url.pathname}`, details: {} } });
    });
  });

  after(async () => {
    await server.close();
  });

  it("sends the token as a bearer header and reads a team's runs", async () => {
    const api = new ApiClient(server.url + "/", "rl_abc");
    const runs = (await api.runs("research", { limit: 5 })) as { id: number }[];
    assert.deepEqual(runs.map((r) => r.id), [3]);
    const request = seen.find((s) => s.path === "/api/teams/research/runs?limit=5");
    assert.equal(request?.auth, "Bearer rl_abc");
  });

  it("starts a run with its params", async () => {
    const api = new ApiClient(server.url, "rl_abc");
    const run = (await api.startRun("research", "iris", { params: { max_depth: "2" } })) as { id: number; params: unknown };
    assert.equal(run.id, 4);
    assert.deepEqual(run.params, { max_depth: "2" });
  });

  it("turns an error answer into an ApiError with the server's code and message", async () => {
    const api = new ApiClient(server.url, "rl_abc");
    await assert.rejects(api.run(99), (e: unknown) => {
      assert.ok(e instanceof ApiError);
      assert.equal(e.status, 404);
      assert.equal(e.code, "not_found");
      assert.equal(e.message, "no run 99");
      assert.deepEqual(e.details, { run: 99 });
      return true;
    });
  });

  it("says which server it cannot reach", async () => {
    const api = new ApiClient("http://127.0.0.1:9", "rl_abc", { timeoutMs: 2000 });
    await assert.rejects(api.health(), (e: unknown) => e instanceof ApiError && e.code === "unreachable" && /127\.0\.0\.1:9/.test(e.message));
  });

  it("creates a personal token with a password through a session with its CSRF token, then signs out", async () => {
    const api = new ApiClient(server.url);
    assert.equal(await api.createTokenWithPassword("alice", "s3cret", "vscode"), "rl_secret");
    assert.ok(loggedOut);
    await assert.rejects(api.createTokenWithPassword("alice", "wrong", "vscode"), /wrong username or password/);
  });

  it("follows events across a dropped connection with Last-Event-ID: each event once, in order", async () => {
    const api = new ApiClient(server.url, "rl_abc");
    const before = eventConnections;
    const events: SseEvent[] = [];
    const result = await api.followEvents(7, (e) => events.push(e));
    assert.deepEqual(events.map((e) => [e.id, e.event]), [
      ["1.0", "state"], ["1.1", "log"], ["1.2", "log"], ["1.3", "log"], ["2.3", "state"], ["2.3", "end"],
    ]);
    assert.deepEqual(result.end, { state: "success" });
    assert.equal(result.reconnects, 1);
    assert.equal(eventConnections - before, 2);
    const resumed = seen.filter((s) => s.path === "/api/runs/7/events").map((s) => s.lastEventId);
    assert.deepEqual(resumed.slice(-2), [undefined, "1.2"]);
  });

  it("resumes from a given event id", async () => {
    const api = new ApiClient(server.url, "rl_abc");
    const events: SseEvent[] = [];
    await api.followEvents(7, (e) => events.push(e), { lastEventId: "1.2" });
    assert.deepEqual(events.map((e) => e.id), ["1.3", "2.3", "2.3"]);
  });

  it("takes a silent stream as dropped and reconnects", async () => {
    const api = new ApiClient(server.url, "rl_abc");
    eventConnections = 0;
    const result = await api.followEvents(8, () => undefined, { idleTimeoutMs: 200, reconnectDelayMs: 10 });
    assert.deepEqual(result.end, { state: "failed" });
    assert.equal(result.reconnects, 1);
  });

  it("does not retry an answer that is an error (a run of another team, a bad token)", async () => {
    const api = new ApiClient(server.url, "rl_abc");
    await assert.rejects(api.followEvents(123, () => undefined), (e: unknown) => e instanceof ApiError && e.status === 404);
  });

  it("stops following when aborted", async () => {
    const api = new ApiClient(server.url, "rl_abc");
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const result = await api.followEvents(9, () => undefined, { signal: controller.signal, idleTimeoutMs: 60_000 });
    assert.equal(result.end, null);
  });

  it("streams one job's log lines (a matrix job's expansions prefixed) and reports the end state", async () => {
    const api = new ApiClient(server.url, "rl_abc");
    const lines: string[] = [];
    const states: unknown[] = [];
    const end = await followServerLog(api, 7, "train", (l) => lines.push(l), undefined, (s) => states.push(s)).done;
    assert.deepEqual(lines, ["train[model=tree] | epoch 1", "train[model=tree] | epoch 2"]);
    assert.equal(end, "success");
    assert.deepEqual(states.map((s) => (s as { to: string }).to), ["running", "success"]);
    const all: string[] = [];
    await followServerLog(api, 7, undefined, (l) => all.push(l)).done;
    assert.deepEqual(all, ["train[model=tree] | epoch 1", "prepare | rows: 150", "train[model=tree] | epoch 2"]);
  });
});
