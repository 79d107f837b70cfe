"""Score a model on the held-out split and write its metrics as JSON."""

import json
import pickle
from pathlib import Path

from sklearn.metrics import accuracy_score, f1_score

from steps import table


def main(inputs: dict[str, str], outputs: dict[str, str], matrix: dict[str, str]) -> None:
    model = pickle.loads(Path(inputs["model"]).read_bytes())
    _, features, labels = table.read(inputs["test"])
    predicted = model.predict(features)
    metrics = {
        "model": matrix["model"],
        "test": {
            "accuracy": accuracy_score(labels, predicted),
            "f1_macro": f1_score(labels, predicted, average="macro"),
        },
        "rows": len(labels),
    }
    Path(outputs["metrics"]).parent.mkdir(parents=True, exist_ok=True)
    Path(outputs["metrics"]).write_text(json.dumps(metrics, indent=2))
    print(f"{matrix['model']}: accuracy {metrics['test']['accuracy']:.3f}")
