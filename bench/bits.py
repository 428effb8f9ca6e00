"""The same bits? Hashes of what training produces over a grid of configurations, to compare two versions.

    python bench/bits.py > before.json      # on the code before a change
    python bench/bits.py > after.json       # on the code after it
    diff before.json after.json             # no output: every configuration gave the same bits

Each line is a configuration and SHA-256 prefixes of its final parameters, its history's JSON, its
gradients and its outputs: every activation, head and optimizer with full batches and minibatches,
``l2`` and patience; runs paused, checkpointed and resumed; command-line runs on the housing data
and on a table with text columns; the scikit-learn estimators; and the housing arrays. A structural
change must leave every line as it was. BLAS kernels differ from machine to machine in the last
bits, so compare files written on one machine.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import itertools
import json
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from glassnet import (  # noqa: E402  (the repository folder must be on the path first)
    GlassnetClassifier,
    GlassnetRegressor,
    Head,
    Network,
    Standardizer,
    TabularModel,
    TrainingDiverged,
    TrainingRun,
    cli,
    get_data,
)
from glassnet.encoding import Task  # noqa: E402
from glassnet.optim import OptimizerName  # noqa: E402

HEADS: dict[Head, tuple[Task, int]] = {
    "identity": ("regression", 2),
    "sigmoid": ("binary", 1),
    "softmax": ("multiclass", 3),
}
OPTIMIZERS: tuple[OptimizerName, ...] = ("sgd", "momentum", "adam")


def digest(*parts: object) -> str:
    """The first 16 hex digits of the SHA-256 of ``parts``: arrays by their bytes, anything else by its text."""
    hashed = hashlib.sha256()
    for part in parts:
        hashed.update(part.tobytes() if isinstance(part, np.ndarray) else str(part).encode())
    return hashed.hexdigest()[:16]


def fits(data: dict[Task, tuple[np.ndarray, np.ndarray]]) -> dict[str, str]:
    """Every activation, head and optimizer, full batch and minibatches, with and without l2 and patience."""
    found = {}
    grid = itertools.product(
        ["identity", "relu", "leaky_relu", "sigmoid", "tanh"],
        HEADS,
        OPTIMIZERS,
        [None, 7, 32],
        [0.0, 0.1],
        [None, 2],
    )
    for activation, head, optimizer, batch_size, l2, patience in grid:
        task, n_out = HEADS[head]
        X, y = data[task]
        if head == "identity":
            y = np.column_stack([y[:, 0], -y[:, 0] * 0.5])
        net = Network([4, 5, 4, n_out], activation=activation, head=head, seed=1)
        watched = (X[70:], y[70:]) if patience is not None else None
        try:
            history = net.fit(
                X[:70],
                y[:70],
                epochs=6,
                batch_size=batch_size,
                optimizer=optimizer,
                l2=l2,
                record_every=2,
                keep_gradients=3,
                validation_data=watched,
                patience=patience,
            )
            trained = digest(net.parameter_vector, history.model_dump_json())
        except TrainingDiverged:
            trained = "diverged " + digest(net.parameter_vector)
        record = net.gradients(X, y, l2=l2)
        gradients = digest(
            *[layer.weights for layer in record.layers], *[layer.bias for layer in record.layers], record.loss
        )
        found[f"fit {activation} {head} {optimizer} {batch_size} {l2} {patience}"] = (
            f"{trained} {gradients} {digest(net.forward(X))}"
        )
    return found


def resumed_runs(X: np.ndarray, y: np.ndarray) -> dict[str, str]:
    """Runs paused after 4 of 9 epochs, saved, loaded and taken to their end."""
    found = {}
    for optimizer in OPTIMIZERS:
        network = Network([4, 6, 1], activation="relu", init="he", seed=2)
        run = TrainingRun(
            network, X[:70], y[:70], epochs=9, optimizer=optimizer, batch_size=16, validation_data=(X[70:], y[70:]),
            patience=4,
        )  # fmt: skip
        run.advance(4)
        with tempfile.TemporaryDirectory() as folder:
            run.save(Path(folder) / "run.json")
            again = TrainingRun.load(Path(folder) / "run.json", X[:70], y[:70], (X[70:], y[70:]))
        again.advance()
        found[f"run {optimizer}"] = digest(again.network.parameter_vector, again.history.model_dump_json())
    return found


def command_lines(folder: Path) -> dict[str, str]:
    """Command-line runs on the housing data and on a table with text columns, and a checkpointed one."""
    rng = np.random.default_rng(0)
    n = 300
    table = pd.DataFrame(
        {
            "size": rng.uniform(10, 100, n),
            "rooms": rng.integers(1, 6, n),
            "city": rng.choice(["a", "b", "c"], n),
            "flag": rng.choice([True, False], n),
            "note": rng.choice(["x", "y"], n),
        }
    )
    effect = table["city"].map({"a": 0, "b": 50, "c": -20})
    table["spend"] = 3 * table["size"] + 10 * table["rooms"] + effect + rng.normal(0, 5, n)
    table["kind"] = np.where(table["spend"] > table["spend"].median(), "hi", "lo")
    table.to_csv(folder / "table.csv", index=False)
    csv = ["--csv", str(folder / "table.csv")]
    runs = {
        "default": ["--samples", "600", "--epochs", "20"],
        "relu multiclass patience": [
            *("--samples", "600", "--epochs", "40", "--task", "multiclass", "--activation", "relu", "--hidden", "8"),
            *("--patience", "3", "--batch-size", "64"),
        ],
        "binary sgd l2": [
            *("--samples", "600", "--epochs", "15", "--task", "binary", "--optimizer", "sgd", "--l2", "0.01"),
            *("--activation", "tanh"),
        ],
        "csv regression": [
            *(*csv, "--target", "spend", "--drop", "kind", "--epochs", "30", "--hidden", "6", "--activation", "relu"),
        ],
        "csv binary": [
            *(*csv, "--target", "kind", "--drop", "spend", "--task", "binary", "--epochs", "30", "--batch-size", "50"),
        ],
    }
    found = {}
    for name, argv in runs.items():
        bundle, report = folder / "bundle.json", folder / "report.json"
        with contextlib.redirect_stderr(io.StringIO()):
            status = cli.main([*argv, "--save", str(bundle), "--report", str(report)], out=io.StringIO())
        model = TabularModel.load(bundle)
        scaler = model.features.scaler
        found[f"cli {name}"] = f"{status} " + digest(
            model.network.parameter_vector, scaler.mean, scaler.scale, report.read_text()
        )
    checkpointed = ["--samples", "600", "--epochs", "30", "--batch-size", "64", "--checkpoint-every", "10"]
    with contextlib.redirect_stderr(io.StringIO()):
        outputs = ["--checkpoint", str(folder / "run.json"), "--save", str(folder / "full.json")]
        cli.main([*checkpointed, *outputs], out=io.StringIO())
    found["cli checkpointed"] = digest(TabularModel.load(folder / "full.json").network.parameter_vector)
    return found


def estimators(data: dict[Task, tuple[np.ndarray, np.ndarray]]) -> dict[str, str]:
    """The scikit-learn estimators, a two-column regression target and text class labels."""
    X, y = data["regression"]
    targets = np.column_stack([y[:, 0] * 100 + 5, y[:, 0]])
    regressor = GlassnetRegressor(hidden_layer_sizes=(7,), epochs=20, random_state=0, batch_size=16)
    regressor.fit(X * 3 + 1, targets)
    scaler = regressor.target_scaler_
    X_classes, classes = data["multiclass"]
    classifier = GlassnetClassifier(epochs=20, random_state=0).fit(X_classes, np.array(["a", "b", "c"])[classes])
    return {
        "sk reg": digest(regressor.network_.parameter_vector, scaler.mean, scaler.scale, regressor.predict(X)),
        "sk clf": digest(classifier.network_.parameter_vector, classifier.predict_proba(X_classes)),
    }


def main() -> None:
    warnings.simplefilter("ignore")
    data = {task: get_data(90, seed=3, task=task) for task, _ in HEADS.values()}
    found = {"get_data": digest(*[array for pair in data.values() for array in pair])}
    found |= fits(data)
    found |= resumed_runs(*data["regression"])
    with tempfile.TemporaryDirectory() as folder:
        found |= command_lines(Path(folder))
    found |= estimators(data)
    columns = np.random.default_rng(5).normal(3, 2, size=(421, 3))
    for order in ("C", "F"):
        scaler = Standardizer.fit(np.asarray(columns, order=order))
        found[f"standardizer {order}"] = digest(scaler.mean, scaler.scale)
    json.dump(found, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
