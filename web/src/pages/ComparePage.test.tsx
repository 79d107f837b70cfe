import { render, screen } from "@testing-library/react";
import { MemoryRouter, Route, Routes } from "react-router-dom";
import { afterEach, describe, expect, it, vi } from "vitest";
import { api } from "../api/client";

import { ComparePage } from "./ComparePage";

const COMPARISON = {
  runs: [
    { id: 3, pipeline: "flow", state: "success", created_at: "2026-12-03T10:00:00Z" },
    { id: 4, pipeline: "flow", state: "failed", created_at: "2026-12-03T11:00:00Z" },
  ],
  params: [
    { key: "lr", values: [0.1, 0.5], differs: true },
    { key: "seed", values: [1, 1], differs: false },
  ],
  metrics: [{ key: "accuracy", values: [0.9, 0.7], differs: true }],
};

afterEach(() => vi.restoreAllMocks());

describe("ComparePage", () => {
  it("asks the server to compare, highlights what differs and plots the metrics", async () => {
    const get = vi.spyOn(api, "GET").mockImplementation((async (path: string) => {
      if (path === "/api/teams/{team}/compare") return { data: COMPARISON, response: new Response("{}") };
      return { data: [], response: new Response("[]") };
    }) as unknown as typeof api.GET);
    render(
      <MemoryRouter initialEntries={["/t/lab/compare?runs=3,4"]}>
        <Routes>
          <Route path="/t/:team/compare" element={<ComparePage />} />
        </Routes>
      </MemoryRouter>,
    );
    await screen.findByTestId("params-table");
    expect(get).toHaveBeenCalledWith("/api/teams/{team}/compare", { params: { path: { team: "lab" }, query: { runs: "3,4" } } });
    const lr = screen.getByRole("rowheader", { name: /lr/ }).closest("tr")!;
    expect(lr.className).toBe("differs");
    expect(screen.getByRole("rowheader", { name: "seed" }).closest("tr")!.className).toBe("");
    expect(screen.getByTestId("metrics-table").textContent).toContain("0.9");
    expect(document.querySelectorAll("svg.bars g[data-metric='accuracy'] rect").length).toBe(2);
  });
});
