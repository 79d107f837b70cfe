import { describe, expect, it } from "vitest";
import { appendLogLine, collapseCarriageReturns, parseAnsi, stripAnsi } from "./ansi";

describe("ANSI colours", () => {
  it("splits a line into styled spans and resets", () => {
    const spans = parseAnsi("\x1b[1;31mfailed\x1b[0m in 2 s");
    expect(spans).toEqual([
      { text: "failed", style: { bold: true, fg: "#d0362f" } },
      { text: " in 2 s", style: {} },
    ]);
  });

  it("reads 256-colour and true-colour codes, and backgrounds", () => {
    expect(parseAnsi("\x1b[38;5;196mx")[0].style.fg).toBe("rgb(255, 0, 0)");
    expect(parseAnsi("\x1b[38;2;10;20;30;48;5;2mx")[0].style).toEqual({ fg: "rgb(10, 20, 30)", bg: "#3d9a3d" });
  });

  it("drops cursor moves, erase-line and terminal titles without showing them", () => {
    expect(stripAnsi("\x1b[2K\x1b[1Gdone\x1b]0;title\x07!")).toBe("done!");
    expect(parseAnsi("\x1b[Kok").map((s) => s.text).join("")).toBe("ok");
  });

  it("survives odd bytes: a lone ESC, an unfinished sequence, huge parameters", () => {
    expect(stripAnsi("a\x1bb")).toBe("ab");
    expect(parseAnsi("\x1b[38;5;99999mx")[0]).toEqual({ text: "x", style: {} });
    expect(parseAnsi("plain \x1b[").map((s) => s.text).join("")).toBe("plain [");
  });
});

describe("carriage returns", () => {
  it("keep a progress bar's last state", () => {
    expect(collapseCarriageReturns("  3%\r 50%\r100%")).toBe("100%");
  });

  it("ignore a trailing \\r and keep lines without one", () => {
    expect(collapseCarriageReturns("done\r")).toBe("done");
    expect(collapseCarriageReturns("no return")).toBe("no return");
  });

  it("look past colour codes when deciding what is empty", () => {
    expect(collapseCarriageReturns("\x1b[32m10%\x1b[0m\r\x1b[0m")).toBe("\x1b[32m10%\x1b[0m");
  });
});

describe("progress bars split into lines at each \\r", () => {
  it("show only the last state, and the lines after it", () => {
    const lines: string[] = ["start"];
    let overwritten = false;
    for (const line of ["  0%\r", " 50%\r", "100%", "done"]) overwritten = appendLogLine(lines, line, overwritten);
    expect(lines).toEqual(["start", "100%", "done"]);
    expect(overwritten).toBe(false);
  });

  it("keep the newest state while the bar is still moving", () => {
    const lines: string[] = [];
    let overwritten = false;
    for (const line of ["10%\r", "20%\r"]) overwritten = appendLogLine(lines, line, overwritten);
    expect(lines).toEqual(["20%"]);
    expect(overwritten).toBe(true);
  });
});
