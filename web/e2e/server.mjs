// A real `reefline server` on 127.0.0.1 with a fresh REEFLINE_HOME (SQLite), and a signed-in API
// session for setting up data the flow does not click through.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const PASSWORD = "correct horse battery staple";

function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.unref();
    probe.on("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

export async function startServer(bin = process.env.REEFLINE_BIN ?? "../.venv/bin/reefline") {
  const home = mkdtempSync(join(tmpdir(), "reefline-e2e-"));
  const env = { ...process.env, REEFLINE_HOME: home, REEFLINE_JOB_SLOTS: "4" };
  delete env.REEFLINE_DATABASE_URL;
  const made = spawnSync(bin, ["admin", "create-user", "alice", "--admin", "--password-stdin"], { env, input: `${PASSWORD}\n`, encoding: "utf8" });
  if (made.status !== 0) throw new Error(`create-user failed: ${made.stderr}`);
  const port = await freePort();
  const child = spawn(bin, ["server", "--port", String(port)], { env, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (chunk) => (stderr += chunk));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`reefline server exited: ${stderr}`);
    try {
      if ((await fetch(`${url}/api/health`)).ok) break;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) throw new Error(`reefline server did not start in 30 s: ${stderr}`);
    await new Promise((r) => setTimeout(r, 150));
  }
  return {
    url,
    home,
    stderr: () => stderr,
    async kill() {
      if (child.exitCode === null) {
        child.kill("SIGTERM");
        await new Promise((r) => child.once("exit", r));
      }
    },
    async stop() {
      await this.kill();
      rmSync(home, { recursive: true, force: true });
    },
  };
}

/** Signs in over the API (cookie + CSRF) for setting up data. */
export async function apiSession(url, username = "alice", password = PASSWORD) {
  const login = await fetch(`${url}/api/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ username, password }) });
  if (!login.ok) throw new Error(`login: ${login.status} ${await login.text()}`);
  const cookie = login.headers.get("set-cookie").split(";")[0];
  const { csrf_token: csrf } = await login.json();
  async function call(method, path, body) {
    const headers = { cookie, "x-csrf-token": csrf };
    let payload = body;
    if (body && !(body instanceof FormData)) {
      headers["content-type"] = "application/json";
      payload = JSON.stringify(body);
    }
    const response = await fetch(`${url}${path}`, { method, headers, body: payload });
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
    return response.status === 204 ? null : response.json();
  }
  return {
    call,
    async push(team, yaml, board) {
      const form = new FormData();
      form.append("spec", new Blob([yaml], { type: "application/yaml" }), "reefline.yaml");
      if (board) form.append("board", board);
      return call("POST", `/api/teams/${team}/pipelines`, form);
    },
  };
}
