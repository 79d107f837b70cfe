// ANSI SGR colours and styles of log text as styled spans; other escape sequences are dropped.

export interface Style {
  fg?: string;
  bg?: string;
  bold?: boolean;
  dim?: boolean;
  italic?: boolean;
  underline?: boolean;
}

export interface Span {
  text: string;
  style: Style;
}

const BASIC = ["#1e1e1e", "#d0362f", "#3d9a3d", "#b58900", "#2f6fd0", "#b04bb0", "#1f9aa8", "#c8c8c8"];
const BRIGHT = ["#6e6e6e", "#ff6b60", "#6ad36a", "#e8c547", "#6ea0ff", "#e27ae2", "#4fd6e2", "#ffffff"];
// CSI sequences (colour and cursor), OSC titles/links, ESC + one char, and any ESC left over.
const ESCAPE = /\x1b\[([0-9;:?]*)([@-~])|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]|\x1b/g;

function palette256(n: number): string | undefined {
  if (n < 8) return BASIC[n];
  if (n < 16) return BRIGHT[n - 8];
  if (n < 232) {
    const i = n - 16;
    const level = (v: number) => (v === 0 ? 0 : 55 + v * 40);
    return `rgb(${level(Math.floor(i / 36))}, ${level(Math.floor(i / 6) % 6)}, ${level(i % 6)})`;
  }
  if (n < 256) {
    const grey = 8 + (n - 232) * 10;
    return `rgb(${grey}, ${grey}, ${grey})`;
  }
  return undefined;
}

function applySgr(style: Style, params: string): Style {
  const codes = params === "" ? [0] : params.split(/[;:]/).map((p) => (p === "" ? 0 : Number(p)));
  let next: Style = { ...style };
  for (let i = 0; i < codes.length; i++) {
    const code = codes[i];
    if (code === 0) next = {};
    else if (code === 1) next.bold = true;
    else if (code === 2) next.dim = true;
    else if (code === 3) next.italic = true;
    else if (code === 4) next.underline = true;
    else if (code === 22) next.bold = next.dim = false;
    else if (code === 23) next.italic = false;
    else if (code === 24) next.underline = false;
    else if (code >= 30 && code <= 37) next.fg = BASIC[code - 30];
    else if (code >= 90 && code <= 97) next.fg = BRIGHT[code - 90];
    else if (code >= 40 && code <= 47) next.bg = BASIC[code - 40];
    else if (code >= 100 && code <= 107) next.bg = BRIGHT[code - 100];
    else if (code === 39) delete next.fg;
    else if (code === 49) delete next.bg;
    else if (code === 38 || code === 48) {
      let colour: string | undefined;
      if (codes[i + 1] === 5) {
        colour = palette256(codes[i + 2] ?? -1);
        i += 2;
      } else if (codes[i + 1] === 2) {
        const [r, g, b] = codes.slice(i + 2, i + 5).map((v) => Math.max(0, Math.min(255, v || 0)));
        colour = `rgb(${r}, ${g}, ${b})`;
        i += 4;
      }
      if (colour) next[code === 38 ? "fg" : "bg"] = colour;
    }
  }
  return next;
}

/** The spans of one line; `start` is the style carried over from the lines before. */
export function parseAnsi(line: string, start: Style = {}): Span[] {
  const spans: Span[] = [];
  let style = start;
  let last = 0;
  for (const match of line.matchAll(ESCAPE)) {
    if (match.index > last) spans.push({ text: line.slice(last, match.index), style });
    if (match[2] === "m") style = applySgr(style, match[1]);
    last = match.index + match[0].length;
  }
  if (last < line.length) spans.push({ text: line.slice(last), style });
  return spans;
}

/** The text without escape sequences (what search and download-as-text see). */
export function stripAnsi(line: string): string {
  return line.replace(ESCAPE, "");
}

/** A line as a terminal leaves it after `\r` rewrites: the last state of a progress bar. */
export function collapseCarriageReturns(line: string): string {
  if (!line.includes("\r")) return line;
  const parts = line.split("\r");
  for (let i = parts.length - 1; i >= 0; i--) {
    if (stripAnsi(parts[i]) !== "") return parts[i];
  }
  return "";
}

/** Adds one stored log line to a job's shown lines. The server splits output at a lone `\r` and
 *  keeps it at the end of the line it ended (a progress bar's earlier state): the next line then
 *  replaces that one instead of following it. Returns whether the added line is such a line. */
export function appendLogLine(lines: string[], line: string, lastIsOverwritten: boolean): boolean {
  const shown = collapseCarriageReturns(line);
  if (lastIsOverwritten && lines.length > 0) lines[lines.length - 1] = shown;
  else lines.push(shown);
  return line.endsWith("\r");
}
