import { describe, expect, it } from "vitest";
import { frame, TRACE } from "./fixtures";
import { marksOf, traceGraph, type Trace } from "./traceGraph";

describe("traceGraph", () => {
  it("puts the sources left of the traced output, one node per frame", () => {
    const graph = traceGraph(TRACE);
    expect(graph.stages).toEqual(["1 link back", "traced output"]);
    expect(graph.jobs.map((j) => [j.name, j.stage])).toEqual([
      ["#0 train", "traced output"],
      ["#1 prepare", "1 link back"],
    ]);
    expect(graph.runOf.get("#1 prepare")).toBe(4);
  });

  it("draws an input made by another frame as an edge labelled with its name and short sha", () => {
    const [edge] = traceGraph(TRACE).edges;
    expect(edge).toMatchObject({ kind: "artifact", from_job: "#1 prepare", to_job: "#0 train", from_output: "data", to_input: "data" });
    expect(edge.label).toBe("data aaaaaaaa (stale)");
  });

  it("marks cached-from and stale frames", () => {
    const graph = traceGraph(TRACE);
    expect(graph.jobs[1].marks).toEqual(["cached from run 3"]);
    expect(graph.jobs[1].state).toBe("cached");
    expect(graph.jobs[0].marks).toEqual(["stale"]);
    expect(marksOf(frame(2, "fit", { kind: "component", in_job: "train", status: "failed" }))).toEqual(["component in train", "failed"]);
  });

  it("lays a forward trace out left to right from the output", () => {
    const forward: Trace = { ...TRACE, direction: "forward", frames: [frame(0, "prepare"), frame(1, "train", { derived_from: 0 })] };
    const graph = traceGraph(forward);
    expect(graph.stages).toEqual(["traced output", "1 link on"]);
    expect(graph.edges).toEqual([{ kind: "needs", from_job: "#0 prepare", to_job: "#1 train", label: "reads" }]);
  });
});
