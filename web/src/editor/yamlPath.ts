// Where the cursor is in a YAML document, read from indentation (works on half-typed text, which a
// parser would refuse): the keys leading to it, and whether it is at a key or in a key's value.

export interface YamlContext {
  /** keys from the root to the mapping the cursor is in; "[]" marks a list item */
  path: string[];
  /** the key whose value the cursor is in (null: the cursor is where a key goes) */
  valueOf: string | null;
  /** the word being typed (what a completion replaces) */
  word: string;
  wordStart: number;
}

const KEY = /^(\s*)(-\s+)?(["']?)([^\s:"'{}[\],#][^:"'{}[\],#]*?)\3\s*:(?:\s|$)/;

function indentOf(line: string): number {
  return line.length - line.trimStart().length;
}

/** The context at `offset` in `text`. */
export function yamlContext(text: string, offset: number): YamlContext {
  const lineStart = text.lastIndexOf("\n", offset - 1) + 1;
  const before = text.slice(lineStart, offset);
  const wordMatch = /[\w./${}-]*$/.exec(before)!;
  const word = wordMatch[0];
  const wordStart = offset - word.length;
  const lines = text.slice(0, lineStart).split("\n");
  lines.pop();

  const path: string[] = [];
  let indent = indentOf(before);
  const current = KEY.exec(before);
  let valueOf: string | null = null;
  if (current) {
    // "- key: …" opens an item of the list above; the item's own keys are deeper than the dash
    if (current[2]) {
      path.unshift("[]");
      indent = current[1].length;
    }
    const afterKey = before.slice(current[0].length);
    valueOf = current[4];
    const flow = innermostFlowKey(afterKey);
    if (flow) {
      path.push(current[4]);
      valueOf = flow.valueOf;
      if (flow.inside) path.push(...flow.inside);
    }
  } else if (/^\s*-\s+/.test(before)) {
    path.unshift("[]");
    indent = indentOf(before);
  }

  for (let i = lines.length - 1; i >= 0 && indent > 0; i--) {
    const line = lines[i];
    if (line.trim() === "" || line.trimStart().startsWith("#")) continue;
    const lineIndent = indentOf(line);
    const dash = /^(\s*)-\s+/.exec(line);
    if (dash && lineIndent < indent) {
      // "- x" or "- name: x" with the cursor deeper: inside that list item
      path.unshift("[]");
      indent = lineIndent;
      continue;
    }
    if (lineIndent >= indent) continue;
    const key = KEY.exec(line);
    if (key) {
      path.unshift(key[4]);
      indent = lineIndent;
    }
  }
  return { path, valueOf, word, wordStart };
}

/** Inside `{a: {b: |` after a key: the keys of the open braces, and the key whose value is typed. */
function innermostFlowKey(text: string): { inside: string[]; valueOf: string | null } | null {
  if (!text.includes("{")) return null;
  const stack: string[][] = [];
  let pendingKey: string | null = null;
  let token = "";
  for (const ch of text) {
    if (ch === "{") {
      stack.push(pendingKey ? [pendingKey] : []);
      pendingKey = null;
      token = "";
    } else if (ch === "}") {
      stack.pop();
      token = "";
    } else if (ch === ":") {
      pendingKey = token.trim();
      token = "";
    } else if (ch === ",") {
      pendingKey = null;
      token = "";
    } else token += ch;
  }
  if (stack.length === 0) return null;
  const inside = stack.flat().filter(Boolean);
  return { inside, valueOf: pendingKey };
}
