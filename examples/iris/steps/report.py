"""Pick the model with the best macro F1 and write a markdown report."""

import json
from pathlib import Path


def main(inputs: dict[str, list[str]], outputs: dict[str, str]) -> None:
    paths = inputs["metrics"]
    results = [json.loads(Path(p).read_text()) for p in ([paths] if isinstance(paths, str) else paths)]
    results.sort(key=lambda m: (m["test"]["f1_macro"], m["test"]["accuracy"]), reverse=True)
    best = results[0]
    lines = [
        "# Iris: model comparison",
        "",
        "| model | accuracy | macro F1 |",
        "| --- | --- | --- |",
        *(f"| {m['model']} | {m['test']['accuracy']:.3f} | {m['test']['f1_macro']:.3f} |" for m in results),
        "",
        f"Best: **{best['model']}** (macro F1 {best['test']['f1_macro']:.3f} on {best['rows']} held-out rows).",
    ]
    Path(outputs["report"]).write_text("\n".join(lines) + "\n")
    print(f"best model: {best['model']}")
