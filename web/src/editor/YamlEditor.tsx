import { autocompletion, closeBrackets, closeBracketsKeymap, completionKeymap } from "@codemirror/autocomplete";
import { defaultKeymap, history, historyKeymap, indentWithTab } from "@codemirror/commands";
import { yaml } from "@codemirror/lang-yaml";
import { bracketMatching, foldGutter, indentOnInput, syntaxHighlighting, defaultHighlightStyle } from "@codemirror/language";
import { lintGutter, setDiagnostics } from "@codemirror/lint";
import { EditorState } from "@codemirror/state";
import { EditorView, highlightActiveLine, highlightActiveLineGutter, keymap, lineNumbers } from "@codemirror/view";
import { useEffect, useRef } from "react";
import type { Schemas } from "../api/client";
import { completeSpec, type SpecNames } from "./completion";
import { toEditorDiagnostic } from "./diagnostics";
import { schemaHover } from "./hover";

export interface YamlEditorProps {
  value: string;
  onChange: (text: string) => void;
  diagnostics: Schemas["DiagnosticOut"][];
  names: SpecNames;
  label: string;
}

/** The smallest replacement turning `from` into `to` (keeps the cursor and undo history sane). */
export function minimalChange(from: string, to: string): { from: number; to: number; insert: string } | null {
  if (from === to) return null;
  let start = 0;
  while (start < from.length && start < to.length && from[start] === to[start]) start++;
  let endFrom = from.length;
  let endTo = to.length;
  while (endFrom > start && endTo > start && from[endFrom - 1] === to[endTo - 1]) {
    endFrom--;
    endTo--;
  }
  return { from: start, to: endFrom, insert: to.slice(start, endTo) };
}

export default function YamlEditor({ value, onChange, diagnostics, names, label }: YamlEditorProps) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const latest = useRef({ onChange, names });
  latest.current = { onChange, names };

  useEffect(() => {
    const editor = new EditorView({
      parent: host.current!,
      state: EditorState.create({
        doc: value,
        extensions: [
          lineNumbers(),
          highlightActiveLineGutter(),
          foldGutter(),
          history(),
          indentOnInput(),
          bracketMatching(),
          closeBrackets(),
          highlightActiveLine(),
          syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
          yaml(),
          lintGutter(),
          autocompletion({ override: [completeSpec(() => latest.current.names)] }),
          schemaHover,
          keymap.of([...closeBracketsKeymap, ...defaultKeymap, ...historyKeymap, ...completionKeymap, indentWithTab]),
          EditorView.contentAttributes.of({ "aria-label": label }),
          EditorView.updateListener.of((update) => {
            if (update.docChanged) latest.current.onChange(update.state.doc.toString());
          }),
        ],
      }),
    });
    // Keyboard users reach the scroller too (axe: scrollable-region-focusable); Escape then Tab leaves the editor.
    editor.scrollDOM.tabIndex = 0;
    view.current = editor;
    return () => editor.destroy();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  // Text changed outside (a graph edit, a loaded revision): apply it as one small change.
  useEffect(() => {
    const editor = view.current;
    if (!editor) return;
    const change = minimalChange(editor.state.doc.toString(), value);
    if (change) editor.dispatch({ changes: change });
  }, [value]);

  useEffect(() => {
    const editor = view.current;
    if (!editor) return;
    const doc = editor.state.doc;
    editor.dispatch(setDiagnostics(editor.state, diagnostics.map((d) => toEditorDiagnostic(doc, d))));
  }, [diagnostics, value]);

  return <div ref={host} className="yaml-editor" />;
}
