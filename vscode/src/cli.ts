// The reefline CLI from the extension: how to start it, and its `--json` outputs parsed and checked.
// No `vscode` import here, so the unit tests run on plain Node.
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

export interface CliSettings {
  /** The `reefline` executable (`reefline.path`). */
  path: string;
  /** A Python with Reefline installed (`reefline.pythonPath`); wins over `path` when set. */
  pythonPath: string;
}

export interface Invocation {
  command: string;
  args: string[];
}

/** The command line of `reefline ARGS…` under the user's settings; a relative `pythonPath` (or a
 * relative `path` with a slash in it) is taken from `baseDir`, the workspace folder. */
export function invocation(settings: CliSettings, args: string[], baseDir?: string): Invocation {
  const resolve = (p: string): string =>
    baseDir && !path.isAbsolute(p) && (p.includes("/") || p.includes("\\")) ? path.join(baseDir, p) : p;
  const python = settings.pythonPath.trim();
  if (python) {
    return { command: resolve(python), args: ["-m", "reefline.cli.main", ...args] };
  }
  return { command: resolve(settings.path.trim() || "reefline"), args };
}

export interface RunOptions {
  file?: string;
  only?: string[];
  from?: string;
  params?: Record<string, string>;
}

/** Arguments of `reefline run` (`--only` is repeatable, `--from` takes one job). */
export function runArgs(options: RunOptions): string[] {
  const args = ["run"];
  if (options.file) args.push(options.file);
  for (const job of options.only ?? []) args.push("--only", job);
  if (options.from) args.push("--from", options.from);
  for (const [name, value] of Object.entries(options.params ?? {})) args.push("-p", `${name}=${value}`);
  return args;
}

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number | null,
    readonly stderr: string = "",
  ) {
    super(message);
    this.name = "CliError";
  }
}

export interface CliResult {
  stdout: string;
  stderr: string;
  code: number;
}

/** Runs the CLI to its end. A missing executable is a CliError saying which setting to change. */
export function exec(inv: Invocation, cwd: string, timeoutMs = 60_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    execFile(
      inv.command,
      inv.args,
      { cwd, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, NO_COLOR: "1" } },
      (error, stdout, stderr) => {
        const err = error as (NodeJS.ErrnoException & { code?: unknown }) | null;
        if (err && err.code === "ENOENT") {
          reject(
            new CliError(
              `cannot start ${inv.command}: not found. Install Reefline, or set "reefline.path" ` +
                `(or "reefline.pythonPath") to where it is.`,
              null,
            ),
          );
          return;
        }
        if (err && typeof err.code !== "number") {
          reject(new CliError(`${inv.command} ${inv.args.join(" ")}: ${err.message}`, null, String(stderr)));
          return;
        }
        resolve({ stdout: String(stdout), stderr: String(stderr), code: err ? Number(err.code) : 0 });
      },
    );
  });
}

/** The `error: …` line the CLI prints on stderr, or the last line there. */
export function errorLine(stderr: string): string {
  const lines = stderr.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  const error = lines.find((l) => l.startsWith("error:") || l.startsWith("internal error:"));
  return (error ?? lines[lines.length - 1] ?? "").replace(/^error:\s*/, "");
}

/** Runs a `--json` command and parses its output; a failing command is a CliError with its message. */
export async function execJson(inv: Invocation, cwd: string, okCodes: number[] = [0]): Promise<unknown> {
  const result = await exec(inv, cwd);
  if (!okCodes.includes(result.code)) {
    const why = errorLine(result.stderr) || `exit code ${result.code}`;
    throw new CliError(`reefline ${inv.args.filter((a) => a !== "--json").join(" ")}: ${why}`, result.code, result.stderr);
  }
  try {
    return JSON.parse(result.stdout);
  } catch {
    throw new CliError(`reefline ${inv.args.join(" ")} did not print JSON: ${result.stdout.slice(0, 200)}`, result.code);
  }
}

// ---- `--json` shapes (README: "`--json` shapes (stable)") ----

export interface Diagnostic {
  code: string;
  severity: "error" | "warning" | "info" | string;
  message: string;
  hint: string | null;
  file: string;
  /** 1-based */
  line: number;
  /** 1-based */
  col: number;
  endLine: number | null;
  endCol: number | null;
  path: (string | number)[];
}

export interface ValidationReport {
  file: string;
  valid: boolean;
  jobs: number | null;
  definitions: number | null;
  diagnostics: Diagnostic[];
}

export class ShapeError extends Error {
  constructor(what: string, value: unknown) {
    super(`unexpected JSON from reefline: ${what} (got ${JSON.stringify(value)?.slice(0, 120)})`);
    this.name = "ShapeError";
  }
}

type Obj = Record<string, unknown>;

export function asObject(value: unknown, what: string): Obj {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new ShapeError(`${what} is not an object`, value);
  return value as Obj;
}

export function str(o: Obj, key: string): string {
  const v = o[key];
  if (typeof v !== "string") throw new ShapeError(`"${key}" is not a string`, v);
  return v;
}

export function optStr(o: Obj, key: string): string | null {
  const v = o[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== "string") throw new ShapeError(`"${key}" is not a string`, v);
  return v;
}

export function num(o: Obj, key: string): number {
  const v = o[key];
  if (typeof v !== "number") throw new ShapeError(`"${key}" is not a number`, v);
  return v;
}

export function optNum(o: Obj, key: string): number | null {
  const v = o[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== "number") throw new ShapeError(`"${key}" is not a number`, v);
  return v;
}

export function parseDiagnostic(value: unknown): Diagnostic {
  const o = asObject(value, "a diagnostic");
  const pathValue = o["path"];
  return {
    code: str(o, "code"),
    severity: str(o, "severity"),
    message: str(o, "message"),
    hint: optStr(o, "hint"),
    file: str(o, "file"),
    line: num(o, "line"),
    col: num(o, "col"),
    endLine: optNum(o, "end_line"),
    endCol: optNum(o, "end_col"),
    path: Array.isArray(pathValue) ? (pathValue as (string | number)[]) : [],
  };
}

/** `reefline validate --json` (also the API's `POST /api/validate`). */
export function parseValidation(value: unknown): ValidationReport {
  const o = asObject(value, "the validation report");
  const diagnostics = o["diagnostics"];
  if (!Array.isArray(diagnostics)) throw new ShapeError('"diagnostics" is not a list', diagnostics);
  if (typeof o["valid"] !== "boolean") throw new ShapeError('"valid" is not a boolean', o["valid"]);
  return {
    file: str(o, "file"),
    valid: o["valid"],
    jobs: optNum(o, "jobs"),
    definitions: optNum(o, "definitions"),
    diagnostics: diagnostics.map(parseDiagnostic),
  };
}

/** Zero-based range of a diagnostic: [line, character, endLine, endCharacter]; without an end, to
 * the end of the start position's word (one character at least). */
export function diagnosticRange(d: Diagnostic): [number, number, number, number] {
  const line = Math.max(0, d.line - 1);
  const character = Math.max(0, d.col - 1);
  if (d.endLine !== null && d.endCol !== null) {
    const endLine = Math.max(line, d.endLine - 1);
    const endCharacter = Math.max(0, d.endCol - 1);
    if (endLine > line || endCharacter > character) return [line, character, endLine, endCharacter];
  }
  return [line, character, line, character + 1];
}

/** The text shown for a diagnostic: its message and, on its own line, the hint. */
export function diagnosticText(d: Diagnostic): string {
  return d.hint ? `${d.message}\nhint: ${d.hint}` : d.message;
}

/** Where a command would be found: itself if it names a path, else the first match on PATH. */
export function findExecutable(command: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const isFile = (p: string): boolean => {
    try {
      return fs.statSync(p).isFile();
    } catch {
      return false;
    }
  };
  if (command.includes("/") || command.includes("\\")) return isFile(command) ? command : undefined;
  const exts = process.platform === "win32" ? (env.PATHEXT ?? ".EXE;.CMD;.BAT").split(";").concat([""]) : [""];
  for (const dir of (env.PATH ?? "").split(path.delimiter).filter(Boolean)) {
    for (const ext of exts) {
      const candidate = path.join(dir, command + ext);
      if (isFile(candidate)) return candidate;
    }
  }
  return undefined;
}
