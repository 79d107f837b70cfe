import { render, screen } from "@testing-library/react";
import { MemoryRouter } from "react-router-dom";
import { afterEach, describe, expect, it, vi } from "vitest";
import { api } from "../api/client";
import { Reproduction } from "./Reproduction";

const verdict = (output: string, v: string, fresh: string | null) => ({
  job: "train",
  output,
  path: `${output}.txt`,
  original_sha256: "a".repeat(64),
  new_sha256: fresh,
  verdict: v,
});

afterEach(() => vi.restoreAllMocks());

describe("Reproduction", () => {
  it("lists each original output with its verdict and links the original run", async () => {
    const get = vi.spyOn(api, "GET").mockResolvedValue({
      data: {
        run_id: 9,
        original_run_id: 4,
        state: "success",
        finished: true,
        identical: false,
        outputs: [verdict("model", "identical", "a".repeat(64)), verdict("stamp", "different", "b".repeat(64)), verdict("plot", "missing", null)],
      },
      response: new Response("{}"),
    } as never);
    render(
      <MemoryRouter>
        <Reproduction runId={9} reloadKey="success" />
      </MemoryRouter>,
    );
    expect((await screen.findByTestId("reproduction-summary")).textContent).toBe("2 of 3 outputs differ or are missing");
    expect(get).toHaveBeenCalledWith("/api/runs/{run_id}/reproduction", { params: { path: { run_id: 9 } } });
    expect(screen.getByRole("link", { name: "#4" }).getAttribute("href")).toBe("/runs/4");
    const stamp = screen.getByRole("rowheader", { name: "train.stamp" }).closest("tr")!;
    expect(stamp.className).toBe("differs");
    expect(stamp.textContent).toContain("different");
    expect(screen.getByRole("rowheader", { name: "train.plot" }).closest("tr")!.textContent).toContain("—");
  });
});
