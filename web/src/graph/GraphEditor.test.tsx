import { fireEvent, render, screen } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import type { SpecGraph } from "../editor/specApi";
import GraphEditor from "./GraphEditor";

const port = (name: string, type: string | null, from: string | null = null) => ({ name, type, path: null, from, range: null });
const job = (name: string, stage: string, inputs: ReturnType<typeof port>[], outputs: ReturnType<typeof port>[]) => ({
  name,
  stage,
  description: null,
  needs: [],
  inputs,
  outputs,
  matrix_size: 1,
  range: null,
  whole: null,
  fields: {},
});

const graph: SpecGraph = {
  name: "flow",
  stages: ["prepare", "train"],
  jobs: [job("prepare", "prepare", [], [port("data", "file")]), job("train", "train", [port("data", "file", "prepare.data")], [port("model", "model/pickle")])],
  edges: [{ kind: "artifact", from_job: "prepare", to_job: "train", from_output: "data", to_input: "data", type: "file" }],
  params: [],
  types: [
    { name: "file", extends: null, description: null, custom: false },
    { name: "dataset/iris", extends: "dataset/csv", description: "Iris rows", custom: true },
  ],
  recovered: false,
  valid: true,
  diagnostics: [],
};

describe("GraphEditor", () => {
  it("draws a node per job in stage columns, and the typed edge labelled", () => {
    const { container } = render(<GraphEditor graph={graph} onEdit={vi.fn(async () => {})} />);
    expect(container.querySelectorAll(".react-flow__node-job").length).toBe(2);
    expect([...container.querySelectorAll(".stage-column-label")].map((e) => e.textContent)).toEqual(["prepare", "train"]);
    expect(screen.getByText("dataset/iris")).toBeTruthy();
    expect(screen.getByText("(custom)")).toBeTruthy();
  });

  it("turns the forms into YAML edits: add a job, connect an output to an input", () => {
    const onEdit = vi.fn(async () => {});
    render(<GraphEditor graph={graph} onEdit={onEdit} />);
    fireEvent.change(screen.getByLabelText("Name"), { target: { value: "report" } });
    fireEvent.change(screen.getByLabelText("Stage"), { target: { value: "train" } });
    fireEvent.click(screen.getByRole("button", { name: "Add job" }));
    expect(onEdit).toHaveBeenLastCalledWith([{ op: "add_job", name: "report", stage: "train" }]);
    fireEvent.change(screen.getByRole("combobox", { name: "Output" }), { target: { value: "train.model" } });
    fireEvent.change(screen.getByLabelText("to input (job.input)"), { target: { value: "report.model" } });
    fireEvent.click(screen.getByRole("button", { name: "Connect" }));
    expect(onEdit).toHaveBeenLastCalledWith([{ op: "connect", from: "train.model", to: "report.model" }]);
  });

  it("renames the selected job", () => {
    const onEdit = vi.fn(async () => {});
    const { container } = render(<GraphEditor graph={graph} onEdit={onEdit} />);
    fireEvent.click(container.querySelector('.react-flow__node[data-id="train"]')!);
    fireEvent.change(screen.getByLabelText("Rename to"), { target: { value: "fit" } });
    fireEvent.click(screen.getByRole("button", { name: "Rename" }));
    expect(onEdit).toHaveBeenLastCalledWith([{ op: "rename_job", name: "train", new_name: "fit" }]);
  });
});

describe("GraphEditor without a mouse", () => {
  it("selects a job from a list and deletes it", () => {
    const onEdit = vi.fn(async () => {});
    render(<GraphEditor graph={graph} onEdit={onEdit} />);
    fireEvent.change(screen.getByLabelText("Selected job"), { target: { value: "prepare" } });
    fireEvent.click(screen.getByRole("button", { name: "Delete job" }));
    expect(onEdit).toHaveBeenLastCalledWith([{ op: "delete_job", name: "prepare" }]);
  });
});
