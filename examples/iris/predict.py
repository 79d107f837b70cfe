"""Serve predictions from a trained model, each tagged so that `reefline trace` can explain it.

reefline run                      # train the models first
python predict.py 3               # predicts test row 3 with the tree, logs "prediction-3"
reefline trace prediction-3       # back through predict, train, featurize and prepare
"""

import pickle
import sys
from pathlib import Path

from steps import table

import reefline


@reefline.component(name="predict", owner="iris", description="one prediction of a trained model")
def predict(model_path: str, features_path: str, row: int) -> str:
    model = pickle.loads(Path(model_path).read_bytes())
    _, features, _ = table.read(features_path)
    species = str(model.predict(features[row : row + 1])[0])
    reefline.log_output(f"prediction-{row}", inputs=[model_path, features_path])
    return species


if __name__ == "__main__":
    row = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    print(predict("out/models/tree.pkl", "out/features/test.csv", row))
