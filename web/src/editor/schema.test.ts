import { describe as group, expect, it } from "vitest";
import { describe, keysAt, nodeAt } from "./schema";

group("the language schema", () => {
  it("offers the top-level keys with their docs", () => {
    const keys = keysAt([]).map((k) => k.key);
    expect(keys).toEqual(expect.arrayContaining(["version", "name", "jobs", "params", "stages"]));
    expect(keysAt([]).find((k) => k.key === "jobs")!.description).not.toBe("");
  });

  it("reaches a job's keys through jobs' additional properties", () => {
    const keys = keysAt(["jobs", "train"]).map((k) => k.key);
    expect(keys).toEqual(expect.arrayContaining(["script", "needs", "inputs", "outputs", "stage"]));
  });

  it("reaches an input's keys and documents them", () => {
    expect(keysAt(["jobs", "train", "inputs", "data"]).map((k) => k.key)).toContain("from");
    expect(describe(["jobs", "train", "inputs", "data", "from"])).toBeTruthy();
  });

  it("says nothing about keys the language does not have", () => {
    expect(nodeAt(["nonsense", "deeper"])).toBeNull();
  });
});
