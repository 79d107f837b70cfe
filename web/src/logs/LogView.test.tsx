import { act, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { LogView } from "./LogView";

const lines = Array.from({ length: 100_000 }, (_, i) => (i === 77_777 ? "\x1b[31mERROR\x1b[0m disk full" : `line ${i + 1}`));

describe("LogView", () => {
  it("renders only the rows in view of a 100,000-line log", () => {
    const { container } = render(<LogView name="train" lines={lines} />);
    const rows = container.querySelectorAll(".log-line");
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.length).toBeLessThan(200);
    expect(screen.getByText("100000 lines")).toBeTruthy();
  });

  it("colours ANSI text and never shows the escape codes", () => {
    const { container } = render(<LogView name="build" lines={["\x1b[32mok\x1b[0m 3 tests"]} />);
    const green = [...container.querySelectorAll(".log-line span")].find((s) => s.textContent === "ok") as HTMLElement;
    expect(green.style.color).toBe("rgb(61, 154, 61)");
    expect(container.textContent).not.toContain("\x1b");
  });

  it("searches case-insensitively, counts matches, scrolls to and marks the current one", async () => {
    const short = ["start", "\x1b[31mERROR\x1b[0m disk full", "middle", "another error here", "end"];
    const { container } = render(<LogView name="train" lines={short} />);
    const search = screen.getByPlaceholderText("Search log");
    act(() => {
      fireEvent.change(search, { target: { value: "error" } });
    });
    expect(screen.getByText("1 / 2")).toBeTruthy();
    expect(container.querySelector(".log-line.current")?.getAttribute("data-line")).toBe("2");
    expect(container.querySelector(".log-line.current mark")?.textContent).toBe("ERROR");
    act(() => {
      fireEvent.keyDown(search, { key: "Enter" });
    });
    await waitFor(() => expect(container.querySelector(".log-line.current")?.getAttribute("data-line")).toBe("4"));
    expect(screen.getByText("2 / 2")).toBeTruthy();
    expect(container.querySelectorAll("mark").length).toBe(2);
  });

  it("reports no match for text that only the escape codes contain", () => {
    render(<LogView name="x" lines={["\x1b[31mred\x1b[0m"]} />);
    act(() => {
      fireEvent.change(screen.getByPlaceholderText("Search log"), { target: { value: "31m" } });
    });
    expect(screen.getByText("0 / 0")).toBeTruthy();
  });
});

describe("LogView on a live log", () => {
  it("finds matches in lines appended to the same array after the search was typed", () => {
    const live = ["starting"];
    const { rerender } = render(<LogView name="live" lines={live} live />);
    act(() => {
      fireEvent.change(screen.getByPlaceholderText("Search log"), { target: { value: "epoch" } });
    });
    expect(screen.getByText("0 / 0")).toBeTruthy();
    live.push("epoch 1 done", "epoch 2 done");
    rerender(<LogView name="live" lines={live} live />);
    expect(screen.getByText("1 / 2")).toBeTruthy();
  });
});
