"""Language server latency on a ~2,000-line pipeline, measured over stdio with a real LSP client.

* `diagnostics`: didChange (one character of a job's description) → publishDiagnostics, with the
  debounce set to 0 (the time the server needs: parse, validate, lint, send); and with the default
  debounce (0.15 s), what a user sees after the last keystroke;
* `completion`: a completion request in `from:`, in `needs:` and in `${{ params. }}`, answered
  from the last analysis; once when the document is analysed, and once right after a keystroke
  (with the default debounce, so the analysis of the keystroke has not run yet).

    .venv/bin/python bench/lsp_latency.py [--jobs 200] [--rounds 40]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from typing import Any

from lsprotocol import types as lsp
from pygls.lsp.client import LanguageClient

URI = "file:///bench/reefline.yaml"


def pipeline(jobs: int) -> str:
    """``jobs`` jobs of 10 lines in a chain, each needing and reading the previous one's output."""
    out = [
        "version: 1",
        "name: big",
        "params:",
        "  seed: {type: int, default: 1, description: Seed}",
        "  lr: {type: float, default: 0.1}",
        "stages: [prepare, train, report]",
        "jobs:",
    ]
    for i in range(jobs):
        out += [
            f"  job{i}:",
            "    stage: train" if i else "    stage: prepare",
            f"    description: Job number {i}.",
            "    script:",
            "      - python step.py --seed ${{ params.seed }} --out ${{ outputs.result.path }}",
            "    inputs:" if i else "    inputs: {}",
            *([f"      data: {{from: job{i - 1}.result, type: dataset/csv}}"] if i else []),
            "    outputs:",
            f"      result: {{path: out/r{i}.csv, type: dataset/csv}}",
            f"    needs: [job{i - 1}]" if i else "",
        ]
    return "\n".join(out) + "\n"


def percentiles(samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    return f"p50 {statistics.median(ms):6.1f} ms   p95 {p95:6.1f} ms   (n={len(ms)})"


class Bench:
    def __init__(self, debounce: float | None) -> None:
        self.client = LanguageClient("bench", "1")
        self.debounce = debounce
        self.published: asyncio.Queue[float] = asyncio.Queue()
        self.version = 1

        @self.client.feature(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def on_diagnostics(params: lsp.PublishDiagnosticsParams) -> None:
            self.published.put_nowait(time.perf_counter())

    async def start(self, text: str) -> None:
        await self.client.start_io(sys.executable, "-m", "reefline.cli.main", "lsp")
        options = {"debounce": self.debounce} if self.debounce is not None else None
        await self.client.initialize_async(
            lsp.InitializeParams(capabilities=lsp.ClientCapabilities(), initialization_options=options)
        )
        self.client.initialized(lsp.InitializedParams())
        item = lsp.TextDocumentItem(uri=URI, language_id="yaml", version=1, text=text)
        self.client.text_document_did_open(lsp.DidOpenTextDocumentParams(item))
        await self.published.get()

    def change(self, line: int, col: int, old: int, new: str) -> float:
        self.version += 1
        r = lsp.Range(lsp.Position(line, col), lsp.Position(line, col + old))
        doc = lsp.VersionedTextDocumentIdentifier(uri=URI, version=self.version)
        change = lsp.TextDocumentContentChangePartial(range=r, text=new)
        sent = time.perf_counter()
        self.client.text_document_did_change(lsp.DidChangeTextDocumentParams(doc, [change]))
        return sent

    async def complete(self, line: int, col: int) -> tuple[float, int]:
        params = lsp.CompletionParams(lsp.TextDocumentIdentifier(URI), lsp.Position(line, col))
        start = time.perf_counter()
        result: Any = await self.client.text_document_completion_async(params)
        return time.perf_counter() - start, len(result.items) if result else 0

    async def stop(self) -> None:
        await self.client.shutdown_async(None)
        self.client.exit(None)
        await self.client.stop()


def _find(text: str, needle: str, offset: int, nth: int = 0) -> tuple[int, int]:
    at = -1
    for _ in range(nth + 1):
        at = text.index(needle, at + 1)
    at += offset
    return text.count("\n", 0, at), at - (text.rfind("\n", 0, at) + 1)


async def measure(jobs: int, rounds: int) -> None:
    text = pipeline(jobs)
    print(f"pipeline: {jobs} jobs, {len(text.splitlines())} lines, {len(text):,} characters")
    line, col = _find(text, "Job number 7", len("Job number "))
    targets = {
        "from:": _find(text, "from: job", len("from: "), nth=jobs // 2),
        "needs:": _find(text, "needs: [job", len("needs: ["), nth=jobs // 2),
        "${{ params. }}": _find(text, "${{ params.seed", len("${{ params."), nth=jobs // 2),
    }
    for debounce, label in ((0.0, "debounce 0"), (None, "default debounce 0.15 s")):
        bench = Bench(debounce)
        await bench.start(text)
        latencies: list[float] = []
        typing: list[float] = []
        steady: list[float] = []
        for i in range(rounds):
            sent = bench.change(line, col, 1, "8" if i % 2 == 0 else "7")
            if debounce is None:
                took, _ = await bench.complete(*targets["from:"])
                typing.append(took)
            latencies.append(await bench.published.get() - sent)
            for where in targets.values():
                took, count = await bench.complete(*where)
                assert count > 0, where
                steady.append(took)
        print(f"diagnostics after an edit ({label}): {percentiles(latencies)}")
        if debounce is None:
            print(f"completion right after a keystroke:           {percentiles(typing)}")
        else:
            print(f"completion (from:, needs:, params.):          {percentiles(steady)}")
        await bench.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args()
    asyncio.run(measure(args.jobs, args.rounds))


if __name__ == "__main__":
    main()
