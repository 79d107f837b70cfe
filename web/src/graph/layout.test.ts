import { describe, expect, it } from "vitest";
import { layoutGraph } from "./layout";

describe("layoutGraph", () => {
  const stages = ["prepare", "train", "report"];
  const jobs = [
    { name: "report", stage: "report" },
    { name: "split", stage: "prepare" },
    { name: "tree", stage: "train" },
    { name: "logreg", stage: "train" },
  ];
  const edges = [
    { from: "split", to: "tree" },
    { from: "split", to: "logreg" },
    { from: "tree", to: "report" },
    { from: "logreg", to: "report" },
  ];

  it("puts each stage in its own column, in the declared order", () => {
    const layout = layoutGraph(stages, jobs, edges);
    expect(layout.stages.map((s) => s.stage)).toEqual(["prepare", "train", "report"]);
    const x = (name: string) => layout.jobs.find((j) => j.name === name)!.x;
    expect(x("split")).toBeLessThan(x("tree"));
    expect(x("tree")).toBe(x("logreg"));
    expect(x("tree")).toBeLessThan(x("report"));
  });

  it("never overlaps two jobs of a stage", () => {
    const many = Array.from({ length: 30 }, (_, i) => ({ name: `job${i}`, stage: "train", ports: i % 4 }));
    const layout = layoutGraph(["train"], many, []);
    const sorted = [...layout.jobs].sort((a, b) => a.y - b.y);
    for (let i = 1; i < sorted.length; i++) expect(sorted[i].y).toBeGreaterThanOrEqual(sorted[i - 1].y + sorted[i - 1].height);
  });

  it("gives a stage that is not declared a column after the declared ones, and ignores edges to unknown jobs", () => {
    const layout = layoutGraph(["a"], [{ name: "x", stage: "a" }, { name: "y", stage: "late" }], [{ from: "x", to: "ghost" }]);
    expect(layout.stages.map((s) => s.stage)).toEqual(["a", "late"]);
  });
});
