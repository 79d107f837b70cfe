"""How fast the validator rejects hostile specs, and what the size checks cost on a large valid one.

Run: ``.venv/bin/python bench/spec_limits.py``. Prints one row per spec: seconds for ``load_spec``
(best of 3) and the peak of memory allocated while loading (tracemalloc), plus the first diagnostic.
"""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable

from reefline.spec import load_spec

HEAD = "version: 1\nname: bench\n"


def million_job_matrix() -> str:
    values = "[" + ", ".join(str(i) for i in range(1000)) + "]"
    return HEAD + f"jobs:\n  sweep:\n    script: echo\n    matrix:\n      a: {values}\n      b: {values}\n"


def nested_flow() -> str:
    return "[" * 25_000


def billion_laughs() -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    return "\n".join(lines) + "\n"


def valid_10k_matrix_with_outputs() -> str:
    values = "[" + ", ".join(str(i) for i in range(100)) + "]"
    return HEAD + (
        "jobs:\n  sweep:\n    script: echo\n"
        f"    matrix:\n      a: {values}\n      b: {values}\n"
        "    outputs:\n      o: {path: 'out/${{ matrix.a }}-${{ matrix.b }}.txt'}\n"
    )


def measure(build: Callable[[], str]) -> tuple[float, float, str]:
    text = build()
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        result = load_spec(text)
        best = min(best, time.perf_counter() - start)
    tracemalloc.start()
    load_spec(text)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    first = result.diagnostics[0].format().splitlines()[0] if result.diagnostics else "valid"
    return best, peak / 1e6, first


def main() -> None:
    print(f"{'spec':34} {'seconds':>8} {'peak MB':>8}  first diagnostic")
    for build in (million_job_matrix, nested_flow, billion_laughs, valid_10k_matrix_with_outputs):
        seconds, peak, first = measure(build)
        print(f"{build.__name__:34} {seconds:8.3f} {peak:8.1f}  {first[:90]}")


if __name__ == "__main__":
    main()
