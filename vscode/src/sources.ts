// Where the Runs view reads runs from, and where cancel/retry go: the local store through the CLI,
// or a server through its API. No `vscode` import here.
import { ApiClient } from "./api";
import { CliSettings, exec, execJson, errorLine, CliError, invocation } from "./cli";
import { detailFromJson, isActive, RunDetail, runFromJson, RunSummary, runsFromJson } from "./runsModel";

export interface RunsSource {
  readonly kind: "local" | "server";
  /** what the view says it shows, e.g. "~/iris" or "research on http://…" */
  readonly label: string;
  listRuns(limit: number): Promise<RunSummary[]>;
  runDetail(runId: number): Promise<RunDetail>;
  cancel(runId: number): Promise<string>;
}

export class LocalSource implements RunsSource {
  readonly kind = "local";

  constructor(
    readonly settings: CliSettings,
    /** the project folder (the one with reefline.yaml and .reefline/) */
    readonly projectDir: string,
  ) {}

  get label(): string {
    return this.projectDir;
  }

  private inv(args: string[]) {
    return invocation(this.settings, ["--project", this.projectDir, ...args], this.projectDir);
  }

  async listRuns(limit: number): Promise<RunSummary[]> {
    return runsFromJson(await execJson(this.inv(["runs", "--limit", String(limit), "--json"]), this.projectDir));
  }

  async runDetail(runId: number): Promise<RunDetail> {
    return detailFromJson(await execJson(this.inv(["show", String(runId), "--json"]), this.projectDir));
  }

  /** `reefline cancel RUN`: answers what the CLI said. */
  async cancel(runId: number): Promise<string> {
    const result = await exec(this.inv(["cancel", String(runId)]), this.projectDir);
    if (result.code !== 0) throw new CliError(`cancel run ${runId}: ${errorLine(result.stderr)}`, result.code, result.stderr);
    return (result.stdout.trim() || result.stderr.trim() || `asked run ${runId} to cancel`).split("\n")[0];
  }
}

export class ServerSource implements RunsSource {
  readonly kind = "server";

  constructor(
    readonly api: ApiClient,
    readonly team: string,
  ) {}

  get label(): string {
    return `${this.team} on ${this.api.baseUrl}`;
  }

  async listRuns(limit: number): Promise<RunSummary[]> {
    return runsFromJson(await this.api.runs(this.team, { limit }));
  }

  async runDetail(runId: number): Promise<RunDetail> {
    return detailFromJson(await this.api.run(runId));
  }

  async cancel(runId: number): Promise<string> {
    // The engine running it cancels it within about a second; the answer shows the state before that.
    const run = runFromJson(await this.api.cancel(runId));
    return isActive(run.state) ? `asked run ${run.id} to cancel` : `run ${run.id} is ${run.state}`;
  }

  async retry(runId: number): Promise<RunSummary> {
    return runFromJson(await this.api.retry(runId));
  }

  async start(pipeline: string, params: Record<string, string> = {}): Promise<RunSummary> {
    return runFromJson(await this.api.startRun(this.team, pipeline, { params }));
  }
}
