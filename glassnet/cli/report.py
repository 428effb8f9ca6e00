"""What the command line prints and writes about a run: the loss table as it trains, predictions, metrics,
the confusion matrix, what the network learned, the diagnosis, the notes of the library, and the files
asked for (``--save``, ``--report``, ``--plot``, ``--trace``, ``--effects``).

`TrainingPrinter` is the callback that prints while the model trains; `report_training` prints the rest and
writes the files once it has.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import sys
import time
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

import numpy as np
import pandas as pd
from tabulate import tabulate

from glassnet.bundles import TabularCheckpoint
from glassnet.callbacks import Callback
from glassnet.data import TRUE_COEFFICIENTS
from glassnet.diagnosis import Diagnosis
from glassnet.files import write_atomically
from glassnet.reading import DataError, DataNote
from glassnet.records import EpochRecord, FeatureEffects, TrainingHistory
from glassnet.rows import RowReport
from glassnet.tables import CheckedRows
from glassnet.tabular import TabularModel

if TYPE_CHECKING:
    from matplotlib.figure import Figure

SHOWN_ROWS = 5
SUSPECTS_SHOWN = 10
"""The most suspect training rows printed when ``--rows`` or ``--rows-plot`` asks for the report: one screen."""
LEARNED = "what the network learned"


@dataclass(frozen=True)
class Split:
    """The rows of a training run: the table's row count, its target column, and the parts trained and tested on,
    checked once (`glassnet.tables.usable_rows`) before the split."""

    rows: int
    target: str
    train: CheckedRows
    test: CheckedRows


def watched(args: argparse.Namespace) -> str:
    """The name of the rows whose loss a run watches: with ``--patience`` rows carved for it, else the test rows."""
    return "validation" if args.patience is not None else "test"


@contextmanager
def reported_as(source: str) -> Iterator[None]:
    """Inside, the library's notes print as ``note: <source>: ...`` on standard error, each once and as
    they come, and its `DataError` messages name ``source`` (a file, or the housing data)."""
    shown: set[str] = set()
    other = warnings.showwarning

    def show(message: Warning | str, category: type[Warning], *args: object, **kwargs: object) -> None:
        if not issubclass(category, DataNote):
            other(message, category, *args, **kwargs)  # type: ignore[arg-type]
        elif str(message) not in shown:
            shown.add(str(message))
            print(f"note: {source}: {message}", file=sys.stderr)

    with warnings.catch_warnings():
        warnings.simplefilter("always", DataNote)
        warnings.showwarning = show
        try:
            yield
        except DataError as error:
            if str(error).startswith(f"{source}: "):  # read_table's own, which names the file
                raise
            raise DataError(f"{source}: {error}") from None


def significant(value: float) -> str:
    """``value`` to 4 significant digits, with thousands separators: 102,539,924 -> 102,500,000; 1.3333 -> 1.333."""
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    exponent = math.floor(math.log10(abs(value)))
    if exponent < -4:
        return f"{value:.3e}"
    return f"{round(value, 3 - exponent):,.{max(0, 3 - exponent)}f}"


class LossTable:
    """Prints a tabulate grid one row at a time, so a long run shows progress as it goes.

    Columns: the epoch, the train loss and the loss of ``validation`` (the name of the rows
    whose loss it is); with ``layers``, also each layer's gradient norm and update ratio.
    Numbers are printed in a fixed-width format so every row has the same column widths.
    """

    def __init__(self, validation: str, layers: int, out: TextIO) -> None:
        self.headers = [
            "epoch",
            "train loss",
            f"{validation} loss",
            *(f"grad norm {i}" for i in range(1, layers + 1)),
            *(f"update {i}" for i in range(1, layers + 1)),
        ]
        self.layers = layers
        self.out = out
        self.last_epoch = 0

    def add(self, record: EpochRecord) -> None:
        """Print one row: the header and the row the first time, then the row and its closing rule."""
        losses = ("" if loss is None else f"{loss:.6e}" for loss in (record.loss, record.val_loss))
        gradients = (f"{value:.3e}" for value in (*record.grad_norms, *record.update_ratios)) if self.layers else ()
        row = [[record.epoch, *losses, *gradients]]
        align = ["right"] * len(self.headers)
        grid = tabulate(row, headers=self.headers, tablefmt="grid", disable_numparse=True, colalign=align)
        lines = grid.splitlines()
        print("\n".join(lines if not self.last_epoch else lines[-2:]), file=self.out, flush=True)
        self.last_epoch = record.epoch


def print_table(
    title: str,
    rows: Sequence[Sequence[object]],
    headers: Sequence[str],
    out: TextIO,
    floatfmt: str | Sequence[str] = ",.2f",
) -> None:
    """A titled github-style table."""
    print(f"\n{title}\n{tabulate(rows, headers=headers, tablefmt='github', floatfmt=floatfmt)}", file=out)


def show_predictions(title: str, model: TabularModel, test_part: CheckedRows, out: TextIO) -> None:
    """The first test rows' targets next to the model's predictions."""
    shown = test_part.take(slice(SHOWN_ROWS))
    predicted = model.predict(shown, unseen="zero")
    print_table(title, list(zip(shown.frame[model.target], predicted, strict=True)), [model.target, "prediction"], out)


def show_metrics(report: dict[str, dict[str, float]], regression: bool, out: TextIO) -> None:
    """Train and test metrics, each to 4 significant digits."""
    rows = [[part, *map(significant, values.values())] for part, values in report.items()]
    headers = ["", *report["train"]]
    title = "metrics" + (" (in the target's units)" if regression else "")
    align = ["left", *["right"] * (len(headers) - 1)]
    table = tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True, colalign=align)
    print(f"\n{title}\n{table}", file=out)


def show_confusion(model: TabularModel, test_part: CheckedRows, out: TextIO) -> None:
    """Counts of test rows by true label (rows) and predicted label (columns)."""
    labels: list[object] = list(model.labels or [])
    predicted = model.predict(test_part, unseen="zero")
    true_codes = pd.Categorical(test_part.frame[model.target], labels).codes
    predicted_codes = pd.Categorical(predicted, labels).codes
    counts = np.zeros((len(labels), len(labels)), dtype=np.int64)  # every class, found among the test rows or not
    np.add.at(counts, (true_codes, predicted_codes), 1)
    rows = [[label, *counts[i]] for i, label in enumerate(labels)]
    print_table(
        "confusion matrix on the test rows (rows: true, columns: predicted)", rows, ["", *map(str, labels)], out
    )


def show_effects(effects: FeatureEffects, housing: bool, out: TextIO) -> None:
    """Each feature's average effect and spread (std) over the training rows: on the target in its units per
    unit of the feature, with the true dollars beside them on the housing data, or on each class's probability.
    A text column has a row per category other than the reference: the average change against it."""
    rows: list[list[object]] = []
    if housing:  # numbers only, one output: the price
        truth = TRUE_COEFFICIENTS
        for e in effects.features:
            error = 100.0 * (e.mean - truth[e.feature]) / abs(truth[e.feature])
            rows.append([e.feature, e.mean, e.std, truth[e.feature], error])
        headers = ["feature", "average $/unit", "std $/unit", "true $/unit", "error %"]
    else:
        for feature in effects.feature_names:
            per_output = [effects.of(feature, output) for output in effects.output]
            first = per_output[0]
            if first.per_category is None:
                rows.append([feature, *(value for e in per_output for value in (e.mean, e.std))])
            for category in first.per_category or {}:
                changes = [(e.per_category or {})[category] for e in per_output]
                rows.append([f"{feature}={category} vs {first.reference}", *(v for c in changes for v in (c, None))])
        parts = ("average", "std")
        if len(effects.output) == 1:
            headers = ["feature", f"average {effects.target}/unit", "std"]
        else:
            headers = ["feature", *(f"{part} P({output})/unit" for output in effects.output for part in parts)]
    what = "in the target's units" if len(effects.output) == 1 else "on each class's probability"
    floatfmt = ",.2f" if housing else ",.4g"  # a per-unit effect of a large-scale column is tiny, not 0.00
    print_table(f"{LEARNED} (per unit of each feature, {what}; over the training rows)", rows, headers, out, floatfmt)


def show_diagnosis(diagnosis: Diagnosis, full: bool, out: TextIO) -> None:
    """What the records say: every finding in one line each, or (``full``) the whole table, healthy or not."""
    if full:
        print(f"\ndiagnosis of the training records\n{diagnosis.table()}", file=out)
        return
    for finding in diagnosis.findings:
        where = "" if finding.layer is None else f", layer {finding.layer}"
        print(f"\ndiagnosis: {finding.kind} from epoch {finding.epoch}{where}: {finding.message}", file=out)


def png(figure: Figure) -> bytes:
    """``figure`` as PNG bytes; the figure is closed."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(figure)
    return buffer.getvalue()


def loss_plot(history: TrainingHistory, loss_name: str, validation: str) -> bytes:
    """A PNG of the train and validation (or test) loss at every epoch."""
    import matplotlib

    matplotlib.use("Agg")
    axes = history.plot(validation=validation)
    axes.set(ylabel=loss_name)
    return png(axes.figure)  # type: ignore[arg-type]


def rows_plot(rows: RowReport) -> bytes:
    """A PNG of the rows' map (`glassnet.rows.RowReport.plot`): confidence against variability, suspects marked."""
    import matplotlib

    matplotlib.use("Agg")
    return png(rows.plot().figure)  # type: ignore[arg-type]


def effects_plot(model: TabularModel, rows: pd.DataFrame, housing: bool) -> bytes:
    """A PNG with a panel per numeric feature: each of ``rows``' local effect against its value (per class
    for classifiers), with the true dollars per unit as a line on the housing data."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    numeric = model.features.numeric
    if not numeric:
        raise ValueError("--effects: the table has no numeric feature whose effect could be drawn against its value")
    local = model.local_effects(rows)
    width = min(3, len(numeric))
    height = -(-len(numeric) // width)
    figure, grid = plt.subplots(height, width, figsize=(4.5 * width, 3.5 * height), squeeze=False)
    labels = [None] if model.labels is None else list(model.labels)
    for axes, feature in zip(grid.flat, numeric, strict=False):
        for label in labels:
            effect = local[feature] if label is None else local[(label, feature)]
            axes.scatter(rows[feature], effect, s=4, alpha=0.4, label=None if label is None else f"P({label})")
        if housing and model.labels is None:
            axes.axhline(TRUE_COEFFICIENTS[feature], color="black", linestyle="--", label="true $/unit")
        unit = f"{model.target} per unit" if model.labels is None else "probability per unit"
        axes.set(xlabel=feature, ylabel=unit, title=f"local effect of {feature}")
        if axes.get_legend_handles_labels()[0]:
            axes.legend(fontsize="small")
    for axes in list(grid.flat)[len(numeric) :]:
        axes.set_visible(False)
    figure.suptitle(f"{LEARNED}: each row's local effect against its value")
    figure.tight_layout()
    return png(figure)


class TrainingPrinter(Callback):
    """Prints a run as it trains: its rows and network, the first test rows' predictions before it (or where it
    resumed from ``checkpoint``), then the loss table every ``--print-every`` epochs, and at the end the time it
    took and where patience stopped it."""

    def __init__(
        self, args: argparse.Namespace, split: Split, checkpoint: TabularCheckpoint | None, out: TextIO
    ) -> None:
        self.args, self.split, self.checkpoint, self.out = args, split, checkpoint, out
        self.table = LossTable(watched(args), len(args.hidden) + 1 if args.gradients else 0, out)
        self.started = 0.0

    def on_train_begin(self, model: TabularModel) -> None:
        args, split, checkpoint, out = self.args, self.split, self.checkpoint, self.out
        print(
            f"{split.rows:,} rows ({len(split.train.frame):,} train, {len(split.test.frame):,} test), "
            f"{len(model.feature_names)} input features, target {split.target!r} ({args.task}); {model.network}",
            file=out,
        )
        if args.csv is not None and model.selection is not None:  # a table's run says why it chose nothing
            print(model.selection.reason, file=out)
        done = 0 if checkpoint is None else checkpoint.run.epochs_done
        moment = "before training" if checkpoint is None else f"resumed from {args.resume} after epoch {done}"
        show_predictions(f"{moment} (first test rows)", model, split.test, out)
        stopping = (
            f"; early stopping after {args.patience} epochs without improvement on "
            f"{model.validation_fraction:.0%} of the training rows"
            if args.patience is not None
            else ""
        )
        epochs = f"{args.epochs} epochs" if not done else f"epochs {done + 1} to {args.epochs}"
        if done >= args.epochs or (checkpoint is not None and checkpoint.run.history.stopped_early):
            epochs = f"nothing left to run: the run ended after epoch {done}"
        print(f"\ntraining: {args.optimizer}, {epochs}, loss = {model.network.loss_name}{stopping}", file=out)
        self.started = time.perf_counter()

    def on_epoch_end(self, record: EpochRecord) -> None:
        if record.epoch == 1 or record.epoch % self.args.print_every == 0 or record.epoch == self.args.epochs:
            self.table.add(record)

    def on_train_end(self, model: TabularModel) -> None:
        history = model.history
        last = history.records[-1]
        if self.table.last_epoch != last.epoch:
            self.table.add(last)
        print(f"trained in {time.perf_counter() - self.started:.2f} s", file=self.out)
        if history.stopped_early:
            print(f"stopped early after epoch {last.epoch}; kept epoch {history.best_epoch}, the best", file=self.out)


def show_choice(args: argparse.Namespace, model: TabularModel, split: Split, seconds: float, out: TextIO) -> None:
    """A run that chose its network: its rows, the candidates' scores on the training rows and the winner
    (`glassnet.selection.Selection.table`), and the time the choice and its training took."""
    print(
        f"{split.rows:,} rows ({len(split.train.frame):,} train, {len(split.test.frame):,} test), "
        f"{len(model.feature_names)} input features, target {split.target!r} ({args.task}); "
        "the network chosen on the training rows",
        file=out,
    )
    selection = model.selection
    assert selection is not None  # a model that has just chosen keeps its choice
    print(f"\n{selection.table()}", file=out)
    print(f"chosen and trained in {seconds:.2f} s: {model.network}", file=out)


def report_training(args: argparse.Namespace, model: TabularModel, split: Split, out: TextIO) -> None:
    """After training: the first test rows' predictions, the metrics, the confusion matrix of a classifier, what
    the network learned and the diagnosis; then the files asked for. Notes and data errors name ``--csv`` or
    the housing data.

    Raises ``ValueError`` when a metric is beyond float64: no file is written then.
    """
    source = str(args.csv or "housing data")
    with reported_as(source):
        show_predictions("after training (first test rows)", model, split.test, out)
        report = {"train": model.evaluate(split.train), "test": model.evaluate(split.test, unseen="zero")}
    not_finite = [
        f"{part} {name}" for part, values in report.items() for name, v in values.items() if not math.isfinite(v)
    ]
    if not_finite:
        raise ValueError(
            f"training ended with predictions beyond float64 ({', '.join(not_finite)} not finite); "
            "try a smaller --learning-rate"
        )
    show_metrics(report, args.task == "regression", out)
    if args.task != "regression":
        with reported_as(source):
            show_confusion(model, split.test, out)
    try:
        effects = model.effects()
    except ValueError as error:  # a column whose unit is beyond float64: the run and its files stand
        print(f"\n{LEARNED}: not shown: {error}", file=out)
    else:
        show_effects(effects, housing=args.csv is None and args.task == "regression", out=out)
    show_diagnosis(model.history.diagnose(held_out=watched(args)), args.gradients, out)
    rows = None if args.rows is None and args.rows_plot is None else model.row_report()
    if rows is not None:
        print(f"\nthe {SUSPECTS_SHOWN} most suspect training rows ({rows!r})\n{rows.table(SUSPECTS_SHOWN)}", file=out)
    write_outputs(args, model, report, split.train.frame, rows, out)


def write_outputs(
    args: argparse.Namespace,
    model: TabularModel,
    report: dict[str, dict[str, float]],
    train_part: pd.DataFrame,
    rows: RowReport | None,
    out: TextIO,
) -> None:
    """The files asked for: the bundle, the metrics, the loss curves, the local effects, the history with its
    gradients, the report of every row and its map. ``train_part`` are the training rows, whose local effects
    ``--effects`` draws; ``rows`` their `RowReport`, when ``--rows`` or ``--rows-plot`` asks for it."""
    history = model.history
    training = {
        "epochs": history.records[-1].epoch,
        "stopped_early": history.stopped_early,
        "best_epoch": history.best_epoch if args.patience is not None else None,  # the test rows' best decides nothing
    }
    if args.save is not None:
        write_atomically(args.save, model.bundle().model_dump_json(), name="--save")
        print(f"\nsaved the model bundle to {args.save}", file=out)
    if args.report is not None:
        selection = None if model.selection is None else model.selection.model_dump(mode="json")
        document = {**report, "training": training, "selection": selection}
        write_atomically(args.report, json.dumps(document, indent=2, allow_nan=False), name="--report")
        print(f"wrote the metrics to {args.report}", file=out)
    if args.plot is not None:
        write_atomically(args.plot, loss_plot(history, model.network.loss_name, watched(args)), name="--plot")
        print(f"wrote the loss curves to {args.plot}", file=out)
    if args.trace is not None:
        write_atomically(args.trace, history.model_dump_json(), name="--trace")
        kept = len(history.kept_gradients())
        print(f"wrote the training history, with the full gradients of {kept} epochs, to {args.trace}", file=out)
    if args.rows is not None and rows is not None:
        write_atomically(args.rows, rows.to_frame().to_csv(), name="--rows")
        print(f"wrote the report of every training row to {args.rows}", file=out)
    if args.rows_plot is not None and rows is not None:
        write_atomically(args.rows_plot, rows_plot(rows), name="--rows-plot")
        print(f"wrote the map of the rows to {args.rows_plot}", file=out)
    if args.effects is not None:  # last: a table whose effects cannot be drawn has had every other file written
        picture = effects_plot(model, train_part, housing=args.csv is None)
        write_atomically(args.effects, picture, name="--effects")
        print(f"wrote the local effects to {args.effects}", file=out)
