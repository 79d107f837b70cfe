import type { Diagnostic } from "@codemirror/lint";
import type { Text } from "@codemirror/state";
import type { Schemas } from "../api/client";

type ServerDiagnostic = Schemas["DiagnosticOut"];

/** A server diagnostic (1-based line/col, end exclusive; no end: to the end of the word) as a range. */
export function toEditorDiagnostic(doc: Text, d: ServerDiagnostic): Diagnostic {
  const lineNo = Math.min(Math.max(d.line, 1), doc.lines);
  const line = doc.line(lineNo);
  const from = Math.min(line.from + Math.max(d.col - 1, 0), line.to);
  let to: number;
  if (d.end_line && d.end_col) {
    const endLine = doc.line(Math.min(Math.max(d.end_line, 1), doc.lines));
    to = Math.min(endLine.from + Math.max(d.end_col - 1, 0), endLine.to);
  } else {
    const word = /^[^\s:,\]}]+/.exec(line.text.slice(from - line.from));
    to = from + (word ? word[0].length : 0);
  }
  if (to <= from) to = Math.min(from + 1, doc.length);
  const severity = d.severity === "error" ? "error" : d.severity === "warning" ? "warning" : "info";
  return {
    from,
    to,
    severity,
    source: d.code,
    message: d.hint ? `${d.message}\nhint: ${d.hint}` : d.message,
  };
}
