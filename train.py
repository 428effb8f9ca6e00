"""Train a glassnet network from the command line, on the housing data or your own CSV.

    python train.py                                  # the linear 4-10-25-1 net on 10,000 houses
    python train.py --task multiclass --activation relu --optimizer adam
    python train.py --csv homes.csv --target price --save model.json
    python train.py --model model.json --predict new_homes.csv --output priced.csv

This is the only module that parses arguments or prints: the library returns
values and raises errors; here they become tables on standard output and, for
bad input, one line on standard error with exit status 1.
"""

from __future__ import annotations

import os

# The matrices here are small: BLAS worker threads cost more than they give, and on a
# busy machine they spin (measured: the default run trains in 0.4 s single-threaded,
# 2.5 s with two threads beside another process). Set before NumPy loads; a user's
# own OPENBLAS_NUM_THREADS wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import io
import json
import math
import sys
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Self, TextIO, TypeVar

import numpy as np
import pandas as pd
from pydantic import BaseModel, model_validator
from tabulate import tabulate

from create_data import (
    TARGET,
    TRUE_COEFFICIENTS,
    DataError,
    TableEncoding,
    TargetEncoding,
    Task,
    make_housing,
    price_bands,
    read_table,
    reject_missing,
    split_rows,
)
from glassnet_guards import (
    non_negative_int,
    non_negative_number,
    open_fraction,
    positive_int,
    positive_number,
    read_model,
    write_atomically,
)
from network import ACTIVATIONS, OPTIMIZERS, Network, NetworkDocument, TrainingDiverged, TrainingHistory

HEADS_BY_TASK: dict[Task, Literal["identity", "sigmoid", "softmax"]] = {
    "regression": "identity",
    "binary": "sigmoid",
    "multiclass": "softmax",
}
SHOWN_ROWS = 5
NumberT = TypeVar("NumberT", int, float)


class Bundle(BaseModel):
    """Everything ``--predict`` needs to turn raw rows into predictions, as one JSON document."""

    format: Literal["glassnet.bundle"] = "glassnet.bundle"
    version: Literal[1] = 1
    network: NetworkDocument
    features: TableEncoding
    target: TargetEncoding

    @model_validator(mode="after")
    def _parts_agree(self) -> Self:
        sizes, head, n_outputs = self.network.layer_sizes, HEADS_BY_TASK[self.target.task], n_outputs_for(self.target)
        if sizes[0] != len(self.features.feature_names):
            raise ValueError(f"network: expected {len(self.features.feature_names)} inputs, got {sizes[0]}")
        if self.network.head != head or sizes[-1] != n_outputs:
            raise ValueError(
                f"network: expected a {head} head with {n_outputs} output(s) for the {self.target.task} target, "
                f"got a {self.network.head} head with {sizes[-1]}"
            )
        return self


def n_outputs_for(target: TargetEncoding) -> int:
    """The network's output width for a target: one per class for multiclass, else 1."""
    return len(target.labels or ()) if target.task == "multiclass" else 1


def decoded_predictions(network: Network, target: TargetEncoding, X: np.ndarray) -> np.ndarray:
    """Predictions for encoded rows (n, k), in the target's own units or labels (n,)."""
    if target.task == "regression":
        return target.decode(network.forward(X))
    return target.decode(network.predict(X))


@dataclass
class Split:
    """One part of the data: raw ``rows`` (with the target column) and the arrays the network sees."""

    rows: pd.DataFrame
    X: np.ndarray
    y: np.ndarray


@dataclass
class Experiment:
    """A network with the encodings that connect it to raw rows, and the data it learns from."""

    network: Network
    features: TableEncoding
    target: TargetEncoding
    train: Split
    test: Split

    def predictions(self, X: np.ndarray) -> np.ndarray:
        """Predictions for encoded rows (n, k), in the target's own units or labels (n,)."""
        return decoded_predictions(self.network, self.target, X)

    def bundle(self) -> Bundle:
        """What ``--predict`` needs later, as one validated document."""
        return Bundle(network=self.network.to_document(), features=self.features, target=self.target)


# --------------------------------------------------------------------------- #
# Arguments
# --------------------------------------------------------------------------- #


def hidden_sizes(text: str) -> list[int]:
    """``"10,25"`` -> ``[10, 25]``; an empty text means no hidden layer."""
    if not text.strip():
        return []
    try:
        return [positive_int.parse(part) for part in text.split(",")]
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated positive integers like 10,25, got {text!r}"
        ) from None


def build_parser() -> argparse.ArgumentParser:
    """The command line; ``--help`` lists every option with its default."""
    parser = argparse.ArgumentParser(
        description="Train a glassnet network on the housing data or on your own CSV, or predict with a saved one."
    )
    model = parser.add_argument_group("network and training")
    model.add_argument(
        "--epochs", type=positive_int.parse, default=150, help="passes over the training rows (%(default)s)"
    )
    model.add_argument(
        "--learning-rate",
        type=positive_number.parse,
        help="step size (default: the optimizer's own: sgd 0.05, momentum 0.01, adam 0.01)",
    )
    model.add_argument(
        "--hidden", type=hidden_sizes, default=[10, 25], help="hidden layer widths, comma-separated (10,25)"
    )
    model.add_argument(
        "--activation", choices=list(ACTIVATIONS), default="identity", help="hidden activation (%(default)s)"
    )
    model.add_argument(
        "--task", choices=list(HEADS_BY_TASK), default="regression", help="what to predict (%(default)s)"
    )
    model.add_argument("--optimizer", choices=list(OPTIMIZERS), default="adam", help="update rule (%(default)s)")
    model.add_argument("--batch-size", type=positive_int.parse, help="rows per step (default: all of them)")
    model.add_argument(
        "--l2", type=non_negative_number.parse, default=0.0, help="weight decay on the weights (%(default)s)"
    )
    model.add_argument(
        "--seed", type=non_negative_int.parse, default=0, help="seeds the data, the split and the network (%(default)s)"
    )
    model.add_argument(
        "--print-every",
        type=positive_int.parse,
        default=10,
        help="a loss-table row every this many epochs (%(default)s)",
    )
    data = parser.add_argument_group("data")
    data.add_argument(
        "--samples", type=positive_int.parse, default=10_000, help="housing rows to generate (%(default)s)"
    )
    data.add_argument("--csv", type=Path, help="train on this CSV instead of the housing data")
    data.add_argument("--target", help="the CSV column to predict (with --csv)")
    data.add_argument(
        "--test-fraction",
        type=open_fraction.parse,
        default=0.2,
        help="share of rows held out for testing (%(default)s)",
    )
    files = parser.add_argument_group("files")
    files.add_argument("--save", type=Path, help="write the trained bundle (network + encodings) as JSON")
    files.add_argument("--report", type=Path, help="write train and test metrics as JSON")
    files.add_argument("--plot", type=Path, help="write a PNG of the loss curves")
    files.add_argument("--model", type=Path, help="a bundle written by --save (with --predict)")
    files.add_argument("--predict", type=Path, help="CSV of rows to predict, without the target column")
    files.add_argument("--output", type=Path, help="where --predict writes its CSV (default: standard output)")
    return parser


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse and cross-check the options; a bad combination exits with status 2 and the usage."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if (args.model is None) != (args.predict is None):
        parser.error("--model and --predict go together")
    if args.output is not None and args.predict is None:
        parser.error("--output goes with --predict")
    if (args.csv is None) != (args.target is None):
        parser.error("--csv and --target go together")
    return args


# --------------------------------------------------------------------------- #
# Data
# --------------------------------------------------------------------------- #


def load_table(args: argparse.Namespace) -> tuple[pd.DataFrame, str]:
    """The raw table to learn from and its target column."""
    if args.csv is not None:
        table = read_table(args.csv)
        reject_missing(table, str(args.csv))
        if args.target not in table.columns:
            raise DataError(
                f"{args.csv}: no column {args.target!r}; the columns are {', '.join(map(str, table.columns))}"
            )
        return table, args.target
    housing = make_housing(args.samples, seed=args.seed)
    if args.task == "regression":
        return housing, TARGET
    bands = price_bands(housing.pop(TARGET), args.task)
    label = str(bands.name)
    return housing.assign(**{label: bands}), label


def prepare(table: pd.DataFrame, target: str, args: argparse.Namespace) -> Experiment:
    """Split the rows, fit the encodings on the training part only, encode both parts, build the network."""
    train_rows, test_rows = split_rows(len(table), args.test_fraction, seed=args.seed)
    train_table, test_table = table.iloc[train_rows], table.iloc[test_rows]
    features = TableEncoding.fit(train_table.drop(columns=target))
    target_encoding = TargetEncoding.fit(train_table[target], args.task)
    train_part, test_part = (
        Split(part, features.transform(part.drop(columns=target)), target_encoding.encode(part[target]))
        for part in (train_table, test_table)
    )
    network = Network(
        [train_part.X.shape[1], *args.hidden, n_outputs_for(target_encoding)],
        activation=args.activation,
        head=HEADS_BY_TASK[args.task],
        seed=args.seed,
    )
    return Experiment(network, features, target_encoding, train_part, test_part)


def metrics(experiment: Experiment, part: Split, target: str) -> dict[str, float]:
    """Regression: ``mse``, ``rmse``, ``r2`` in the target's units. Classification: ``accuracy``, ``log_loss``."""
    predicted = experiment.predictions(part.X)
    if experiment.target.task == "regression":
        actual = part.rows[target].to_numpy(dtype=np.float64)
        mse = float(np.mean((predicted - actual) ** 2))
        total = float(np.mean((actual - actual.mean()) ** 2))
        return {"mse": mse, "rmse": math.sqrt(mse), "r2": 1.0 - mse / total if total > 0 else 0.0}
    actual_labels = experiment.target.decode(part.y)
    return {
        "accuracy": float(np.mean(predicted == actual_labels)),
        "log_loss": experiment.network.loss(part.X, part.y),
    }


# --------------------------------------------------------------------------- #
# Printing
# --------------------------------------------------------------------------- #


class LossTable:
    """Prints a tabulate grid one row at a time, so a long run shows progress as it goes.

    Losses are printed in a fixed-width format so every row has the same column widths.
    """

    def __init__(self, headers: Sequence[str], out: TextIO) -> None:
        self.headers = list(headers)
        self.out = out
        self.started = False

    def add(self, epoch: int, losses: Sequence[float | None]) -> None:
        """Print one row: the header and the row the first time, then the row and its closing rule."""
        row = [[epoch, *("" if loss is None else f"{loss:.6e}" for loss in losses)]]
        grid = tabulate(row, headers=self.headers, tablefmt="grid", disable_numparse=True, colalign=["right"] * 3)
        lines = grid.splitlines()
        print("\n".join(lines if not self.started else lines[-2:]), file=self.out, flush=True)
        self.started = True


def print_table(
    title: str,
    rows: Sequence[Sequence[object]],
    headers: Sequence[str],
    out: TextIO,
    floatfmt: str | Sequence[str] = ",.2f",
) -> None:
    """A titled github-style table."""
    print(f"\n{title}\n{tabulate(rows, headers=headers, tablefmt='github', floatfmt=floatfmt)}", file=out)


def show_predictions(title: str, experiment: Experiment, target: str, out: TextIO) -> None:
    """The first test rows' targets next to the network's predictions."""
    shown = experiment.test.rows.iloc[:SHOWN_ROWS]
    predicted = experiment.predictions(experiment.test.X[:SHOWN_ROWS])
    print_table(title, list(zip(shown[target], predicted, strict=True)), [target, "prediction"], out)


def show_confusion(experiment: Experiment, out: TextIO) -> None:
    """Counts of test rows by true label (rows) and predicted label (columns)."""
    labels = experiment.target.labels or []
    actual = experiment.target.decode(experiment.test.y)
    predicted = experiment.predictions(experiment.test.X)
    counts = pd.crosstab(pd.Categorical(actual, labels), pd.Categorical(predicted, labels), dropna=False)
    rows = [[label, *counts.loc[label]] for label in labels]
    print_table("confusion matrix on the test rows (rows: true, columns: predicted)", rows, ["", *labels], out)


def show_coefficients(experiment: Experiment, housing: bool, out: TextIO) -> None:
    """What a linear network learned, collapsed into one map, in target units per feature unit."""
    weights, _ = experiment.network.linear_map()
    target_scale = experiment.target.scaler.scale[0] if experiment.target.scaler is not None else 1.0
    per_unit = target_scale * weights[:, 0] / experiment.features.scaler.scale
    names = experiment.features.feature_names
    if housing:
        truth = [TRUE_COEFFICIENTS[name] for name in names]
        rows = [
            [name, found, true, 100.0 * (found - true) / abs(true)]
            for name, found, true in zip(names, per_unit, truth, strict=True)
        ]
        headers = ["feature", "recovered $/unit", "true $/unit", "error %"]
    else:
        rows = [[name, found] for name, found in zip(names, per_unit, strict=True)]
        headers = ["feature", "target units per feature unit"]
    floatfmt = ",.2f" if housing else ",.4g"  # a per-unit weight on a large-scale column is tiny, not 0.00
    print_table("coefficients of the collapsed linear map", rows, headers, out, floatfmt=floatfmt)


# --------------------------------------------------------------------------- #
# The two jobs
# --------------------------------------------------------------------------- #


def check_writable(path: Path | None, option: str) -> None:
    """Fail before training, not after, when an output file cannot be written."""
    if path is None:
        return
    if path.is_dir():
        raise ValueError(f"{option} {path}: is a folder, expected a file path")
    if not path.parent.is_dir():
        raise ValueError(f"{option} {path}: the folder {path.parent} does not exist")


def train(args: argparse.Namespace, out: TextIO) -> None:
    """Train, print what happened, and write the files asked for."""
    for path, option in ((args.save, "--save"), (args.report, "--report"), (args.plot, "--plot")):
        check_writable(path, option)
    table, target = load_table(args)
    source = args.csv or "housing data"
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            experiment = prepare(table, target, args)
    except DataError as error:
        raise DataError(f"{source}: {error}") from None
    for warning in caught:
        print(f"note: {source}: {warning.message}", file=sys.stderr)
    network = experiment.network
    print(
        f"{len(table):,} rows ({len(experiment.train.rows):,} train, {len(experiment.test.rows):,} test), "
        f"{experiment.train.X.shape[1]} input features, target {target!r} ({args.task}); {network}",
        file=out,
    )
    show_predictions("before training (first test rows)", experiment, target, out)

    print(f"\ntraining: {args.optimizer}, {args.epochs} epochs, loss = {network.loss_name}", file=out)
    loss_table = LossTable(["epoch", "train loss", "test loss"], out)
    started = time.perf_counter()
    history = network.fit(
        experiment.train.X,
        experiment.train.y,
        epochs=args.epochs,
        learning_rate=args.learning_rate,
        batch_size=args.batch_size,
        optimizer=args.optimizer,
        l2=args.l2,
        validation_data=(experiment.test.X, experiment.test.y),
        record_every=args.print_every,
        on_record=lambda record: loss_table.add(record.epoch, [record.loss, record.val_loss]),
    )
    print(f"trained in {time.perf_counter() - started:.2f} s", file=out)

    show_predictions("after training (first test rows)", experiment, target, out)
    report = {
        "train": metrics(experiment, experiment.train, target),
        "test": metrics(experiment, experiment.test, target),
    }
    not_finite = [
        f"{part} {name}" for part, values in report.items() for name, v in values.items() if not math.isfinite(v)
    ]
    if not_finite:
        raise ValueError(
            f"training ended with predictions beyond float64 ({', '.join(not_finite)} not finite); "
            "try a smaller --learning-rate"
        )
    names = list(report["train"])
    print_table(
        "metrics" + (" (in the target's units)" if args.task == "regression" else ""),
        [[part, *values.values()] for part, values in report.items()],
        ["", *names],
        out,
        floatfmt=["", ",.0f", ",.0f", ".4f"] if args.task == "regression" else ".4f",
    )
    if args.task != "regression":
        show_confusion(experiment, out)
    elif network.activation == "identity":
        show_coefficients(experiment, housing=args.csv is None, out=out)

    if args.save is not None:
        write_atomically(args.save, experiment.bundle().model_dump_json())
        print(f"\nsaved the model bundle to {args.save}", file=out)
    if args.report is not None:
        write_atomically(args.report, json.dumps(report, indent=2, allow_nan=False))
        print(f"wrote the metrics to {args.report}", file=out)
    if args.plot is not None:
        write_atomically(args.plot, loss_plot(history, network.loss_name))
        print(f"wrote the loss curves to {args.plot}", file=out)


def loss_plot(history: TrainingHistory, loss_name: str) -> bytes:
    """A PNG of the train and test loss per recorded epoch."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    frame = history.to_frame()
    figure, axes = plt.subplots(figsize=(7, 4))
    axes.plot(frame.index, frame["loss"], label="train")
    axes.plot(frame.index, frame["val_loss"], label="test")
    axes.set(xlabel="epoch", ylabel=loss_name, yscale="log", title="loss per epoch")
    axes.legend()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(figure)
    return buffer.getvalue()


def predict(args: argparse.Namespace, out: TextIO) -> None:
    """Read a bundle and a CSV of raw rows; write the rows with a ``prediction`` column."""
    check_writable(args.output, "--output")
    bundle = read_model(args.model, Bundle)
    network = Network.from_document(bundle.network)
    rows = read_table(args.predict)
    try:
        X = bundle.features.transform(rows)
    except DataError as error:
        raise DataError(f"{args.predict}: {error}") from None
    result = rows.assign(prediction=decoded_predictions(network, bundle.target, X))
    if args.output is None:
        result.to_csv(out, index=False)
    else:
        write_atomically(args.output, result.to_csv(index=False))


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 bad input or divergence, 2 bad options)."""
    args = parse_args(argv)
    stream = sys.stdout if out is None else out
    try:
        if args.predict is not None:
            predict(args, stream)
        else:
            train(args, stream)
    except (DataError, ValueError, TypeError, OSError, TrainingDiverged) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
