"""The command line's runs: reading the table (or making the housing data), training or going on from a
checkpoint with the printing, checkpoint and stopping callbacks, predicting from a bundle, and the exit status.

What the options are is `glassnet.cli.options`'; how a resumed run's options meet its checkpoint,
`glassnet.cli.resume`'; what is printed and written, `glassnet.cli.report`'.
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TextIO

from threadpoolctl import threadpool_limits

from glassnet.bundles import TabularCheckpoint
from glassnet.callbacks import Callback
from glassnet.checkpoints import CheckpointNotSaved, history_log
from glassnet.cli.options import (
    MODEL_OPTIONS,
    PINNING_OPTIONS,
    TRAINING_OPTIONS,
    WRITTEN_OPTIONS,
    SuggestingParser,
    parse_args,
)
from glassnet.cli.report import Split, TrainingPrinter, report_training, reported_as, show_choice
from glassnet.cli.resume import read_by_the_command_line, resumed, stored_options
from glassnet.data import HOUSES, NOISE, TARGET, make_housing, price_bands
from glassnet.encoding import Unseen
from glassnet.files import DISK_FULL, NotWritten, check_outputs, write_atomically
from glassnet.reading import DataError, read_table
from glassnet.records import EpochRecord
from glassnet.rules import non_negative_int, non_negative_number, positive_int
from glassnet.settings import TrainingSettings
from glassnet.tables import split_rows, usable_rows
from glassnet.tabular import TABULAR_TRAINING, TabularModel, WriteCheckpoints, feature_columns
from glassnet.training import TrainingDiverged


def read_split(args: argparse.Namespace) -> Split:
    """The rows to learn from (``--csv`` or the housing data), the usable ones split into training and test parts."""
    if args.csv is not None:
        table, target = read_table(args.csv), args.target
    else:
        table, target = make_housing(args.samples, seed=args.seed), TARGET
        if args.task != "regression":
            bands = price_bands(table.pop(TARGET), args.task)
            target = str(bands.name)
            table = table.assign(**{target: bands})
    columns = feature_columns(table, target, args.drop)
    rows = usable_rows(table, [*columns, target], args.missing, "")  # over the whole table, before the split
    train_rows, test_rows = split_rows(len(rows.frame), args.test_fraction, seed=args.seed)
    return Split(
        len(rows.frame), target, rows.take(train_rows), rows.take(test_rows)
    )  # checked: the model checks no more


def check_files(args: argparse.Namespace) -> None:
    """Refuse, before any work, files the run could not write or would destroy: each it writes must differ from
    every other and from ``--csv``; those it keeps writing when resumed must not be ``--resume``'s own files."""
    written: dict[str, Path | None] = {f"--{name}": getattr(args, name) for name in WRITTEN_OPTIONS}
    written = {"--checkpoint": written.pop("--checkpoint"), **written}
    written["--checkpoint's history log"] = None if args.checkpoint is None else history_log(args.checkpoint)
    check_outputs(written, {"--csv": args.csv})
    del written["--checkpoint"], written["--checkpoint's history log"]  # they may replace those the run resumes
    resumed_log = None if args.resume is None else history_log(args.resume)
    check_outputs(written, {"--resume": args.resume, "--resume's history log": resumed_log})


# --------------------------------------------------------------------------- #
# The two jobs
# --------------------------------------------------------------------------- #


class Interrupted(Exception):
    """Ctrl-C stopped the command; the message says where, and how to go on."""


@dataclass
class Progress(Callback):
    """How far a training command got: its options (the checkpoint's, once resumed), its stage, the last epoch
    finished, the last epoch a checkpoint holds (its ``writer``'s); as a callback, it follows the run's epochs."""

    args: argparse.Namespace
    stage: Literal["preparing", "training", "reporting"] = "preparing"
    epochs: int = 0
    writer: WriteCheckpoints | None = None
    resumed_from: TabularCheckpoint | None = None

    @property
    def checkpointed(self) -> int | None:
        """The epochs the last checkpoint written holds."""
        return None if self.writer is None else self.writer.written

    def on_train_begin(self, model: TabularModel) -> None:
        self.stage = "training"

    def on_epoch_end(self, record: EpochRecord) -> None:
        self.epochs = record.epoch

    def resumed(self, args: argparse.Namespace, checkpoint: TabularCheckpoint) -> None:
        """The run goes on from ``checkpoint``, with ``args`` its options."""
        self.args, self.resumed_from, self.epochs = args, checkpoint, checkpoint.run.epochs_done

    @contextlib.contextmanager
    def explaining_stops(self) -> Iterator[None]:
        """Inside, Ctrl-C is an `Interrupted` that says where the run stopped and how to go on; so is a file that
        could not be written (a full disk): what the checkpoint still holds, and the command that goes on from it."""
        try:
            yield
        except KeyboardInterrupt:
            raise self.interrupted() from None
        except CheckpointNotSaved as error:  # the run's own checkpoint: it holds the epochs it held when resumed
            args, checkpoint = self.args, self.resumed_from
            own = checkpoint is not None and Path(args.resume).resolve() == Path(args.checkpoint).resolve()
            held = checkpoint.run.epochs_done if checkpoint is not None and own else None
            raise OSError(error.advising(f"go on with --resume {args.checkpoint}", held)) from None
        except NotWritten as error:
            args = self.args
            if self.stage != "reporting" or args.checkpoint is None:
                raise
            fix = "free some space, then " if error.errno in DISK_FULL else "once it can be written, "
            whole = f"{args.checkpoint} holds the whole run: {fix}--resume {args.checkpoint} writes the files again"
            raise OSError(f"{error}; {whole}") from None

    def interrupted(self) -> Interrupted:
        """Where the run stopped and, when a checkpoint holds some of it, the command that goes on."""
        args = self.args
        if self.stage == "preparing":
            return Interrupted("before training began; no file was written")
        if self.stage == "reporting":
            return Interrupted("after training and reporting: every file said to be written was written")
        where = f"stopped after epoch {self.epochs} of {args.epochs}"
        if self.checkpointed is not None:
            held = f"{args.checkpoint} holds epochs 1 to {self.checkpointed}"
            return Interrupted(f"{where}; {held}: go on with --resume {args.checkpoint}")
        if args.resume is not None:
            return Interrupted(f"{where}; {args.resume} holds the epochs it had: go on with --resume {args.resume}")
        unwritten = "" if args.checkpoint is None else f" ({args.checkpoint} was not written yet)"
        return Interrupted(f"{where}{unwritten}; --checkpoint PATH lets a run go on after a stop")


class BetweenEpochs(Callback):
    """Once `defer` is called, Ctrl-C is asked for, not obeyed: `check` stops the run between two epochs, so that
    no checkpoint, serialization or output file is cut midway (a KeyboardInterrupt inside pydantic's serializer
    becomes an error of its own). A second Ctrl-C stops at once. Where SIGINT is ignored, or off the main thread,
    nothing changes; leaving the ``with`` block restores what was there. As a callback, it defers once training
    begins and checks at the end of each epoch."""

    def __init__(self) -> None:
        self.asked = False
        self.previous: Any = None

    def __enter__(self) -> BetweenEpochs:
        return self

    def defer(self) -> None:
        """From now on, Ctrl-C waits for `check`."""
        handler = signal.getsignal(signal.SIGINT)
        if threading.current_thread() is threading.main_thread() and handler not in (signal.SIG_IGN, None):
            self.previous = signal.signal(signal.SIGINT, self._ask)

    def _ask(self, signum: int, frame: object) -> None:
        self.asked = True
        signal.signal(signal.SIGINT, self.previous)  # a second Ctrl-C: at once

    def check(self) -> None:
        """Stop here (``KeyboardInterrupt``) if Ctrl-C was pressed."""
        if self.asked:
            raise KeyboardInterrupt

    def on_train_begin(self, model: TabularModel) -> None:
        self.defer()

    def on_epoch_end(self, record: EpochRecord) -> None:
        self.check()

    def __exit__(self, *exception: object) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)


NOT_PINNING = frozenset(MODEL_OPTIONS) - PINNING_OPTIONS
"""The model's options that a run which chooses its network passes on (the task, the seed, ...)."""


def chooses(args: argparse.Namespace) -> bool:
    """Whether a new run chooses its network on its training rows, as `TabularModel` does when nothing about the
    network is given: a ``--csv`` table, and none of `PINNING_OPTIONS`. The housing data keeps its linear network."""
    return args.csv is not None and args.resume is None and not args.given & PINNING_OPTIONS


def train(args: argparse.Namespace, out: TextIO) -> None:
    """Train the model ``args`` describe on their table's training rows (or go on from ``--resume``, with the
    checkpoint's options), with the callbacks that print, write checkpoints and stop between epochs on Ctrl-C;
    then print what happened and write the files asked for. A stop is explained (`Progress.explaining_stops`)."""
    progress = Progress(args)
    with progress.explaining_stops(), BetweenEpochs() as interrupts:
        checkpoint = None
        if args.resume is not None:
            args, checkpoint = resumed(args)
            progress.resumed(args, checkpoint)
        check_files(args)
        with reported_as(str(args.csv or "housing data")):
            split = read_split(args)
            if args.checkpoint is not None:
                stored = {"train.py": stored_options(args)}
                progress.writer = WriteCheckpoints(args.checkpoint, every=args.checkpoint_every, extra=stored)
            # the writer first, so that a checkpoint another process owns is refused before anything prints
            writer = [] if progress.writer is None else [progress.writer]
            callbacks = [*writer, progress, interrupts, TrainingPrinter(args, split, checkpoint, out)]
            validation = None if args.patience is not None else split.test  # patience stops on rows carved for it
            kept = args.print_every if args.trace is not None else None  # an output option: on resume too
            keeps_rows = args.rows is not None or args.rows_plot is not None  # measures only: the same bits
            if checkpoint is not None:
                model = TabularModel.resume(
                    checkpoint,
                    split.train,
                    validation=validation,
                    callbacks=callbacks,
                    name=str(args.resume),
                    keep_gradients=kept,
                )
            elif chooses(args):
                model = TabularModel(**{name: getattr(args, name) for name in MODEL_OPTIONS if name in NOT_PINNING})
                progress.stage = "training"
                started = time.perf_counter()
                model.fit(split.train, split.target, drop=args.drop, classes_from=split.test, keep_rows=keeps_rows)
                show_choice(args, model, split, time.perf_counter() - started, out)
            else:
                model = TabularModel(
                    **{name: getattr(args, name) for name in MODEL_OPTIONS},
                    settings=TrainingSettings.model_validate(training_document(args, kept, keeps_rows)),
                )
                classes_from = split.test if args.patience is not None else None  # else the test rows are watched
                model.fit(
                    split.train,
                    split.target,
                    drop=args.drop,
                    validation=validation,
                    classes_from=classes_from,
                    callbacks=callbacks,
                )
        progress.stage = "reporting"
        report_training(args, model, split, out)
        interrupts.check()  # pressed while reporting: once every file has been written


def training_document(args: argparse.Namespace, keep_gradients: int | None, keep_rows: bool) -> dict[str, Any]:
    """The run's `TrainingSettings` as the document a settings file holds, from its training options (each value
    checked by its field's rule when parsed; the record checks them once more when it reads them): the optimizer
    named, with the learning rate given or its own, and `TABULAR_TRAINING`'s for the rest."""
    optimizer = {"kind": args.optimizer}
    if args.learning_rate is not None:
        optimizer["learning_rate"] = args.learning_rate
    options = {name: getattr(args, name) for name in TRAINING_OPTIONS if name not in ("optimizer", "learning_rate")}
    given = {**options, "optimizer": optimizer, "keep_gradients": keep_gradients, "keep_rows": keep_rows}
    return {**dict(TABULAR_TRAINING), **given}


def predict(args: argparse.Namespace, out: TextIO) -> None:
    """Read a bundle and a table of raw rows; write the rows with a ``prediction`` column
    and, for classifiers, a ``probability_<label>`` column per class."""
    check_outputs({"--output": args.output}, {"--model": args.model, "--predict": args.predict})
    with read_by_the_command_line():
        model = TabularModel.load(args.model)
    unseen: Unseen = args.unseen
    with reported_as(str(args.predict)):
        rows = read_table(args.predict, text=model.features.text_columns)  # cells as the training file read them
        added = ["prediction", *(f"probability_{label}" for label in model.labels or [])]
        taken = [name for name in added if name in rows.columns]
        if taken:
            raise DataError(f"already has column(s) {taken}, which the output adds; rename or drop them")
        result = rows.assign(prediction=model.predict(rows, unseen=unseen))
        if model.labels is not None:
            probabilities = model.predict_proba(rows, unseen=unseen)
            result[added[1:]] = probabilities.to_numpy()
    if args.output is None:
        result.to_csv(out, index=False)
    else:
        write_atomically(args.output, result.to_csv(index=False), name="--output")


def one_blas_thread() -> contextlib.AbstractContextManager[object]:
    """Inside, BLAS computes in one thread, unless the user chose a number with ``OPENBLAS_NUM_THREADS``.

    The matrices here are small: BLAS worker threads cost more than they give, and on a busy
    machine they spin (timings beside the ``train.py default`` configuration in ``bench/compare.py``).
    """
    if "OPENBLAS_NUM_THREADS" in os.environ:
        return contextlib.nullcontext()
    limits: contextlib.AbstractContextManager[object] = threadpool_limits(1, user_api="blas")
    return limits


INTERRUPTED = 128 + signal.SIGINT
"""The exit status after Ctrl-C, as shells give a command that SIGINT stopped: 130."""
READER_GONE = 128 + 13
"""The exit status when standard output's reader has gone (``glassnet ... | head -2``), as shells give a command
that SIGPIPE (13) stopped: 141, the status of ``cat``, ``yes`` or ``sort`` in the same place. Nothing is printed."""


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run the command line: train or predict as the options say, turning bad input into one line on standard
    error; returns the exit status (0 ok, 1 bad input or divergence, 2 bad options, 130 Ctrl-C, 141 standard
    output's reader gone)."""
    args = parse_args(argv)
    stream = sys.stdout if out is None else out
    status = 0
    with one_blas_thread():
        try:
            try:
                (train if args.predict is None else predict)(args, stream)
            except BrokenPipeError:
                raise  # standard output's reader has gone: not bad input (it ends quietly, below)
            except (DataError, ValueError, TypeError, OSError, TrainingDiverged) as error:
                print(f"error: {error}", file=sys.stderr)
                status = 1
            except (Interrupted, KeyboardInterrupt) as stop:
                print(f"interrupted: {stop or 'no file was written'}", file=sys.stderr)
                status = INTERRUPTED
            stream.flush()  # here, not at exit, where a reader gone would be reported as an exception ignored
        except BrokenPipeError:
            return reader_gone()
    return status


def reader_gone() -> int:
    """The reader of standard output has closed it: point standard output at the null device, so that nothing
    left in its buffer is written (or fails) at exit, and return ``READER_GONE`` quietly, as Unix tools end."""
    with contextlib.suppress(OSError, ValueError):
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)
    return READER_GONE


def write_housing(argv: Sequence[str] | None = None) -> int:
    """``python create_data.py --rows N --out homes.csv``: the housing table in raw units, as a CSV file.

    Returns the exit status: 0 written, 1 the file could not be written, 2 bad options.
    """
    defaults = inspect.signature(make_housing).parameters
    parser = SuggestingParser(
        prog="python create_data.py",
        description="Write the generated housing table (features in raw units, prices in dollars) as a CSV file, "
        "to train on with python train.py --csv FILE --target price.",
    )
    parser.add_argument("--rows", type=positive_int.parse, default=HOUSES, help="houses to generate (%(default)s)")
    seed = defaults["seed"].default
    parser.add_argument("--seed", type=non_negative_int.parse, default=seed, help="seeds the houses (%(default)s)")
    parser.add_argument(
        "--noise", type=non_negative_number.parse, default=NOISE, help="price noise in dollars (%(default)s)"
    )
    parser.add_argument("--out", type=Path, required=True, help="the CSV file to write")
    args = parser.parse_args(argv)
    try:
        housing = make_housing(args.rows, seed=args.seed, noise=args.noise)
        write_atomically(args.out, housing.to_csv(index=False), name="--out")
    except (ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"wrote {len(housing):,} houses to {args.out}")
    return 0
