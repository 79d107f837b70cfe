import type { CompletionContext, CompletionResult } from "@codemirror/autocomplete";
import { keysAt, valuesAt } from "./schema";
import { yamlContext } from "./yamlPath";

export interface SpecNames {
  jobs: string[];
  /** `job.output` references */
  outputs: string[];
}

/** Completion from the schema (keys and enum values), job names in `needs`, `job.output` in `from:`. */
export function completeSpec(names: () => SpecNames) {
  return (context: CompletionContext): CompletionResult | null => {
    const text = context.state.doc.toString();
    const ctx = yamlContext(text, context.pos);
    if (!context.explicit && ctx.word === "" && !/[:\s[,{-]$/.test(text.slice(Math.max(0, context.pos - 1), context.pos))) return null;
    const inNeeds = ctx.valueOf === "needs" || (ctx.path[ctx.path.length - 1] === "[]" && ctx.path[ctx.path.length - 2] === "needs");
    if (inNeeds) {
      const current = ctx.path.includes("jobs") ? ctx.path[ctx.path.indexOf("jobs") + 1] : undefined;
      return {
        from: ctx.wordStart,
        options: names()
          .jobs.filter((j) => j !== current)
          .map((j) => ({ label: j, type: "variable", detail: "job" })),
        validFor: /^[\w.-]*$/,
      };
    }
    if (ctx.valueOf === "from") {
      return { from: ctx.wordStart, options: names().outputs.map((o) => ({ label: o, type: "variable", detail: "output" })), validFor: /^[\w.-]*$/ };
    }
    if (ctx.valueOf !== null) {
      const values = valuesAt([...ctx.path, ctx.valueOf]);
      if (values.length === 0) return null;
      return { from: ctx.wordStart, options: values.map((v) => ({ label: v, type: "enum" })) };
    }
    const keys = keysAt(ctx.path);
    if (keys.length === 0) return null;
    return {
      from: ctx.wordStart,
      options: keys.map((k) => ({ label: k.key, type: "property", detail: k.type, info: k.description || undefined, apply: `${k.key}: ` })),
      validFor: /^[\w-]*$/,
    };
  };
}
