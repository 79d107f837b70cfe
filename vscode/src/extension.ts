// The extension's entry point: the language client, the Runs view, the status bar, CodeLens and the
// commands. The logic that needs no VS Code lives in api.ts, cli.ts, jobs.ts, runsModel.ts,
// sources.ts and logStream.ts (unit-tested on plain Node).
import * as os from "node:os";
import * as path from "node:path";
import * as vscode from "vscode";
import { ApiClient, ApiError } from "./api";
import { diagnosticRange, diagnosticText, exec, execJson, invocation, parseValidation, runArgs } from "./cli";
import { JobCodeLenses } from "./codeLens";
import { findPipelineName, isPipelineFile } from "./jobs";
import { followLocalLog, followServerLog } from "./logStream";
import { ReeflineLanguageClient } from "./lsp";
import { applyStateEvent, isActive, RunSummary } from "./runsModel";
import { RunsNode, RunsProvider, RunStatusBar } from "./runsView";
import { readSettings, Settings, workspaceDir } from "./settings";
import { LocalSource, RunsSource, ServerSource } from "./sources";

const PIPELINES = "**/{reefline.yaml,*.reefline.yaml}";

function tokenKey(server: string): string {
  return `reefline.token:${server}`;
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

class Extension {
  readonly output = vscode.window.createOutputChannel("Reefline");
  readonly logChannel = vscode.window.createOutputChannel("Reefline Log");
  readonly validation = vscode.languages.createDiagnosticCollection("reefline-validate");
  readonly language = new ReeflineLanguageClient(this.output);
  readonly runs: RunsProvider;
  private logFollow: AbortController | undefined;

  constructor(private readonly context: vscode.ExtensionContext) {
    this.runs = new RunsProvider(
      () => this.resolveSource(),
      () => {
        const s = readSettings();
        return { limit: s.runsLimit, idleSeconds: s.idleRefreshSeconds };
      },
    );
  }

  // ---- where things are ----

  /** The pipeline file the user means: the active editor's, else the workspace's first one. */
  async pipelineFile(uri?: vscode.Uri): Promise<vscode.Uri | undefined> {
    if (uri && isPipelineFile(uri.fsPath)) return uri;
    const active = vscode.window.activeTextEditor?.document;
    if (active && isPipelineFile(active.fileName) && active.uri.scheme === "file") return active.uri;
    const found = await vscode.workspace.findFiles(PIPELINES, "**/node_modules/**", 20);
    found.sort((a, b) => a.fsPath.split(path.sep).length - b.fsPath.split(path.sep).length);
    return found[0];
  }

  async projectDir(): Promise<string | undefined> {
    const file = await this.pipelineFile();
    return file ? path.dirname(file.fsPath) : workspaceDir();
  }

  async api(settings: Settings): Promise<ApiClient | undefined> {
    if (!settings.server) return undefined;
    const token = await this.context.secrets.get(tokenKey(settings.server));
    return token ? new ApiClient(settings.server, token) : undefined;
  }

  async resolveSource(): Promise<RunsSource | RunsNode> {
    const settings = readSettings();
    if (settings.server) {
      const api = await this.api(settings);
      if (!api) {
        return { kind: "message", text: `Sign in to ${settings.server}`, icon: "account", command: { title: "Sign In", command: "reefline.signIn" } };
      }
      if (!settings.team) {
        return { kind: "message", text: "Set reefline.team to see a team's runs", icon: "gear",
          command: { title: "Settings", command: "workbench.action.openSettings", arguments: ["reefline.team"] } };
      }
      return new ServerSource(api, settings.team);
    }
    const dir = await this.projectDir();
    if (!dir) return { kind: "message", text: "Open a folder with a reefline.yaml", icon: "folder" };
    return new LocalSource(settings, dir);
  }

  // ---- runs ----

  private terminal(name: string, args: string[], cwd: string): void {
    const inv = invocation(readSettings(), args, cwd);
    const terminal = vscode.window.createTerminal({ name, shellPath: inv.command, shellArgs: inv.args, cwd });
    terminal.show();
    this.runs.boost();
  }

  private async saved(uri: vscode.Uri): Promise<void> {
    const doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
    if (doc?.isDirty) await doc.save();
  }

  async runLocally(uri: vscode.Uri | undefined, options: { only?: string; from?: string } = {}): Promise<void> {
    const file = await this.pipelineFile(uri);
    if (!file) {
      void vscode.window.showErrorMessage("Reefline: no reefline.yaml here. Open one, or create one with `reefline init`.");
      return;
    }
    await this.saved(file);
    const dir = path.dirname(file.fsPath);
    const args = runArgs({ file: path.basename(file.fsPath), only: options.only ? [options.only] : [], from: options.from });
    const what = options.only ? ` ${options.only}` : options.from ? ` from ${options.from}` : "";
    this.terminal(`Reefline: run${what}`, ["--project", dir, ...args], dir);
  }

  async run(uri?: vscode.Uri): Promise<void> {
    const settings = readSettings();
    if (!settings.server) return this.runLocally(uri);
    const choice = await vscode.window.showQuickPick(
      [
        { label: "$(terminal) Locally", description: "reefline run in a terminal", where: "local" },
        { label: "$(cloud) On the server", description: `${settings.team || "(no team set)"} on ${settings.server}`, where: "server" },
      ],
      { placeHolder: "Run the pipeline where?" },
    );
    if (!choice) return;
    if (choice.where === "local") return this.runLocally(uri);
    const source = await this.resolveSource();
    if (!(source instanceof ServerSource)) {
      if ("command" in source && source.command) void vscode.commands.executeCommand(source.command.command, ...(source.command.arguments ?? []));
      return;
    }
    const file = await this.pipelineFile(uri);
    const text = file ? (await vscode.workspace.openTextDocument(file)).getText() : "";
    const pipeline = findPipelineName(text);
    if (!pipeline) {
      void vscode.window.showErrorMessage("Reefline: the pipeline has no `name:`; the server knows pipelines by it.");
      return;
    }
    try {
      const run = await source.start(pipeline);
      void vscode.window.showInformationMessage(
        `Reefline: run #${run.id} of ${pipeline} is ${run.state} on ${settings.server} (the pipeline's current revision: \`reefline push\` sends your changes).`,
      );
      this.runs.boost();
      this.followLog(run, undefined);
    } catch (e) {
      void vscode.window.showErrorMessage(`Reefline: ${message(e)}`);
    }
  }

  private async pickRun(node: RunsNode | undefined, filter: (r: RunSummary) => boolean, verb: string): Promise<RunSummary | undefined> {
    if (node && node.kind !== "message") return node.run;
    await this.runs.refresh();
    const candidates = this.runs.runs.filter(filter);
    if (candidates.length === 0) {
      void vscode.window.showInformationMessage(`Reefline: no run to ${verb}.`);
      return undefined;
    }
    if (candidates.length === 1) return candidates[0];
    const picked = await vscode.window.showQuickPick(
      candidates.map((r) => ({ label: `#${r.id} ${r.pipeline}`, description: r.state, run: r })),
      { placeHolder: `Which run to ${verb}?` },
    );
    return picked?.run;
  }

  async cancel(node?: RunsNode): Promise<void> {
    const run = await this.pickRun(node, (r) => isActive(r.state), "cancel");
    const source = this.runs.source;
    if (!run || !source) return;
    try {
      void vscode.window.showInformationMessage(`Reefline: ${await source.cancel(run.id)}`);
    } catch (e) {
      void vscode.window.showErrorMessage(`Reefline: ${message(e)}`);
    }
    this.runs.boost();
  }

  async retry(node?: RunsNode): Promise<void> {
    const run = await this.pickRun(node, (r) => !isActive(r.state) && r.state !== "success", "retry");
    const source = this.runs.source;
    if (!run || !source) return;
    if (source instanceof LocalSource) {
      this.terminal(`Reefline: retry #${run.id}`, ["--project", source.projectDir, "retry", String(run.id)], source.projectDir);
      return;
    }
    try {
      const again = await (source as ServerSource).retry(run.id);
      this.runs.boost();
      this.followLog(again, undefined);
    } catch (e) {
      void vscode.window.showErrorMessage(`Reefline: ${message(e)}`);
    }
  }

  // ---- logs ----

  async showLog(node?: RunsNode): Promise<void> {
    let run: RunSummary | undefined;
    let job: string | undefined;
    if (node && node.kind === "job") {
      run = node.run;
      job = node.job.name;
    } else if (node && node.kind === "run") {
      run = node.run;
    } else {
      await this.runs.refresh();
      run = this.runs.current();
    }
    if (!run) {
      void vscode.window.showInformationMessage("Reefline: no run yet.");
      return;
    }
    this.followLog(run, job);
  }

  /** Shows a run's (or one job's) log in the "Reefline Log" channel, live until the run ends. */
  followLog(run: RunSummary, job: string | undefined): void {
    this.logFollow?.abort();
    const controller = new AbortController();
    this.logFollow = controller;
    const channel = this.logChannel;
    channel.clear();
    channel.show(true);
    const title = job ? `run #${run.id} ${run.pipeline}, job ${job}` : `run #${run.id} ${run.pipeline}, all jobs`;
    channel.appendLine(`── ${title}${isActive(run.state) ? " (following until it ends)" : ""}`);
    const source = this.runs.source;
    const line = (text: string): void => {
      if (!controller.signal.aborted) channel.appendLine(text);
    };
    let follow: { done: Promise<string> };
    if (source instanceof ServerSource) {
      const detail = this.runs.detail(run.id);
      follow = followServerLog(source.api, run.id, job, line, controller.signal, (data) => {
        if (detail && applyStateEvent(detail, data)) this.runs.boost();
      });
    } else if (source instanceof LocalSource) {
      follow = followLocalLog(source.settings, source.projectDir, run.id, job, line, controller.signal);
    } else {
      channel.appendLine("no runs source: open a folder with a reefline.yaml, or sign in to a server");
      return;
    }
    follow.done.then(
      (end) => line(`── ${title}: ${end}`),
      (e) => line(`── ${title}: ${message(e)}`),
    );
  }

  // ---- the rest ----

  async validate(uri?: vscode.Uri): Promise<void> {
    const file = await this.pipelineFile(uri);
    if (!file) {
      void vscode.window.showErrorMessage("Reefline: no reefline.yaml to validate.");
      return;
    }
    await this.saved(file);
    const dir = path.dirname(file.fsPath);
    try {
      const inv = invocation(readSettings(), ["validate", path.basename(file.fsPath), "--json"], dir);
      const report = parseValidation(await execJson(inv, dir, [0, 2]));
      const byFile = new Map<string, vscode.Diagnostic[]>();
      for (const d of report.diagnostics) {
        const [l, c, el, ec] = diagnosticRange(d);
        const severity =
          d.severity === "error" ? vscode.DiagnosticSeverity.Error
          : d.severity === "warning" ? vscode.DiagnosticSeverity.Warning
          : vscode.DiagnosticSeverity.Information;
        const diagnostic = new vscode.Diagnostic(new vscode.Range(l, c, el, ec), diagnosticText(d), severity);
        diagnostic.code = d.code;
        diagnostic.source = "reefline validate";
        const target = path.resolve(dir, d.file);
        byFile.set(target, [...(byFile.get(target) ?? []), diagnostic]);
      }
      this.validation.clear();
      for (const [target, list] of byFile) this.validation.set(vscode.Uri.file(target), list);
      if (report.valid) {
        void vscode.window.showInformationMessage(`Reefline: ${path.basename(file.fsPath)} is valid (${report.jobs ?? 0} jobs).`);
      } else {
        void vscode.window.showWarningMessage(`Reefline: ${report.diagnostics.length} problem(s) in ${path.basename(file.fsPath)}.`);
        void vscode.commands.executeCommand("workbench.actions.view.problems");
      }
    } catch (e) {
      void vscode.window.showErrorMessage(`Reefline: ${message(e)}`);
    }
  }

  async openInBrowser(node?: RunsNode): Promise<void> {
    const settings = readSettings();
    if (!settings.server) {
      void vscode.window.showInformationMessage(
        "Reefline: local runs have no web page. Set reefline.server to open the runs of a server.",
      );
      return;
    }
    const run = await this.pickRun(node, () => true, "open");
    if (!run) return;
    const url = settings.runUrl
      .replace("{server}", settings.server)
      .replace("{team}", encodeURIComponent(settings.team))
      .replace("{id}", String(run.id));
    await vscode.env.openExternal(vscode.Uri.parse(url));
  }

  async signIn(): Promise<void> {
    const settings = readSettings();
    const server = (
      await vscode.window.showInputBox({
        title: "Reefline: Sign In",
        prompt: "The server's URL",
        value: settings.server || "http://127.0.0.1:8420",
        ignoreFocusOut: true,
      })
    )?.trim().replace(/\/+$/, "");
    if (!server) return;
    const how = await vscode.window.showQuickPick(
      [
        { label: "Username and password", description: "creates a personal API token for VS Code", how: "password" },
        { label: "Paste an API token", description: "e.g. from `reefline admin create-token`", how: "token" },
      ],
      { title: "Reefline: Sign In", placeHolder: `How do you sign in to ${server}?` },
    );
    if (!how) return;
    try {
      let token: string | undefined;
      if (how.how === "token") {
        token = await vscode.window.showInputBox({ title: "Reefline: API token", password: true, ignoreFocusOut: true, prompt: "rl_…" });
      } else {
        const username = await vscode.window.showInputBox({ title: "Reefline: Sign In", prompt: "Username", ignoreFocusOut: true });
        if (!username) return;
        const password = await vscode.window.showInputBox({ title: "Reefline: Sign In", prompt: `Password of ${username}`, password: true, ignoreFocusOut: true });
        if (!password) return;
        token = await new ApiClient(server).createTokenWithPassword(username, password, `vscode on ${os.hostname()}`);
      }
      if (!token) return;
      const me = (await new ApiClient(server, token).me()) as { name?: string; username?: string };
      await this.context.secrets.store(tokenKey(server), token);
      if (server !== settings.server) {
        await vscode.workspace.getConfiguration("reefline").update("server", server, vscode.ConfigurationTarget.Global);
      }
      void vscode.window.showInformationMessage(`Reefline: signed in to ${server} as ${me.name ?? me.username ?? "you"}.`);
      void this.runs.refresh();
    } catch (e) {
      const why = e instanceof ApiError && e.status === 401 ? "the server refused the token or password" : message(e);
      void vscode.window.showErrorMessage(`Reefline: could not sign in to ${server}: ${why}`);
    }
  }

  async signOut(): Promise<void> {
    const server = readSettings().server;
    if (!server) return;
    await this.context.secrets.delete(tokenKey(server));
    void vscode.window.showInformationMessage(`Reefline: signed out of ${server} (the token is still valid on the server until revoked).`);
    void this.runs.refresh();
  }

  async trace(uri?: vscode.Uri): Promise<void> {
    const target = uri ?? vscode.window.activeTextEditor?.document.uri;
    const dir = (await this.projectDir()) ?? workspaceDir();
    if (!target || target.scheme !== "file" || !dir) {
      void vscode.window.showInformationMessage("Reefline: open a file to trace.");
      return;
    }
    // `reefline trace` comes with the lineage feature; until a Reefline has it, say so, show nothing made up.
    const probe = await exec(invocation(readSettings(), ["trace", "--help"], dir), dir).catch(() => undefined);
    if (!probe || probe.code !== 0) {
      void vscode.window.showInformationMessage(
        "Reefline: Trace This File needs the lineage feature (`reefline trace`), which this Reefline does not have yet.",
      );
      return;
    }
    this.terminal("Reefline: trace", ["--project", dir, "trace", target.fsPath], dir);
  }

  register(): void {
    const c = this.context;
    const command = (name: string, fn: (...args: never[]) => unknown): void => {
      c.subscriptions.push(vscode.commands.registerCommand(name, fn as (...args: unknown[]) => unknown));
    };
    command("reefline.validate", (uri?: vscode.Uri) => this.validate(uri));
    command("reefline.run", (uri?: vscode.Uri) => this.run(uri instanceof vscode.Uri ? uri : undefined));
    command("reefline.runJob", (uri: vscode.Uri, job: string) => this.runLocally(uri, { only: job }));
    command("reefline.runFrom", (uri: vscode.Uri, job: string) => this.runLocally(uri, { from: job }));
    command("reefline.cancel", (node?: RunsNode) => this.cancel(node));
    command("reefline.retry", (node?: RunsNode) => this.retry(node));
    command("reefline.showLog", (node?: RunsNode) => this.showLog(node));
    command("reefline.openInBrowser", (node?: RunsNode) => this.openInBrowser(node));
    command("reefline.signIn", () => this.signIn());
    command("reefline.signOut", () => this.signOut());
    command("reefline.trace", (uri?: vscode.Uri) => this.trace(uri));
    command("reefline.refreshRuns", () => this.runs.refresh());
    command("reefline.restartLanguageServer", () => this.language.restart());

    const view = vscode.window.createTreeView("reefline.runs", { treeDataProvider: this.runs, showCollapseAll: true });
    view.onDidExpandElement((e) => e.element.kind === "run" && this.runs.expand(e.element.run.id, true));
    view.onDidCollapseElement((e) => e.element.kind === "run" && this.runs.expand(e.element.run.id, false));
    c.subscriptions.push(view, this.runs, new RunStatusBar(this.runs));

    c.subscriptions.push(
      vscode.languages.registerCodeLensProvider({ scheme: "file", pattern: PIPELINES }, new JobCodeLenses()),
      vscode.workspace.onDidChangeTextDocument((e) => this.validation.delete(e.document.uri)),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration("reefline.path") || e.affectsConfiguration("reefline.pythonPath")) void this.language.restart();
        if (e.affectsConfiguration("reefline")) void this.runs.refresh();
      }),
      vscode.window.onDidChangeActiveTextEditor((e) => e && isPipelineFile(e.document.fileName) && void this.runs.refresh()),
      this.output,
      this.logChannel,
      this.validation,
      this.language,
      { dispose: () => this.logFollow?.abort() },
    );
  }
}

let extension: Extension | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  extension = new Extension(context);
  extension.register();
  void extension.runs.refresh();
  // `onLanguage:yaml` activates for any YAML file: start `reefline lsp` only once a pipeline is open
  // (or the workspace has one).
  const language = extension.language;
  const hasPipeline =
    vscode.workspace.textDocuments.some((d) => isPipelineFile(d.fileName)) ||
    (await vscode.workspace.findFiles(PIPELINES, "**/node_modules/**", 1)).length > 0;
  if (hasPipeline) {
    await language.start();
    return;
  }
  const waiting = vscode.workspace.onDidOpenTextDocument((d) => {
    if (!isPipelineFile(d.fileName)) return;
    waiting.dispose();
    void language.start();
  });
  context.subscriptions.push(waiting);
}

export async function deactivate(): Promise<void> {
  await extension?.language.stop();
  extension = undefined;
}
