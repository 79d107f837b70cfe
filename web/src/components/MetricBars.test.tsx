import { render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { MetricBars, numbers } from "./MetricBars";

describe("MetricBars", () => {
  it("draws a bar per run for each metric, scaled within the metric, values written", () => {
    const { container } = render(
      <MetricBars
        runs={["#3", "#4"]}
        metrics={[
          { key: "accuracy", values: [0.5, 1] },
          { key: "loss", values: [200, null] },
        ]}
      />,
    );
    const groups = container.querySelectorAll("g[data-metric]");
    expect([...groups].map((g) => g.getAttribute("data-metric"))).toEqual(["accuracy", "loss"]);
    const heights = [...groups[0].querySelectorAll("rect")].map((r) => Number(r.getAttribute("height")));
    expect(heights[1]).toBeCloseTo(heights[0] * 2);
    expect(groups[1].querySelectorAll("rect")[1].getAttribute("height")).toBe("0");
    expect(screen.getByRole("img").getAttribute("aria-label")).toContain("loss: #3 200, #4 none");
    expect(screen.getByText("#4")).toBeTruthy();
  });

  it("says so when there is nothing numeric to plot", () => {
    render(<MetricBars runs={["#1", "#2"]} metrics={[{ key: "name", values: numbers(["a", null]) }]} />);
    expect(screen.getByText("No numeric metrics to plot.")).toBeTruthy();
  });
});
