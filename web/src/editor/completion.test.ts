import { CompletionContext } from "@codemirror/autocomplete";
import { EditorState } from "@codemirror/state";
import { describe, expect, it } from "vitest";
import { completeSpec } from "./completion";

const names = { jobs: ["prepare", "train", "report"], outputs: ["prepare.data", "train.model"] };

function complete(textWithCursor: string) {
  const pos = textWithCursor.indexOf("|");
  const state = EditorState.create({ doc: textWithCursor.replace("|", "") });
  const result = completeSpec(() => names)(new CompletionContext(state, pos, true));
  return result ? { from: result.from, labels: result.options.map((o) => o.label) } : null;
}

describe("completion", () => {
  it("offers a job's keys from the schema", () => {
    const result = complete("jobs:\n  train:\n    ne|");
    expect(result?.labels).toEqual(expect.arrayContaining(["needs", "script", "inputs"]));
    expect(result?.from).toBe("jobs:\n  train:\n    ".length);
  });

  it("offers the other jobs in `needs`, not the job itself", () => {
    const result = complete("jobs:\n  train:\n    needs: [pre|");
    expect(result?.labels).toEqual(["prepare", "report"]);
  });

  it("offers `job.output` references in `from:`", () => {
    expect(complete("jobs:\n  report:\n    inputs:\n      model: {from: tr|")?.labels).toEqual(["prepare.data", "train.model"]);
  });

  it("offers nothing where the schema has no keys", () => {
    expect(complete("jobs:\n  train:\n    script: ec|")).toBeNull();
  });
});
