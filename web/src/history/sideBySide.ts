export interface DiffRow {
  left: string | null;
  right: string | null;
  leftNo: number | null;
  rightNo: number | null;
  kind: "same" | "changed" | "removed" | "added" | "hunk";
}

/** A unified diff as rows of two columns: removals beside the additions that replace them. */
export function sideBySide(unified: string): DiffRow[] {
  const rows: DiffRow[] = [];
  let leftNo = 0;
  let rightNo = 0;
  let removed: string[] = [];
  let added: string[] = [];
  const flush = () => {
    const n = Math.max(removed.length, added.length);
    for (let i = 0; i < n; i++) {
      const left = removed[i] ?? null;
      const right = added[i] ?? null;
      rows.push({
        left,
        right,
        leftNo: left === null ? null : ++leftNo,
        rightNo: right === null ? null : ++rightNo,
        kind: left !== null && right !== null ? "changed" : left !== null ? "removed" : "added",
      });
    }
    removed = [];
    added = [];
  };
  for (const line of unified.split("\n")) {
    if (line.startsWith("---") || line.startsWith("+++")) continue;
    const hunk = /^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@/.exec(line);
    if (hunk) {
      flush();
      leftNo = Number(hunk[1]) - 1;
      rightNo = Number(hunk[2]) - 1;
      rows.push({ left: line, right: line, leftNo: null, rightNo: null, kind: "hunk" });
    } else if (line.startsWith("-")) removed.push(line.slice(1));
    else if (line.startsWith("+")) added.push(line.slice(1));
    else if (line.startsWith(" ")) {
      flush();
      rows.push({ left: line.slice(1), right: line.slice(1), leftNo: ++leftNo, rightNo: ++rightNo, kind: "same" });
    } else if (line.startsWith("\\")) continue;
  }
  flush();
  return rows;
}
