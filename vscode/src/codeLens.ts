// "Run job" and "Run from here" above each job key (`reefline run --only JOB` / `--from JOB`).
import * as vscode from "vscode";
import { findJobKeys, isPipelineFile } from "./jobs";

export class JobCodeLenses implements vscode.CodeLensProvider {
  provideCodeLenses(document: vscode.TextDocument): vscode.CodeLens[] {
    if (!isPipelineFile(document.fileName)) return [];
    return findJobKeys(document.getText()).flatMap((key) => {
      const range = new vscode.Range(key.line, key.character, key.line, key.endCharacter);
      return [
        new vscode.CodeLens(range, {
          title: "$(play) Run job",
          tooltip: `reefline run --only ${key.name}`,
          command: "reefline.runJob",
          arguments: [document.uri, key.name],
        }),
        new vscode.CodeLens(range, {
          title: "Run from here",
          tooltip: `reefline run --from ${key.name}: this job and everything downstream of it`,
          command: "reefline.runFrom",
          arguments: [document.uri, key.name],
        }),
      ];
    });
  }
}
