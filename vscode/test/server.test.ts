// The API client, ServerSource and the SSE log follower against a real `reefline server` (this
// repository's venv; REEFLINE_BIN for another) on SQLite in a temporary REEFLINE_HOME.
import assert from "node:assert/strict";
import { ChildProcess, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { ApiClient, ApiError, SseEvent } from "../src/api";
import { followServerLog } from "../src/logStream";
import { isActive } from "../src/runsModel";
import { ServerSource } from "../src/sources";

const bin = process.env.REEFLINE_BIN ?? path.resolve(__dirname, "../../../.venv/bin/reefline");
const haveCli = fs.existsSync(bin);
const PASSWORD = "correct-horse-battery-9";

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

describe("a real reefline server", { skip: haveCli ? false : `no reefline at ${bin} (set REEFLINE_BIN)` }, () => {
  let home = "";
  let project = "";
  let server: ChildProcess | undefined;
  let url = "";
  let api: ApiClient;
  let source: ServerSource;
  const env = (): NodeJS.ProcessEnv => {
    const e: NodeJS.ProcessEnv = { ...process.env, REEFLINE_HOME: home, NO_COLOR: "1" };
    delete e.REEFLINE_DATABASE_URL;
    delete e.REEFLINE_SERVER;
    delete e.REEFLINE_TOKEN;
    return e;
  };
  const cli = (args: string[], extra: NodeJS.ProcessEnv = {}, input?: string): string => {
    const r = spawnSync(bin, args, { cwd: project, env: { ...env(), ...extra }, input, encoding: "utf8", timeout: 60_000 });
    assert.equal(r.status, 0, `reefline ${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
  };

  before(async () => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), "reefline-vscode-home-"));
    project = fs.mkdtempSync(path.join(os.tmpdir(), "reefline-vscode-project-"));
    fs.writeFileSync(
      path.join(project, "reefline.yaml"),
      "version: 1\nname: tiny\nparams:\n  naps: {type: int, default: 0}\njobs:\n" +
        "  hello:\n    script:\n      - echo hi there; echo second line\n" +
        "  after:\n    needs: [hello]\n    script:\n      - sleep ${{ params.naps }}; echo done\n",
    );
    cli(["admin", "create-user", "alice", "--admin", "--password-stdin"], {}, `${PASSWORD}\n`);
    cli(["admin", "create-team", "research", "--owner", "alice"]);
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    server = spawn(bin, ["server", "--host", "127.0.0.1", "--port", String(port), "--job-slots", "2"], {
      cwd: home,
      env: env(),
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    server.stderr?.on("data", (c) => (stderr += c));
    const deadline = Date.now() + 60_000;
    for (;;) {
      try {
        await new ApiClient(url, undefined, { timeoutMs: 2000 }).health();
        break;
      } catch {
        if (Date.now() > deadline || server.exitCode !== null) throw new Error(`the server did not start: ${stderr}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    const token = await new ApiClient(url).createTokenWithPassword("alice", PASSWORD, "vscode test");
    api = new ApiClient(url, token);
    source = new ServerSource(api, "research");
    cli(["push", "--team", "research", "--board", "ml", "-m", "first"], { REEFLINE_SERVER: url, REEFLINE_TOKEN: token });
  });

  after(async () => {
    if (server && server.exitCode === null) {
      const exited = new Promise((resolve) => server!.once("exit", resolve));
      server.kill("SIGTERM");
      const timer = setTimeout(() => server!.kill("SIGKILL"), 15_000);
      await exited;
      clearTimeout(timer);
    }
    fs.rmSync(home, { recursive: true, force: true });
    fs.rmSync(project, { recursive: true, force: true });
  });

  it("signs in with the token it created", async () => {
    const me = (await api.me()) as { name?: string; username?: string };
    assert.equal(me.name ?? me.username, "alice");
    await assert.rejects(new ApiClient(url, "rl_not-a-token").me(), (e: unknown) => e instanceof ApiError && e.status === 401);
  });

  it("starts a run, streams its log live to the end, and shows it in the runs and its jobs", async () => {
    const run = await source.start("tiny");
    assert.ok(isActive(run.state), run.state);
    const lines: string[] = [];
    const end = await followServerLog(api, run.id, undefined, (l) => lines.push(l)).done;
    assert.equal(end, "success");
    assert.deepEqual(lines, ["hello | hi there", "hello | second line", "after | done"]);
    const [listed] = await source.listRuns(5);
    assert.equal(listed.id, run.id);
    assert.equal(listed.state, "success");
    assert.ok(listed.duration !== null && listed.duration >= 0);
    const detail = await source.runDetail(run.id);
    assert.deepEqual(detail.jobs.map((j) => [j.name, j.state, j.attempts]), [["hello", "success", 1], ["after", "success", 1]]);
    const one: string[] = [];
    await followServerLog(api, run.id, "hello", (l) => one.push(l)).done;
    assert.deepEqual(one, ["hi there", "second line"]);
  });

  it("resumes the event stream after any event id with exactly what came after it", async () => {
    const [run] = await source.listRuns(1);
    const all: SseEvent[] = [];
    await api.followEvents(run.id, (e) => all.push(e));
    assert.equal(all[all.length - 1].event, "end");
    for (const k of [0, 2, all.length - 2]) {
      const rest: SseEvent[] = [];
      await api.followEvents(run.id, (e) => rest.push(e), { lastEventId: all[k].id });
      assert.deepEqual(rest.map((e) => [e.id, e.event]), all.slice(k + 1).map((e) => [e.id, e.event]), `after event ${k}`);
    }
  });

  it("cancels a running run", async () => {
    const run = await source.start("tiny", { naps: "30" });
    const states: string[] = [];
    const follow = followServerLog(api, run.id, undefined, () => undefined, undefined, (s) => {
      const data = s as { job: string | null; to: string };
      states.push(`${data.job ?? "run"}:${data.to}`);
    });
    const deadline = Date.now() + 30_000;
    while (!states.includes("after:running")) {
      assert.ok(Date.now() < deadline, `never running: ${states.join(", ")}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.match(await source.cancel(run.id), new RegExp(`asked run ${run.id} to cancel`));
    assert.equal(await follow.done, "canceled");
    assert.equal((await source.runDetail(run.id)).jobs.find((j) => j.name === "after")?.state, "canceled");
  });
});
