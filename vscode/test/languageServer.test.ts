// The command line the extension starts the language server with, against the real `reefline lsp`
// over stdio (vscode-jsonrpc, the transport vscode-languageclient uses; no vscode module needed).
import assert from "node:assert/strict";
import { ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { createMessageConnection, MessageConnection, StreamMessageReader, StreamMessageWriter } from "vscode-jsonrpc/node";
import { invocation } from "../src/cli";

const bin = process.env.REEFLINE_BIN ?? path.resolve(__dirname, "../../../.venv/bin/reefline");
const python = path.join(path.dirname(bin), "python");
const haveCli = fs.existsSync(bin);

interface PublishedDiagnostics {
  uri: string;
  diagnostics: { code?: string; range: { start: { line: number; character: number } }; message: string }[];
}

function start(settings: { path: string; pythonPath: string }): { child: ChildProcess; connection: MessageConnection; published: PublishedDiagnostics[] } {
  const inv = invocation(settings, ["lsp"]);
  const child = spawn(inv.command, inv.args, { stdio: ["pipe", "pipe", "inherit"] });
  const connection = createMessageConnection(new StreamMessageReader(child.stdout!), new StreamMessageWriter(child.stdin!));
  const published: PublishedDiagnostics[] = [];
  connection.onNotification("textDocument/publishDiagnostics", (p: PublishedDiagnostics) => published.push(p));
  connection.listen();
  return { child, connection, published };
}

async function until<T>(what: () => T | undefined, ms: number): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = what();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 20));
  }
}

for (const [label, settings] of [
  ["reefline.path", { path: bin, pythonPath: "" }],
  ["reefline.pythonPath", { path: "reefline", pythonPath: python }],
] as const) {
  describe(`reefline lsp started from ${label}`, { skip: haveCli ? false : `no reefline at ${bin} (set REEFLINE_BIN)` }, () => {
    let server: ReturnType<typeof start>;

    before(() => {
      server = start(settings);
    });

    after(async () => {
      const exited = new Promise((resolve) => server.child.once("exit", resolve));
      await server.connection.sendRequest("shutdown");
      await server.connection.sendNotification("exit");
      const timer = setTimeout(() => server.child.kill(), 5000);
      await exited;
      clearTimeout(timer);
      server.connection.dispose();
    });

    it("initializes and publishes the diagnostics of an invalid pipeline at their place", async () => {
      const init = (await server.connection.sendRequest("initialize", {
        processId: process.pid,
        rootUri: null,
        capabilities: {},
      })) as { capabilities: Record<string, unknown> };
      assert.ok(init.capabilities["completionProvider"], "completion");
      assert.ok(init.capabilities["hoverProvider"], "hover");
      server.connection.sendNotification("initialized", {});
      const uri = "file:///tmp/reefline-vscode-test/reefline.yaml";
      const text = "version: 1\nname: x\njobs:\n  a:\n    needs: [b]\n    script: [echo]\n";
      server.connection.sendNotification("textDocument/didOpen", { textDocument: { uri, languageId: "yaml", version: 1, text } });
      const published = await until(() => server.published.find((p) => p.uri === uri && p.diagnostics.length > 0), 20_000);
      const rl201 = published.diagnostics.find((d) => d.code === "RL201");
      assert.ok(rl201, JSON.stringify(published.diagnostics));
      assert.deepEqual(rl201.range.start, { line: 4, character: 12 });
    });
  });
}
