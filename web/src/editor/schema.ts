// Reads the language's JSON Schema (`reefline schema`) for completion and hover: the schema node at
// a key path, and the keys a mapping there may have, with their descriptions.
import schemaDocument from "../../../vscode/schema/reefline.schema.json";

export type SchemaNode = {
  $ref?: string;
  description?: string;
  title?: string;
  type?: string | string[];
  properties?: Record<string, SchemaNode>;
  patternProperties?: Record<string, SchemaNode>;
  additionalProperties?: SchemaNode | boolean;
  items?: SchemaNode;
  anyOf?: SchemaNode[];
  oneOf?: SchemaNode[];
  allOf?: SchemaNode[];
  enum?: unknown[];
  default?: unknown;
  $defs?: Record<string, SchemaNode>;
};

export const ROOT = schemaDocument as SchemaNode;

function deref(node: SchemaNode, root: SchemaNode): SchemaNode {
  let current = node;
  for (let hops = 0; current.$ref && hops < 20; hops++) {
    const name = current.$ref.replace(/^#\/\$defs\//, "");
    const target = root.$defs?.[name];
    if (!target) break;
    current = { ...target, description: current.description ?? target.description };
  }
  return current;
}

/** The alternatives of a node (anyOf/oneOf/allOf flattened), each dereferenced. */
function variants(node: SchemaNode, root: SchemaNode): SchemaNode[] {
  const resolved = deref(node, root);
  const options = [...(resolved.anyOf ?? []), ...(resolved.oneOf ?? []), ...(resolved.allOf ?? [])];
  if (options.length === 0) return [resolved];
  return options.flatMap((o) => variants(o, root)).map((v) => ({ ...v, description: v.description ?? resolved.description }));
}

function child(node: SchemaNode, key: string, root: SchemaNode): SchemaNode | null {
  for (const v of variants(node, root)) {
    if (key === "[]") {
      if (v.items) return v.items;
      continue;
    }
    if (v.properties?.[key]) return v.properties[key];
    for (const [pattern, sub] of Object.entries(v.patternProperties ?? {})) {
      if (new RegExp(pattern).test(key)) return sub;
    }
    if (v.additionalProperties && typeof v.additionalProperties === "object") return v.additionalProperties;
  }
  return null;
}

/** The schema node at `path` (null where the schema says nothing). */
export function nodeAt(path: string[], root: SchemaNode = ROOT): SchemaNode | null {
  let node: SchemaNode | null = root;
  for (const key of path) {
    if (!node) return null;
    node = child(node, key, root);
  }
  return node ? deref(node, root) : null;
}

export interface KeyDoc {
  key: string;
  description: string;
  type: string;
}

function typeName(node: SchemaNode, root: SchemaNode): string {
  const kinds = variants(node, root).map((v) => (Array.isArray(v.type) ? v.type.join(" | ") : (v.type ?? (v.enum ? "enum" : "value"))));
  return [...new Set(kinds)].join(" | ");
}

/** The keys a mapping at `path` may have. */
export function keysAt(path: string[], root: SchemaNode = ROOT): KeyDoc[] {
  const node = nodeAt(path, root);
  if (!node) return [];
  const found = new Map<string, KeyDoc>();
  for (const v of variants(node, root)) {
    for (const [key, sub] of Object.entries(v.properties ?? {})) {
      const resolved = deref(sub, root);
      if (!found.has(key)) found.set(key, { key, description: sub.description ?? resolved.description ?? "", type: typeName(sub, root) });
    }
  }
  return [...found.values()];
}

/** The values an enum (or boolean) at `path` may take. */
export function valuesAt(path: string[], root: SchemaNode = ROOT): string[] {
  const node = nodeAt(path, root);
  if (!node) return [];
  return [...new Set(variants(node, root).flatMap((v) => (v.enum ? v.enum.map(String) : v.type === "boolean" ? ["true", "false"] : [])))];
}

/** The description of the key at `path`. */
export function describe(path: string[], root: SchemaNode = ROOT): string | null {
  if (path.length === 0) return null;
  const parent = nodeAt(path.slice(0, -1), root);
  if (!parent) return null;
  const key = path[path.length - 1];
  for (const v of variants(parent, root)) {
    const sub = v.properties?.[key];
    if (sub) return sub.description ?? deref(sub, root).description ?? null;
  }
  return nodeAt(path, root)?.description ?? null;
}
