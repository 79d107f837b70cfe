import { render, screen } from "@testing-library/react";
import { MemoryRouter } from "react-router-dom";
import { afterEach, describe, expect, it, vi } from "vitest";
import { api } from "../api/client";
import { RunOutputs } from "./RunOutputs";

const output = (id: number, job: string, name: string, type = "file") => ({
  id,
  job,
  name,
  path: `${name}.out`,
  type,
  sha256: "c".repeat(64),
  size: 2048,
  download: `/api/runs/7/outputs/${id}/content`,
});

afterEach(() => vi.restoreAllMocks());

describe("RunOutputs", () => {
  it("lists the job's outputs with a download link and a trace link each", async () => {
    vi.spyOn(api, "GET").mockResolvedValue({
      data: [output(1, "prepare", "data"), output(2, "train", "model"), output(3, "train", "plots", "directory")],
      response: new Response("[]"),
    } as never);
    render(
      <MemoryRouter>
        <RunOutputs runId={7} job="train" reloadKey="success" />
      </MemoryRouter>,
    );
    const download = await screen.findByRole("link", { name: "Download model" });
    expect(download.getAttribute("href")).toBe("/api/runs/7/outputs/2/content");
    expect(screen.getByRole("link", { name: "Download plots (tar)" })).toBeTruthy();
    expect(screen.queryByRole("link", { name: "Download data" })).toBeNull();
    expect(screen.getByRole("link", { name: "Trace model" }).getAttribute("href")).toBe("/runs/7/trace?output=train.model");
    expect(screen.getAllByText("2.0 KB").length).toBe(2);
  });
});
