"""Iris: three species from four flower measurements, with a softmax head and minibatches.

    python -m examples.iris

The data is ``examples/iris.csv``: Fisher's 150 flowers (public domain), 50 per
species, as shipped with scikit-learn. A `TabularModel` takes it as a user's table:
the measurements are standardized and the species names become the classes, both
learned from the training rows only, and predictions come back as species names.

The same 4-16-3 network is trained twice, each time with the initialization
derived for its activation: Xavier (weights with variance ``2 / (n_in + n_out)``)
with tanh, He (variance ``2 / n_in``) with relu. Both are scored on 30% of the
flowers held out from training.
"""

from pathlib import Path
from typing import Literal

import pandas as pd

from glassnet import TabularModel, read_table, split_rows

IRIS_CSV = Path(__file__).with_name("iris.csv")
SPECIES = "species"
PAIRINGS: tuple[tuple[Literal["xavier", "he"], Literal["tanh", "relu"]], ...] = (("xavier", "tanh"), ("he", "relu"))


def load_split(*, test_fraction: float = 0.3, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``iris.csv`` split into (training flowers, held-out flowers), raw measurements and species names."""
    table = read_table(IRIS_CSV)
    train_rows, test_rows = split_rows(len(table), test_fraction, seed=seed)
    return table.iloc[train_rows], table.iloc[test_rows]


def train(flowers: pd.DataFrame, init: Literal["xavier", "he"], activation: Literal["tanh", "relu"]) -> TabularModel:
    """A 4-16-3 softmax network trained by SGD on minibatches of 16 flowers."""
    model = TabularModel(
        task="multiclass",
        hidden=[16],
        activation=activation,
        init=init,
        optimizer="sgd",
        learning_rate=0.05,
        epochs=300,
        batch_size=16,
        seed=0,
    )
    model.fit(flowers, SPECIES)
    return model


def main() -> dict[str, float]:
    """Train with each initialization and return its held-out accuracy by name."""
    training, held_out = load_split()
    species = sorted(set(training[SPECIES]))
    print(f"{len(training)} training flowers, {len(held_out)} held out; species {species}")
    accuracies: dict[str, float] = {}
    for init, activation in PAIRINGS:
        model = train(training, init, activation)
        name = f"{init} init, {activation}"
        accuracies[name] = model.score(held_out)
        correct = int((model.predict(held_out) == held_out[SPECIES]).sum())
        print(f"{name:<17} held-out accuracy {accuracies[name]:.3f} ({correct} of {len(held_out)})")
    print(f"accuracy: {min(accuracies.values()):.3f}")
    return accuracies


if __name__ == "__main__":
    main()
