"""Split scikit-learn's bundled iris data into train and test CSV files."""

import argparse
import csv
from pathlib import Path

from sklearn.datasets import load_iris
from sklearn.model_selection import train_test_split

COLUMNS = ["sepal_length", "sepal_width", "petal_length", "petal_width", "species"]


def write(path: str, rows: list[list[float]], labels: list[str]) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(COLUMNS)
        for row, label in zip(rows, labels, strict=True):
            out.writerow([*row, label])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--test-size", type=float, required=True)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--train", required=True)
    parser.add_argument("--test", required=True)
    args = parser.parse_args()
    iris = load_iris()
    names = [str(iris.target_names[t]) for t in iris.target]
    x_train, x_test, y_train, y_test = train_test_split(
        iris.data.tolist(), names, test_size=args.test_size, random_state=args.seed, stratify=names
    )
    write(args.train, x_train, y_train)
    write(args.test, x_test, y_test)
    print(f"train: {len(x_train)} rows -> {args.train}")
    print(f"test:  {len(x_test)} rows -> {args.test}")


if __name__ == "__main__":
    main()
