"""Read and write the CSV tables the steps pass to each other."""

import csv
from pathlib import Path

import numpy as np


def read(path: str) -> tuple[list[str], np.ndarray, list[str]]:
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    features = np.array([[float(v) for v in row[:-1]] for row in body])
    return header, features, [row[-1] for row in body]


def write(path: str, header: list[str], features: np.ndarray, labels: list[str]) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(header)
        for row, label in zip(features.tolist(), labels, strict=True):
            out.writerow([f"{v:.6f}" for v in row] + [label])
