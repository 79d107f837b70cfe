import { fireEvent, render, screen } from "@testing-library/react";
import { MemoryRouter } from "react-router-dom";
import { describe, expect, it, vi } from "vitest";
import { TraceView } from "./TraceView";
import { TRACE } from "./fixtures";

describe("TraceView", () => {
  it("draws the frames as nodes with their marks, and a table of frames", () => {
    const { container } = render(
      <MemoryRouter>
        <TraceView trace={TRACE} onOpenRun={vi.fn()} />
      </MemoryRouter>,
    );
    expect(container.querySelectorAll(".react-flow__node-job").length).toBe(2);
    expect(screen.getAllByText("cached from run 3").length).toBeGreaterThan(0);
    expect(screen.getByTestId("frame-0").textContent).toContain("← #1");
  });

  it("opens a frame's run when its node is clicked", () => {
    const onOpenRun = vi.fn();
    const { container } = render(
      <MemoryRouter>
        <TraceView trace={TRACE} onOpenRun={onOpenRun} />
      </MemoryRouter>,
    );
    const prepare = [...container.querySelectorAll(".react-flow__node-job")].find((n) => n.textContent?.includes("#1 prepare"))!;
    fireEvent.click(prepare);
    expect(onOpenRun).toHaveBeenCalledWith(4);
  });
});
