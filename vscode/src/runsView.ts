// The Runs view (runs → jobs with state icons) and the status bar item of the current run.
// It refreshes every 2 s while a run is active, else every `reefline.runs.idleRefreshSeconds`.
import * as vscode from "vscode";
import {
  currentRun, isActive, jobDescription, JobSummary, RunDetail, runDescription, runLabel, RunSummary,
  runTooltip, stateIcon, statusText,
} from "./runsModel";
import { RunsSource } from "./sources";

export type RunsNode =
  | { kind: "run"; run: RunSummary }
  | { kind: "job"; run: RunSummary; job: JobSummary }
  | { kind: "message"; text: string; command?: vscode.Command; icon?: string };

const ACTIVE_POLL_MS = 2000;
/** After a run is started from here, poll fast for a while: it may take a moment to show up. */
const BOOST_MS = 20_000;

function icon(state: string): vscode.ThemeIcon {
  const i = stateIcon(state);
  return new vscode.ThemeIcon(i.icon, i.color ? new vscode.ThemeColor(i.color) : undefined);
}

export class RunsProvider implements vscode.TreeDataProvider<RunsNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<RunsNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly currentChanged = new vscode.EventEmitter<RunSummary | undefined>();
  /** fires when the run the status bar follows changes or changes state */
  readonly onDidChangeCurrent = this.currentChanged.event;

  runs: RunSummary[] = [];
  private details = new Map<number, RunDetail>();
  private expanded = new Set<number>();
  private problem: RunsNode | undefined;
  private timer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;
  private boostUntil = 0;
  private lastCurrent = "";

  constructor(
    private readonly resolveSource: () => Promise<RunsSource | RunsNode>,
    private readonly limits: () => { limit: number; idleSeconds: number },
  ) {}

  source: RunsSource | undefined;

  expand(runId: number, open: boolean): void {
    if (open) this.expanded.add(runId);
    else this.expanded.delete(runId);
    if (open) void this.refresh();
  }

  /** Poll fast for a while (a run was just started from VS Code). */
  boost(): void {
    this.boostUntil = Date.now() + BOOST_MS;
    void this.refresh();
  }

  detail(runId: number): RunDetail | undefined {
    return this.details.get(runId);
  }

  current(): RunSummary | undefined {
    return currentRun(this.runs);
  }

  refresh(): Promise<void> {
    if (!this.refreshing) {
      this.refreshing = this.load().finally(() => {
        this.refreshing = undefined;
        this.schedule();
      });
    }
    return this.refreshing;
  }

  private async load(): Promise<void> {
    const source = await this.resolveSource();
    if ("kind" in source && (source.kind === "message" || source.kind === "run" || source.kind === "job")) {
      this.source = undefined;
      this.problem = source as RunsNode;
      this.runs = [];
      this.details.clear();
      this.fire();
      return;
    }
    const runsSource = source as RunsSource;
    if (this.source?.label !== runsSource.label) {
      this.details.clear();
      this.expanded.clear();
    }
    this.source = runsSource;
    try {
      this.runs = await runsSource.listRuns(this.limits().limit);
      this.problem = undefined;
      // Expanded runs are re-read while they may change, or once if not read yet.
      const wanted = this.runs.filter((r) => this.expanded.has(r.id) && (isActive(r.state) || this.details.get(r.id)?.state !== r.state));
      await Promise.all(wanted.map(async (r) => this.details.set(r.id, await runsSource.runDetail(r.id))));
    } catch (e) {
      this.problem = { kind: "message", text: e instanceof Error ? e.message : String(e), icon: "warning" };
    }
    this.fire();
  }

  private fire(): void {
    this.changed.fire(undefined);
    const current = this.current();
    const key = current ? `${current.id}:${current.state}` : "";
    if (key !== this.lastCurrent) {
      this.lastCurrent = key;
      this.currentChanged.fire(current);
    }
  }

  private schedule(): void {
    clearTimeout(this.timer);
    const active = this.runs.some((r) => isActive(r.state)) || Date.now() < this.boostUntil;
    const idle = this.limits().idleSeconds * 1000;
    const delay = active ? ACTIVE_POLL_MS : idle;
    if (delay > 0) this.timer = setTimeout(() => void this.refresh(), delay);
  }

  getTreeItem(node: RunsNode): vscode.TreeItem {
    if (node.kind === "message") {
      const item = new vscode.TreeItem(node.text);
      item.tooltip = node.text;
      if (node.command) item.command = node.command;
      if (node.icon) item.iconPath = new vscode.ThemeIcon(node.icon);
      return item;
    }
    if (node.kind === "run") {
      const run = node.run;
      const item = new vscode.TreeItem(
        runLabel(run),
        this.expanded.has(run.id) ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.Collapsed,
      );
      item.id = `run:${run.id}`;
      item.description = runDescription(run);
      item.tooltip = runTooltip(run);
      item.iconPath = icon(run.state);
      item.contextValue = isActive(run.state) ? "run.active" : "run.finished";
      return item;
    }
    const job = node.job;
    const item = new vscode.TreeItem(job.name, vscode.TreeItemCollapsibleState.None);
    item.id = `run:${node.run.id}:job:${job.name}`;
    item.description = jobDescription(job);
    item.tooltip = [`${job.name} (stage ${job.stage}): ${job.state}`, job.reason ?? ""].filter(Boolean).join("\n");
    item.iconPath = icon(job.state);
    item.contextValue = "job";
    item.command = { title: "Show Job Log", command: "reefline.showLog", arguments: [node] };
    return item;
  }

  async getChildren(node?: RunsNode): Promise<RunsNode[]> {
    if (!node) {
      if (this.problem) return [this.problem];
      return this.runs.map((run) => ({ kind: "run", run }));
    }
    if (node.kind !== "run") return [];
    let detail = this.details.get(node.run.id);
    if (!detail && this.source) {
      try {
        detail = await this.source.runDetail(node.run.id);
        this.details.set(node.run.id, detail);
      } catch (e) {
        return [{ kind: "message", text: e instanceof Error ? e.message : String(e), icon: "warning" }];
      }
    }
    return (detail?.jobs ?? []).map((job) => ({ kind: "job", run: node.run, job }));
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.changed.dispose();
    this.currentChanged.dispose();
  }
}

export class RunStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Left, 50);

  constructor(private readonly provider: RunsProvider) {
    this.item.name = "Reefline run";
    this.item.command = "reefline.showLog";
    this.update(undefined);
    provider.onDidChangeCurrent((run) => this.update(run));
  }

  private update(run: RunSummary | undefined): void {
    // Hidden where there is nothing to follow (no pipeline here and no server).
    if (run || this.provider.source) this.item.show();
    else this.item.hide();
    this.item.text = statusText(run);
    this.item.tooltip = run ? `${runTooltip(run)}\n\nClick: show its log` : "No Reefline runs yet";
    this.item.backgroundColor =
      run?.state === "failed" ? new vscode.ThemeColor("statusBarItem.errorBackground") : undefined;
  }

  dispose(): void {
    this.item.dispose();
  }
}
