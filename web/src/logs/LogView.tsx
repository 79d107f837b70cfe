import { useVirtualizer } from "@tanstack/react-virtual";
import { useEffect, useMemo, useRef, useState, type CSSProperties } from "react";
import { parseAnsi, stripAnsi, type Style } from "./ansi";

const ROW_HEIGHT = 18;

function css(style: Style): CSSProperties {
  return {
    color: style.fg,
    backgroundColor: style.bg,
    fontWeight: style.bold ? 700 : undefined,
    opacity: style.dim ? 0.7 : undefined,
    fontStyle: style.italic ? "italic" : undefined,
    textDecoration: style.underline ? "underline" : undefined,
  };
}

function Line({ text, query }: { text: string; query: string }) {
  const spans = parseAnsi(text);
  return (
    <>
      {spans.map((span, i) => (
        <span key={i} style={css(span.style)}>
          {query ? highlight(span.text, query) : span.text}
        </span>
      ))}
    </>
  );
}

function highlight(text: string, query: string) {
  const lower = text.toLowerCase();
  const needle = query.toLowerCase();
  const parts = [];
  let at = 0;
  for (let found = lower.indexOf(needle); found !== -1; found = lower.indexOf(needle, at)) {
    if (found > at) parts.push(text.slice(at, found));
    parts.push(<mark key={found}>{text.slice(found, found + needle.length)}</mark>);
    at = found + needle.length;
  }
  parts.push(text.slice(at));
  return parts;
}

export interface LogViewProps {
  lines: string[];
  /** The job's name, for labels and the download file name. */
  name: string;
  /** A URL of the full log on the server; without one the loaded lines are downloaded. */
  downloadUrl?: string;
  live?: boolean;
}

/** A virtualised log: only the rows in view are in the DOM, so 100,000 lines scroll smoothly. */
export function LogView({ lines, name, downloadUrl, live = false }: LogViewProps) {
  const scroller = useRef<HTMLDivElement>(null);
  const [follow, setFollow] = useState(true);
  const [query, setQuery] = useState("");
  const [current, setCurrent] = useState(0);
  const matches = useMemo(() => {
    if (!query) return [];
    const needle = query.toLowerCase();
    const found: number[] = [];
    lines.forEach((line, i) => {
      if (stripAnsi(line).toLowerCase().includes(needle)) found.push(i);
    });
    return found;
    // a live log grows in place (runStream appends to the same array): its length is a dependency too
  }, [lines, lines.length, query]);
  const virtualizer = useVirtualizer({
    count: lines.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 20,
    initialRect: { width: 800, height: 400 },
  });

  useEffect(() => {
    if (follow && lines.length > 0) virtualizer.scrollToIndex(lines.length - 1, { align: "end" });
  }, [follow, lines.length, virtualizer]);

  function go(step: number) {
    if (matches.length === 0) return;
    const next = (current + step + matches.length) % matches.length;
    setCurrent(next);
    setFollow(false);
    virtualizer.scrollToIndex(matches[next], { align: "center" });
  }

  function download() {
    if (downloadUrl) {
      window.location.assign(downloadUrl);
      return;
    }
    const blob = new Blob([lines.map(stripAnsi).join("\n") + "\n"], { type: "text/plain" });
    const link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = `${name}.log`;
    link.click();
    URL.revokeObjectURL(link.href);
  }

  return (
    <div className="logview">
      <div className="log-tools" role="toolbar" aria-label={`Log of ${name}`}>
        <label>
          <span className="sr-only">Search the log</span>
          <input
            type="search"
            placeholder="Search log"
            value={query}
            onChange={(e) => {
              setQuery(e.target.value);
              setCurrent(0);
            }}
            onKeyDown={(e) => {
              if (e.key === "Enter") go(e.shiftKey ? -1 : 1);
            }}
          />
        </label>
        <span className="muted" aria-live="polite">
          {query ? `${matches.length ? current + 1 : 0} / ${matches.length}` : `${lines.length} lines`}
        </span>
        <button type="button" onClick={() => go(-1)} disabled={matches.length === 0} aria-label="Previous match">
          ↑
        </button>
        <button type="button" onClick={() => go(1)} disabled={matches.length === 0} aria-label="Next match">
          ↓
        </button>
        <label className="check">
          <input type="checkbox" checked={follow} onChange={(e) => setFollow(e.target.checked)} /> Follow
        </label>
        <button type="button" onClick={download}>
          Download
        </button>
        {live && <span className="live">live</span>}
      </div>
      <div
        ref={scroller}
        className="log-lines"
        tabIndex={0}
        role="log"
        aria-label={`Log lines of ${name}`}
        onWheel={(e) => {
          if (e.deltaY < 0) setFollow(false);
        }}
      >
        <div style={{ height: virtualizer.getTotalSize(), position: "relative" }}>
          {virtualizer.getVirtualItems().map((row) => (
            <div
              key={row.key}
              className={matches[current] === row.index && query ? "log-line current" : "log-line"}
              style={{ position: "absolute", top: 0, transform: `translateY(${row.start}px)`, height: ROW_HEIGHT }}
              data-line={row.index + 1}
            >
              <span className="ln" aria-hidden="true">
                {row.index + 1}
              </span>
              <Line text={lines[row.index]} query={query} />
            </div>
          ))}
        </div>
      </div>
    </div>
  );
}
