// The language client: starts `reefline lsp` over stdio for reefline.yaml and *.reefline.yaml.
import * as vscode from "vscode";
import { LanguageClient, LanguageClientOptions, ServerOptions, TransportKind } from "vscode-languageclient/node";
import { findExecutable, invocation } from "./cli";
import { readSettings, workspaceDir } from "./settings";

export const DOCUMENTS = [
  { scheme: "file", language: "yaml", pattern: "**/reefline.yaml" },
  { scheme: "file", language: "yaml", pattern: "**/*.reefline.yaml" },
];

export class ReeflineLanguageClient implements vscode.Disposable {
  private client: LanguageClient | undefined;

  constructor(private readonly output: vscode.OutputChannel) {}

  async start(): Promise<void> {
    const cwd = workspaceDir();
    const inv = invocation(readSettings(), ["lsp"], cwd);
    const serverOptions: ServerOptions = {
      command: inv.command,
      args: inv.args,
      transport: TransportKind.stdio,
      options: cwd ? { cwd } : {},
    };
    const clientOptions: LanguageClientOptions = {
      documentSelector: DOCUMENTS,
      outputChannel: this.output,
    };
    if (!findExecutable(inv.command)) {
      this.output.appendLine(`${inv.command}: not found`);
      const choice = await vscode.window.showErrorMessage(
        `Reefline: cannot start the language server: \`${inv.command}\` not found. ` +
          `Install Reefline, or set "reefline.path" or "reefline.pythonPath".`,
        "Open Settings",
      );
      if (choice) void vscode.commands.executeCommand("workbench.action.openSettings", "reefline.");
      return;
    }
    try {
      this.client = new LanguageClient("reefline", "Reefline Language Server", serverOptions, clientOptions);
      await this.client.start();
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      this.output.appendLine(`could not start ${inv.command} ${inv.args.join(" ")}: ${why}`);
      const choice = await vscode.window.showErrorMessage(
        `Reefline: could not start the language server (\`${inv.command} ${inv.args.join(" ")}\`): ${why}. ` +
          `Install Reefline, or set "reefline.path" or "reefline.pythonPath".`,
        "Open Settings",
      );
      if (choice) void vscode.commands.executeCommand("workbench.action.openSettings", "reefline.");
    }
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client?.isRunning()) await client.stop();
  }

  dispose(): void {
    void this.stop();
  }
}
