"""Fit one classifier on the standardized train split and pickle it."""

import argparse
import pickle
from pathlib import Path

from sklearn.linear_model import LogisticRegression
from sklearn.tree import DecisionTreeClassifier

from table import read


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", choices=["tree", "logreg"], required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--max-depth", type=int, required=True)
    parser.add_argument("--C", type=float, required=True)
    args = parser.parse_args()
    _, features, labels = read(args.data)
    if args.model == "tree":
        model = DecisionTreeClassifier(max_depth=args.max_depth, random_state=args.seed)
    else:
        model = LogisticRegression(C=args.C, max_iter=1000)
    model.fit(features, labels)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_bytes(pickle.dumps(model))
    print(f"{args.model}: train accuracy {model.score(features, labels):.3f} -> {args.out}")


if __name__ == "__main__":
    main()
