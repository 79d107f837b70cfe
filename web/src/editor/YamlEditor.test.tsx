import { render, waitFor } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import YamlEditor, { minimalChange } from "./YamlEditor";

const names = { jobs: ["prepare", "train"], outputs: ["prepare.data"] };
const YAML = "# keep me\nversion: 1\njobs:\n  train:\n    inputs:\n      data: {from: prepare.dta}\n";

function lines(container: HTMLElement): string[] {
  return [...container.querySelectorAll(".cm-line")].map((l) => l.textContent ?? "");
}

describe("minimalChange", () => {
  it("replaces only the middle that differs", () => {
    expect(minimalChange("from: prepare.dta}", "from: prepare.data}")).toEqual({ from: 15, to: 15, insert: "a" });
    expect(minimalChange("same", "same")).toBeNull();
    expect(minimalChange("abc", "")).toEqual({ from: 0, to: 3, insert: "" });
  });
});

describe("YamlEditor", () => {
  it("shows a new text from outside (a graph edit) and keeps the rest as it was", async () => {
    const onChange = vi.fn();
    const { container, rerender } = render(<YamlEditor label="YAML" value={YAML} onChange={onChange} diagnostics={[]} names={names} />);
    expect(lines(container)[0]).toBe("# keep me");
    const edited = YAML.replace("prepare.dta", "prepare.data");
    rerender(<YamlEditor label="YAML" value={edited} onChange={onChange} diagnostics={[]} names={names} />);
    await waitFor(() => expect(lines(container)[5]).toBe("      data: {from: prepare.data}"));
    expect(lines(container)[0]).toBe("# keep me");
    // the editor reports the new text once, which equals what it was given: no edit loop
    expect(onChange).toHaveBeenLastCalledWith(edited);
  });

  it("underlines a server diagnostic at its exact range", async () => {
    const diagnostic = {
      code: "RL202",
      severity: "error",
      message: "job 'prepare' has no output 'dta'",
      hint: "did you mean 'data'?",
      file: "reefline.yaml",
      line: 6,
      col: 28,
      end_line: 6,
      end_col: 31,
      path: [],
    };
    const { container } = render(<YamlEditor label="YAML" value={YAML} onChange={() => {}} diagnostics={[diagnostic]} names={names} />);
    await waitFor(() => {
      const range = container.querySelector(".cm-lintRange-error");
      expect(range?.textContent).toBe("dta");
      expect(lines(container).indexOf(range!.closest(".cm-line")!.textContent!)).toBe(5);
    });
  });
});
