import { describe, expect, it } from "vitest";
import { sideBySide } from "./sideBySide";

describe("sideBySide", () => {
  it("pairs a removal with the addition that replaces it, numbering both sides", () => {
    const diff = "--- rev 1\n+++ rev 2\n@@ -1,3 +1,4 @@\n name: a\n-  script: echo 1\n+  script: echo 2\n+  timeout: 5m\n jobs:\n";
    const rows = sideBySide(diff);
    expect(rows.map((r) => r.kind)).toEqual(["hunk", "same", "changed", "added", "same"]);
    expect(rows[2]).toMatchObject({ left: "  script: echo 1", right: "  script: echo 2", leftNo: 2, rightNo: 2 });
    expect(rows[3]).toMatchObject({ left: null, right: "  timeout: 5m", rightNo: 3 });
    expect(rows[4]).toMatchObject({ leftNo: 3, rightNo: 4 });
  });

  it("is empty for equal revisions", () => {
    expect(sideBySide("")).toEqual([]);
  });
});
