// The CLI's command lines and `--json` outputs; the last tests run the real `reefline` of this
// repository's venv (REEFLINE_BIN to use another) on a tiny pipeline in a temporary folder.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { CliError, findExecutable, diagnosticRange, diagnosticText, errorLine, exec, execJson, invocation, parseValidation, runArgs } from "../src/cli";
import { followLocalLog, LineSplitter } from "../src/logStream";
import { LocalSource } from "../src/sources";

describe("command lines", () => {
  it("starts `reefline` from the path setting, or `python -m reefline.cli.main` from a Python", () => {
    assert.deepEqual(invocation({ path: "reefline", pythonPath: "" }, ["runs", "--json"]), { command: "reefline", args: ["runs", "--json"] });
    assert.deepEqual(invocation({ path: "", pythonPath: "" }, ["lsp"]), { command: "reefline", args: ["lsp"] });
    assert.deepEqual(invocation({ path: "reefline", pythonPath: ".venv/bin/python" }, ["lsp"], "/ws"), {
      command: path.join("/ws", ".venv/bin/python"),
      args: ["-m", "reefline.cli.main", "lsp"],
    });
    assert.equal(invocation({ path: "/opt/bin/reefline", pythonPath: "" }, [], "/ws").command, "/opt/bin/reefline");
  });

  it("builds `reefline run` arguments for a whole run, one job, and from a job", () => {
    assert.deepEqual(runArgs({ file: "reefline.yaml" }), ["run", "reefline.yaml"]);
    assert.deepEqual(runArgs({ file: "p.reefline.yaml", only: ["train"] }), ["run", "p.reefline.yaml", "--only", "train"]);
    assert.deepEqual(runArgs({ from: "evaluate", params: { seed: "7" } }), ["run", "--from", "evaluate", "-p", "seed=7"]);
  });

  it("finds an executable by path or on PATH, and not a missing one", () => {
    assert.equal(findExecutable(process.execPath), process.execPath);
    assert.equal(findExecutable(path.basename(process.execPath), { PATH: path.dirname(process.execPath) }), process.execPath);
    assert.equal(findExecutable("no-such-reefline-here", { PATH: path.dirname(process.execPath) }), undefined);
    assert.equal(findExecutable("/nonexistent/reefline"), undefined);
  });

  it("reads the CLI's error line", () => {
    assert.equal(errorLine("Traceback…\nerror: no run 99: see `reefline runs`\n"), "no run 99: see `reefline runs`");
    assert.equal(errorLine("just this\n"), "just this");
  });
});

describe("validate --json", () => {
  const report = {
    file: "reefline.yaml", valid: false, jobs: 7, definitions: 5,
    diagnostics: [{ code: "RL201", severity: "error", message: "job 'a' needs the unknown job 'b'", hint: "did you mean 'c'?",
      file: "reefline.yaml", line: 5, col: 13, end_line: 5, end_col: 14, path: ["jobs", "a", "needs", "0"] }],
  };

  it("parses the report and turns 1-based positions into ranges", () => {
    const parsed = parseValidation(report);
    assert.equal(parsed.valid, false);
    assert.equal(parsed.diagnostics.length, 1);
    assert.deepEqual(diagnosticRange(parsed.diagnostics[0]), [4, 12, 4, 13]);
    assert.equal(diagnosticText(parsed.diagnostics[0]), "job 'a' needs the unknown job 'b'\nhint: did you mean 'c'?");
  });

  it("gives a diagnostic without an end one character", () => {
    const d = parseValidation({ ...report, diagnostics: [{ ...report.diagnostics[0], end_line: null, end_col: null, hint: null }] }).diagnostics[0];
    assert.deepEqual(diagnosticRange(d), [4, 12, 4, 13]);
    assert.equal(diagnosticText(d), "job 'a' needs the unknown job 'b'");
  });

  it("refuses another shape", () => {
    assert.throws(() => parseValidation([]), /not an object/);
    assert.throws(() => parseValidation({ ...report, valid: "no" }), /"valid" is not a boolean/);
    assert.throws(() => parseValidation({ ...report, diagnostics: [{ code: 1 }] }), /"code" is not a string/);
  });
});

describe("LineSplitter", () => {
  it("hands out whole lines across chunks", () => {
    const s = new LineSplitter();
    assert.deepEqual(s.push("a\nb"), ["a"]);
    assert.deepEqual(s.push("c\r\nd\n"), ["bc", "d"]);
    assert.deepEqual(s.push("tail"), []);
    assert.deepEqual(s.flush(), ["tail"]);
  });
});

const bin = process.env.REEFLINE_BIN ?? path.resolve(__dirname, "../../../.venv/bin/reefline");
const haveCli = fs.existsSync(bin);

describe("the real CLI", { skip: haveCli ? false : `no reefline at ${bin} (set REEFLINE_BIN)` }, () => {
  const settings = { path: bin, pythonPath: "" };
  let dir = "";

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "reefline-vscode-"));
    fs.writeFileSync(
      path.join(dir, "reefline.yaml"),
      "version: 1\nname: tiny\njobs:\n  hello:\n    script:\n      - echo hello; echo world\n" +
        "  after:\n    needs: [hello]\n    script:\n      - echo bye; exit 3\n",
    );
    fs.writeFileSync(path.join(dir, "bad.reefline.yaml"), "version: 1\nname: bad\njobs:\n  a:\n    needs: [b]\n    script: [echo]\n");
  });

  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("lists no runs of a fresh project", async () => {
    assert.deepEqual(await new LocalSource(settings, dir).listRuns(10), []);
  });

  it("parses the diagnostics of an invalid spec at their place", async () => {
    const report = parseValidation(await execJson(invocation(settings, ["validate", "bad.reefline.yaml", "--json"]), dir, [0, 2]));
    assert.equal(report.valid, false);
    const [d] = report.diagnostics;
    assert.equal(d.code, "RL201");
    assert.deepEqual(diagnosticRange(d), [4, 12, 4, 13]);
  });

  it("reads a finished run and its jobs, and the log of one job", async () => {
    const run = await exec(invocation(settings, ["run", "--plain"]), dir);
    assert.equal(run.code, 1, run.stderr);
    const source = new LocalSource(settings, dir);
    const [summary] = await source.listRuns(10);
    assert.equal(summary.pipeline, "tiny");
    assert.equal(summary.state, "failed");
    const detail = await source.runDetail(summary.id);
    assert.deepEqual(detail.jobs.map((j) => [j.name, j.state, j.exitCode]), [["hello", "success", 0], ["after", "failed", 3]]);
    const lines: string[] = [];
    const end = await followLocalLog(settings, dir, summary.id, "hello", (l) => lines.push(l)).done;
    assert.deepEqual(lines, ["hello", "world"]);
    assert.equal(end, "exit 0");
  });

  it("says what is wrong with an unknown run", async () => {
    await assert.rejects(new LocalSource(settings, dir).runDetail(99), (e: unknown) => e instanceof CliError && /no run 99/.test(e.message));
  });

  it("says which setting to change when the executable is missing", async () => {
    const missing = new LocalSource({ path: path.join(dir, "no-such-reefline"), pythonPath: "" }, dir);
    await assert.rejects(missing.listRuns(1), /set "reefline.path"/);
  });
});
