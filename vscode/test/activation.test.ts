// Activation against a stub of the `vscode` module: a VS Code host cannot be downloaded here, and
// this is the one place that needs the module. The stub answers every API with inert values and
// records the commands registered, so the test checks that `activate` runs and registers exactly
// the commands package.json contributes. It says nothing about how VS Code draws them.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import Module from "node:module";
import * as os from "node:os";
import { describe, it } from "node:test";

const registered: string[] = [];
const errors: string[] = [];

function inert(name: string): unknown {
  const fn = function () {
    return inert(`${name}()`);
  };
  return new Proxy(fn, {
    get(_t, key) {
      if (key === "then") return undefined; // not a promise
      if (key === Symbol.toPrimitive) return () => name;
      if (key === "dispose") return () => undefined;
      return inert(`${name}.${String(key)}`);
    },
    set: () => true,
    apply: () => inert(`${name}()`),
    construct: () => inert(`new ${name}`) as object,
  });
}

class EventEmitter<T> {
  private listeners: ((e: T) => void)[] = [];
  event = (listener: (e: T) => void) => {
    this.listeners.push(listener);
    return { dispose: () => undefined };
  };
  fire(e: T): void {
    this.listeners.forEach((l) => l(e));
  }
  dispose(): void {
    this.listeners = [];
  }
}

let pipelinesInWorkspace = [{ fsPath: "/work/reefline.yaml" }];
const openListeners: ((doc: { fileName: string }) => void)[] = [];
const settings: Record<string, unknown> = { path: "/nonexistent/reefline", "runs.idleRefreshSeconds": 0 };

const stub = new Proxy(
  {
    EventEmitter,
    version: "1.85.0",
    commands: {
      registerCommand: (name: string) => {
        registered.push(name);
        return { dispose: () => undefined };
      },
      executeCommand: async () => undefined,
    },
    workspace: new Proxy(
      {
        workspaceFolders: undefined,
        textDocuments: [],
        getConfiguration: () => ({ get: (key: string, fallback: unknown) => settings[key] ?? fallback, update: async () => undefined }),
        findFiles: async () => pipelinesInWorkspace,
        onDidOpenTextDocument: (listener: (doc: { fileName: string }) => void) => {
          openListeners.push(listener);
          return { dispose: () => openListeners.splice(openListeners.indexOf(listener), 1) };
        },
      },
      { get: (t, k) => (k in t ? t[k as keyof typeof t] : inert(`workspace.${String(k)}`)) },
    ),
    window: new Proxy(
      {
        activeTextEditor: undefined,
        showErrorMessage: async (text: string) => {
          errors.push(text);
          return undefined;
        },
      },
      { get: (t, k) => (k in t ? t[k as keyof typeof t] : inert(`window.${String(k)}`)) },
    ),
  },
  { get: (t, k) => (k in t ? t[k as keyof typeof t] : inert(String(k))) },
);

const loader = Module as unknown as { _load: (request: string, ...rest: unknown[]) => unknown };
const load = loader._load;
loader._load = function (request: string, ...rest: unknown[]) {
  return request === "vscode" ? stub : load.call(this, request, ...rest);
};

describe("activate", () => {
  const context = () => ({ subscriptions: [] as unknown[], secrets: { get: async () => undefined, store: async () => undefined, delete: async () => undefined } });

  it("registers every command package.json contributes, and says when reefline cannot start", async () => {
    const manifest = JSON.parse(fs.readFileSync(path.resolve(__dirname, "../../package.json"), "utf8")) as {
      contributes: { commands: { command: string }[] };
      main: string;
    };
    const extension = require(path.resolve(__dirname, "../..", manifest.main)) as {
      activate: (context: unknown) => Promise<void>;
      deactivate: () => Promise<void>;
    };
    await extension.activate(context());
    assert.deepEqual([...registered].sort(), manifest.contributes.commands.map((c) => c.command).sort());
    assert.equal(errors.length, 1, errors.join("\n"));
    assert.match(errors[0], /cannot start the language server: `\/nonexistent\/reefline` not found.*set "reefline.path"/);
    await extension.deactivate();
  });

  it("starts the language server only once a pipeline is opened, in a workspace without one", async () => {
    const extension = require(path.resolve(__dirname, "../../out/src/extension.js")) as {
      activate: (context: unknown) => Promise<void>;
      deactivate: () => Promise<void>;
    };
    pipelinesInWorkspace = [];
    errors.length = 0;
    await extension.activate(context());
    assert.deepEqual(errors, []);
    assert.equal(openListeners.length, 1);
    openListeners[0]({ fileName: "/work/notes.yaml" });
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(errors, []);
    openListeners[0]({ fileName: "/work/nightly.reefline.yaml" });
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(errors.length, 1);
    assert.match(errors[0], /cannot start the language server/);
    assert.equal(openListeners.length, 0);
    await extension.deactivate();
  });

  // `make test` packages the extension before its tests: the .vsix must hold every module it loads.
  const vsix = path.resolve(__dirname, "../../reefline.vsix");
  const python = path.resolve(__dirname, "../../../.venv/bin/python");
  it("activates from the packaged .vsix", { skip: fs.existsSync(vsix) && fs.existsSync(python) ? false : "no reefline.vsix built" }, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "reefline-vsix-"));
    try {
      const unzip = spawnSync(python, ["-m", "zipfile", "-e", vsix, dir], { encoding: "utf8" });
      assert.equal(unzip.status, 0, unzip.stderr);
      const manifest = JSON.parse(fs.readFileSync(path.join(dir, "extension", "package.json"), "utf8")) as {
        main: string;
        contributes: { commands: { command: string }[]; yamlValidation: { url: string }[] };
      };
      assert.ok(fs.existsSync(path.join(dir, "extension", manifest.contributes.yamlValidation[0].url)), "the schema is packaged");
      const extension = require(path.join(dir, "extension", manifest.main)) as {
        activate: (context: unknown) => Promise<void>;
        deactivate: () => Promise<void>;
      };
      pipelinesInWorkspace = [{ fsPath: "/work/reefline.yaml" }];
      registered.length = 0;
      errors.length = 0;
      await extension.activate(context());
      assert.deepEqual([...registered].sort(), manifest.contributes.commands.map((c) => c.command).sort());
      assert.equal(errors.length, 1);
      await extension.deactivate();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
