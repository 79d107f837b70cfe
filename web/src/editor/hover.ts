import { hoverTooltip, type Tooltip } from "@codemirror/view";
import { describe } from "./schema";
import { yamlContext } from "./yamlPath";

/** The schema's documentation of the key under the pointer. */
export const schemaHover = hoverTooltip((view, pos): Tooltip | null => {
  const line = view.state.doc.lineAt(pos);
  const match = /^(\s*)(-\s+)?([\w-]+)\s*:/.exec(line.text);
  if (!match) return null;
  const start = line.from + match[1].length + (match[2]?.length ?? 0);
  const end = start + match[3].length;
  if (pos < start || pos > end) return null;
  const ctx = yamlContext(view.state.doc.toString(), end);
  const doc = describe([...ctx.path, match[3]]);
  if (!doc) return null;
  return {
    pos: start,
    end,
    above: true,
    create: () => {
      const dom = document.createElement("div");
      dom.className = "cm-schema-doc";
      const title = document.createElement("strong");
      title.textContent = match[3];
      const body = document.createElement("p");
      body.textContent = doc;
      dom.append(title, body);
      return { dom };
    },
  };
});
