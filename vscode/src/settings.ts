// The extension's settings, read fresh each time (they may change while it runs).
import * as vscode from "vscode";
import { CliSettings } from "./cli";

export interface Settings extends CliSettings {
  server: string;
  team: string;
  runUrl: string;
  runsLimit: number;
  idleRefreshSeconds: number;
}

export function readSettings(): Settings {
  const c = vscode.workspace.getConfiguration("reefline");
  return {
    path: c.get<string>("path", "reefline"),
    pythonPath: c.get<string>("pythonPath", ""),
    server: c.get<string>("server", "").trim().replace(/\/+$/, ""),
    team: c.get<string>("team", "").trim(),
    runUrl: c.get<string>("runUrl", "{server}/api/runs/{id}"),
    runsLimit: c.get<number>("runs.limit", 20),
    idleRefreshSeconds: c.get<number>("runs.idleRefreshSeconds", 10),
  };
}

export function workspaceDir(): string | undefined {
  return vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
}
