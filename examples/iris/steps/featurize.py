"""Standardize features using the mean and deviation of the train split."""

from steps import table


def main(inputs: dict[str, str], outputs: dict[str, str]) -> None:
    header, train, train_labels = table.read(inputs["train"])
    _, test, test_labels = table.read(inputs["test"])
    mean, std = train.mean(axis=0), train.std(axis=0)
    table.write(outputs["train"], header, (train - mean) / std, train_labels)
    table.write(outputs["test"], header, (test - mean) / std, test_labels)
    print(f"standardized {train.shape[1]} features; train mean {mean.round(2).tolist()}")
