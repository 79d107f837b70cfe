import { describe, expect, it } from "vitest";
import { yamlContext } from "./yamlPath";

function at(textWithCursor: string) {
  const offset = textWithCursor.indexOf("|");
  return yamlContext(textWithCursor.replace("|", ""), offset);
}

describe("yamlContext", () => {
  it("reads the keys above a half-typed key from indentation", () => {
    const ctx = at("version: 1\njobs:\n  train:\n    scr|");
    expect(ctx.path).toEqual(["jobs", "train"]);
    expect(ctx.valueOf).toBeNull();
    expect(ctx.word).toBe("scr");
  });

  it("knows the key whose value is typed", () => {
    const ctx = at("jobs:\n  train:\n    needs: [prep|");
    expect(ctx.path).toEqual(["jobs", "train"]);
    expect(ctx.valueOf).toBe("needs");
    expect(ctx.word).toBe("prep");
  });

  it("follows flow mappings: `from:` inside an input", () => {
    const ctx = at("jobs:\n  train:\n    inputs:\n      data: {from: prepare.|");
    expect(ctx.path).toEqual(["jobs", "train", "inputs", "data"]);
    expect(ctx.valueOf).toBe("from");
    expect(ctx.word).toBe("prepare.");
  });

  it("skips comments and blank lines, and list items under a key", () => {
    const ctx = at("jobs:\n  # the first\n\n  a:\n    needs:\n      - |");
    expect(ctx.path).toEqual(["jobs", "a", "needs", "[]"]);
  });

  it("is at the root at column 0", () => {
    expect(at("version: 1\nst|").path).toEqual([]);
  });
});
