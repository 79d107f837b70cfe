// Where the jobs of a reefline.yaml are, line by line, for CodeLens and "the job under the cursor".
// A line scanner rather than a YAML parser on purpose: it must keep working on a half-typed file,
// where a parser gives up. It reads block-style `jobs:` (what `reefline init` writes and the
// examples use); a flow-style `jobs: {…}` gets no lenses.

export interface JobKey {
  name: string;
  /** zero-based line of the key */
  line: number;
  /** zero-based columns of the key's text (without quotes) */
  character: number;
  endCharacter: number;
  /** zero-based last line of the job's block (before the next job or top-level key) */
  endLine: number;
}

interface KeyLine {
  indent: number;
  key: string;
  start: number;
  end: number;
  rest: string;
}

const KEY = /^(\s*)(?:"((?:[^"\\]|\\.)*)"|'((?:[^']|'')*)'|([^\s"'#\-?:,[\]{}&*!|>%@`][^:#]*?|-[^\s:#][^:#]*?))\s*:(?:\s+(.*))?$/;

function keyLine(line: string): KeyLine | undefined {
  const m = KEY.exec(line);
  if (!m) return undefined;
  const indent = m[1].length;
  const key = m[2] !== undefined ? m[2].replace(/\\(.)/g, "$1") : m[3] !== undefined ? m[3].replace(/''/g, "'") : m[4];
  const quoted = m[2] !== undefined || m[3] !== undefined;
  const start = indent + (quoted ? 1 : 0);
  const raw = m[2] ?? m[3] ?? m[4];
  return { indent, key, start, end: start + raw.length, rest: (m[5] ?? "").trim() };
}

/** Blank, comment-only, or a document marker. */
function isFiller(line: string): boolean {
  const t = line.trim();
  return t === "" || t.startsWith("#");
}

function indentOf(line: string): number {
  return line.length - line.trimStart().length;
}

/** Every job key under the top-level `jobs:` mapping, in order. */
export function findJobKeys(text: string): JobKey[] {
  const lines = text.split(/\r\n|\r|\n/);
  const jobs: JobKey[] = [];
  let inJobs = false;
  let jobIndent = -1;
  let lastContent = -1;
  const close = (upTo: number): void => {
    const current = jobs[jobs.length - 1];
    if (current && current.endLine < 0) current.endLine = Math.max(current.line, upTo);
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (isFiller(line)) continue;
    if (line.startsWith("---") || line.startsWith("...")) {
      close(lastContent);
      inJobs = false;
      lastContent = i;
      continue;
    }
    const indent = indentOf(line);
    if (indent === 0) {
      close(lastContent);
      const k = keyLine(line);
      inJobs = k !== undefined && k.key === "jobs" && (k.rest === "" || k.rest.startsWith("#"));
      jobIndent = -1;
      lastContent = i;
      continue;
    }
    if (inJobs) {
      if (jobIndent < 0) jobIndent = indent;
      if (indent === jobIndent) {
        const k = keyLine(line);
        if (k && !k.key.startsWith("<<")) {
          close(lastContent);
          jobs.push({ name: k.key, line: i, character: k.start, endCharacter: k.end, endLine: -1 });
        }
      } else if (indent < jobIndent) {
        close(lastContent);
        inJobs = false;
      }
    }
    lastContent = i;
  }
  close(lastContent);
  return jobs;
}

/** The job whose block holds this zero-based line, if any. */
export function jobAtLine(keys: readonly JobKey[], line: number): JobKey | undefined {
  return keys.find((k) => line >= k.line && line <= k.endLine);
}

/** The top-level `name:` of the pipeline (what a server knows it by). */
export function findPipelineName(text: string): string | undefined {
  for (const line of text.split(/\r\n|\r|\n/)) {
    if (indentOf(line) !== 0 || isFiller(line)) continue;
    const k = keyLine(line);
    if (k?.key !== "name") continue;
    const value = k.rest.replace(/\s+#.*$/, "").trim();
    const quoted = /^"((?:[^"\\]|\\.)*)"$|^'((?:[^']|'')*)'$/.exec(value);
    if (quoted) return quoted[1] ?? quoted[2].replace(/''/g, "'");
    return value || undefined;
  }
  return undefined;
}

/** Whether a file name is a Reefline pipeline (`reefline.yaml` or `*.reefline.yaml`). */
export function isPipelineFile(fileName: string): boolean {
  const base = fileName.split(/[\\/]/).pop() ?? "";
  return base === "reefline.yaml" || base.endsWith(".reefline.yaml");
}
