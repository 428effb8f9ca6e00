"""Train a glassnet network from the command line, on the housing data or your own table.

    python train.py                                  # the linear 4-10-25-1 net on 10,000 houses
    python train.py --task multiclass --activation relu --optimizer adam
    python train.py --csv homes.csv --target price --drop id --patience 10 --save model.json
    python train.py --model model.json --predict new_homes.csv --output priced.csv
    python train.py --epochs 5000 --gradients --checkpoint run.json   # killed? go on:
    python train.py --resume run.json

Installed (``pip install .``), the same command is ``glassnet``. This is the only module
that parses arguments or prints: `glassnet.tabular.TabularModel` does the work and returns
values, raises errors and warns notes; here they become tables on standard output, notes
on standard error and, for bad input, one line on standard error with exit status 1.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import inspect
import io
import json
import math
import os
import signal
import sys
import threading
import time
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NoReturn, TextIO

import numpy as np
import pandas as pd
from tabulate import tabulate
from threadpoolctl import threadpool_limits

from glassnet.checkpoints import CheckpointNotSaved, history_log, read_checkpoint
from glassnet.data import HOUSES, NOISE, TARGET, TRUE_COEFFICIENTS, make_housing, price_bands
from glassnet.diagnosis import Diagnosis
from glassnet.files import DISK_FULL, NotWritten, WrongFormat, check_outputs, write_atomically
from glassnet.functions import ACTIVATIONS
from glassnet.optim import OPTIMIZERS
from glassnet.records import EpochRecord, FeatureEffects, TrainingHistory
from glassnet.rules import non_negative_int, non_negative_number, open_fraction, positive_int, positive_number
from glassnet.selection import LINEAR
from glassnet.settings import RULES, TrainingSettings, default_learning_rates
from glassnet.tables import MISSING, TASKS, UNSEEN, DataError, DataNote, Unseen, read_table, split_rows, usable_rows
from glassnet.tabular import (
    CHECKPOINT_EVERY,
    TABULAR_TRAINING,
    VALIDATION_FRACTION,
    TabularCheckpoint,
    TabularModel,
    feature_columns,
)
from glassnet.training import TrainingDiverged

if TYPE_CHECKING:
    from matplotlib.figure import Figure

SHOWN_ROWS = 5
MODEL_OPTIONS = ("task", "hidden", "activation", "seed", "missing")
"""The options that are `TabularModel` arguments; their defaults are its own."""
TRAINING_OPTIONS = ("epochs", "optimizer", "learning_rate", "batch_size", "l2", "patience")
"""The options that are training settings; their defaults are `TABULAR_TRAINING`'s, their help its fields'."""
TABLE_OPTIONS = ("target", "drop")
"""The options that say which columns to learn from; a tabular checkpoint records them."""
COMMAND_LINE_OPTIONS = ("print_every", "samples", "csv", "test_fraction")
"""The options of a run that only the command line knows: its checkpoints keep them in their ``extra``."""
RUN_OPTIONS = (*MODEL_OPTIONS, *TRAINING_OPTIONS, *TABLE_OPTIONS, *COMMAND_LINE_OPTIONS)
"""The options that define a training run: a resumed run keeps the values it started with."""
OUTPUT_OPTIONS = ("save", "report", "plot", "effects", "trace", "checkpoint", "checkpoint_every", "gradients")
"""The options that only say what to write or show: given again with --resume, they replace the checkpoint's."""
NEWER_OUTPUT_OPTIONS = frozenset({"effects"})
"""Output options an older checkpoint may lack: a checkpoint without them is read as not asking."""
NEWER_MODEL_OPTIONS = frozenset({"missing"})
"""Model options a version 1 checkpoint's stored options lack: its parts record them."""
WRITTEN_OPTIONS = ("checkpoint", "save", "report", "plot", "effects", "trace")
"""The files a training run writes: each must differ from every other one and from every input."""
PATH_OPTIONS = ("csv", *WRITTEN_OPTIONS)
FOLDER = "folder"
"""The key of a checkpoint's stored options that holds the absolute folder it was written in, against which
its paths are stored; a checkpoint without it (older) stored its paths as typed, relative to where the run began."""

_MODEL_DEFAULTS = {
    name: parameter.default
    for name, parameter in inspect.signature(TabularModel).parameters.items()
    if name in MODEL_OPTIONS
} | {"hidden": LINEAR.hidden, "activation": LINEAR.activation}  # the command line chooses no network: the linear one
DEFAULTS: dict[str, Any] = {
    **{name: list(value) if name == "hidden" else value for name, value in _MODEL_DEFAULTS.items()},
    **{name: getattr(TABULAR_TRAINING, name) for name in ("epochs", "batch_size", "l2", "patience")},
    "optimizer": TABULAR_TRAINING.optimizer_name,
    "learning_rate": None,  # the optimizer's own
    "print_every": 10,  # 16 rows for the default 150 epochs: the curve's shape, on one screen
    "samples": HOUSES,
    "csv": None,
    "target": None,
    "drop": [],
    "test_fraction": 0.2,  # 2,000 of the 10,000 default houses: a test RMSE known to 1 / sqrt(2 n), about 1.6%
    **{name: None for name in PATH_OPTIONS if name != "csv"},
    "checkpoint_every": CHECKPOINT_EVERY,
    "gradients": False,
    "resume": None,
    "model": None,
    "predict": None,
    "output": None,
    "unseen": "error",
}
"""Every option's default, in one place: each comes from its owner (`TabularModel`, `TABULAR_TRAINING`,
the housing data), and those that only the command line has are written here."""


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


def column_names(text: str) -> list[str]:
    """``"id,notes"`` -> ``["id", "notes"]``: comma-separated column names, spaces around them ignored."""
    names = [name.strip() for name in text.split(",")]
    if not all(names):
        raise argparse.ArgumentTypeError(f"expected comma-separated column names like id,notes, got {text!r}")
    return names


def shown_default(value: object) -> str:
    """A default as ``--help`` shows it: ``10,25`` for a list, ``none`` for ``None``."""
    if isinstance(value, list | tuple):
        return ",".join(map(str, value)) or "none"
    return "none" if value is None else str(value)


def _setting_help(name: str, after: str = "") -> str:
    """The help of a training-setting option: its `TrainingSettings` field's description, and its default."""
    description = TrainingSettings.model_fields[name].description
    return f"{description}{after} ({shown_default(DEFAULTS[name])})".replace("%", "%%")


class SuggestingParser(argparse.ArgumentParser):
    """argparse's parser, whose errors also say what was meant: an unknown option gets the closest of its own
    (``--lr`` -> ``--learning-rate``: the same name with ``-`` for ``_``, the initials of a long name, or the
    nearest by `difflib`), an invalid choice the closest choice. (Python 3.14's ``suggest_on_error`` does the
    latter by itself; the project runs on 3.11.)"""

    def error(self, message: str) -> NoReturn:
        super().error(message + self.suggestion(message))

    def suggestion(self, message: str) -> str:
        """``"; did you mean --learning-rate?"`` for an argparse error ``message``, or ``""``."""
        options = [name for action in self._actions for name in action.option_strings if name.startswith("--")]
        if message.startswith("unrecognized arguments: "):
            tokens = message.removeprefix("unrecognized arguments: ").split()
            typed = [t.split("=")[0] for t in tokens if t.startswith("-") and not t[1:2].isdigit() and t[1:2] != "."]
            meant = {name: closest_option(name, options) for name in typed}
            found = [(name, option) for name, option in meant.items() if option is not None]
            if len(found) == 1 and len(typed) == 1:
                return f"; did you mean {found[0][1]}?"
            return f"; did you mean {', '.join(f'{option} (for {name})' for name, option in found)}?" if found else ""
        chosen = message.partition(": invalid choice: ")
        for action in self._actions:
            if chosen[1] and action.choices is not None and chosen[0] == f"argument {'/'.join(action.option_strings)}":
                value = chosen[2].partition(" (choose from ")[0].strip("'\"")
                names = [str(choice) for choice in action.choices]
                same = [name for name in names if name.lower() == value.lower()]
                close = same or difflib.get_close_matches(value, names, n=1, cutoff=0.6)
                return f"; did you mean {close[0]!r}?" if close else ""
        return ""


def closest_option(typed: str, options: Sequence[str]) -> str | None:
    """The option of ``options`` (``--learning-rate``, ...) that ``typed`` most likely meant, or ``None``: the
    same name written with ``_`` or capitals, the initials of a long name (``--lr``), or the nearest by
    `difflib` (similarity at least 0.6)."""
    wanted = "--" + typed.lstrip("-").replace("_", "-").lower()
    if wanted in options:
        return wanted
    initials: dict[str, list[str]] = {}
    for option in options:
        words = option[2:].split("-")
        if len(words) > 1:
            initials.setdefault("".join(word[0] for word in words), []).append(option)
    if len(initials.get(wanted[2:], [])) == 1:
        return initials[wanted[2:]][0]
    close = difflib.get_close_matches(wanted, options, n=1, cutoff=0.6)
    return close[0] if close else None


def build_parser() -> argparse.ArgumentParser:
    """The command line; ``--help`` lists every option with its default (`DEFAULTS`).

    No option has a default of argparse's own: what was not given is absent from the parsed
    namespace, so one parse says both the values and which options were given.
    """
    parser = SuggestingParser(
        description="Train a glassnet network on the housing data or on your own CSV, or predict with a saved one.",
        argument_default=argparse.SUPPRESS,
    )
    model = parser.add_argument_group("network and training")
    model.add_argument("--epochs", type=RULES["epochs"].parse, help=_setting_help("epochs"))
    model.add_argument(
        "--learning-rate",
        type=positive_number.parse,
        help=f"step size (default: the optimizer's own: {default_learning_rates()})",
    )
    model.add_argument(
        "--hidden",
        type=hidden_sizes,
        help=f"hidden layer widths, comma-separated ({shown_default(DEFAULTS['hidden'])})",
    )
    model.add_argument("--activation", choices=list(ACTIVATIONS), help=f"hidden activation ({DEFAULTS['activation']})")
    model.add_argument("--task", choices=TASKS, help=f"what to predict ({DEFAULTS['task']})")
    model.add_argument("--optimizer", choices=list(OPTIMIZERS), help=f"update rule ({DEFAULTS['optimizer']})")
    model.add_argument("--batch-size", type=RULES["batch_size"].parse, help=_setting_help("batch_size"))
    model.add_argument("--l2", type=RULES["l2"].parse, help=_setting_help("l2"))
    model.add_argument(
        "--patience",
        type=RULES["patience"].parse,
        help=_setting_help(
            "patience", f", on a validation part carved from the training rows ({VALIDATION_FRACTION:.0%})"
        ),
    )
    model.add_argument(
        "--seed", type=non_negative_int.parse, help=f"seeds the data, the split and the network ({DEFAULTS['seed']})"
    )
    model.add_argument(
        "--print-every",
        type=positive_int.parse,
        help=f"a loss-table row every this many epochs ({DEFAULTS['print_every']})",
    )
    data = parser.add_argument_group("data")
    data.add_argument("--samples", type=positive_int.parse, help=f"housing rows to generate ({DEFAULTS['samples']})")
    data.add_argument("--csv", type=Path, help="train on this CSV instead of the housing data")
    data.add_argument("--target", help="the CSV column to predict (with --csv)")
    data.add_argument("--drop", type=column_names, help="comma-separated columns that are not features (none)")
    data.add_argument(
        "--missing",
        choices=MISSING,
        help="rows with a missing value (an empty cell, NA, or a placeholder such as ? in a number column) in a "
        f"column used: error, naming them, or drop them, counting them in a note ({DEFAULTS['missing']})",
    )
    data.add_argument(
        "--test-fraction",
        type=open_fraction.parse,
        help=f"share of rows held out for testing ({DEFAULTS['test_fraction']})",
    )
    files = parser.add_argument_group("files")
    files.add_argument("--save", type=Path, help="write the trained bundle (network + encodings) as JSON")
    files.add_argument("--report", type=Path, help="write train and test metrics as JSON")
    files.add_argument("--plot", type=Path, help="write a PNG of the loss curves")
    files.add_argument(
        "--effects", type=Path, help="write a PNG of each numeric feature's local effect against its value"
    )
    files.add_argument(
        "--trace", type=Path, help="write the training history as JSON, with full gradients every --print-every epochs"
    )
    files.add_argument(
        "--checkpoint",
        type=Path,
        help="write everything the run needs to go on, every --checkpoint-every epochs (see --resume)",
    )
    files.add_argument(
        "--checkpoint-every",
        type=positive_int.parse,
        help=f"epochs between two checkpoints ({DEFAULTS['checkpoint_every']})",
    )
    files.add_argument(
        "--resume",
        type=Path,
        help="go on from a --checkpoint file: only the epochs that remain run, to the same end as an unbroken run; "
        "options that define the run must stay as they were, output options given again replace the checkpoint's",
    )
    files.add_argument("--model", type=Path, help="a bundle written by --save (with --predict)")
    files.add_argument("--predict", type=Path, help="CSV of rows to predict, without the target column")
    files.add_argument("--output", help="where --predict writes its CSV; - or none: standard output")
    files.add_argument(
        "--unseen",
        choices=UNSEEN,
        help="with --predict, a category the model never saw: error, or zero (encoded as all zeros) "
        f"({DEFAULTS['unseen']})",
    )
    show = parser.add_argument_group("display")
    show.add_argument(
        "--gradients",
        action="store_true",
        help="add each layer's gradient norm and update ratio to the loss table, and print the full diagnosis",
    )
    return parser


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse and cross-check the options, once; a bad combination exits with status 2 and the usage.

    ``args.given`` holds the options given on the command line; the others take `DEFAULTS`.
    """
    parser = build_parser()
    given = vars(parser.parse_args(argv))
    args = argparse.Namespace(**{**DEFAULTS, **given}, given=set(given))
    if (args.model is None) != (args.predict is None):
        parser.error("--model and --predict go together")
    if args.predict is None:
        for option in ("output", "unseen"):
            if option in args.given:
                parser.error(f"--{option} goes with --predict")
    else:
        for option in ("resume", "checkpoint", "trace", "effects"):
            if getattr(args, option) is not None:
                parser.error(f"--{option} goes with training, not --predict")
    args.output = None if args.output in (None, "-") else Path(args.output)
    if args.resume is None and (args.csv is None) != (args.target is None):  # a resumed run has both
        parser.error("--csv and --target go together")
    return args


def recorded_options(checkpoint: TabularCheckpoint) -> dict[str, Any]:
    """The run-defining options a checkpoint's own parts record: the model's, the training's and the table's."""
    model, training = checkpoint.settings, checkpoint.run.settings
    return {
        **{name: getattr(model, name) for name in MODEL_OPTIONS},
        **{name: getattr(training, name) for name in TRAINING_OPTIONS if name != "optimizer"},
        "optimizer": training.optimizer_name,
        "target": checkpoint.target,
        "drop": checkpoint.drop,
    }


def _stored(checkpoint: TabularCheckpoint, recorded: dict[str, Any], path: Path) -> dict[str, Any]:
    """The command line's own options in ``checkpoint.extra``, as option values (paths as `Path`).

    A version 1 checkpoint stores every option, those that the checkpoint's parts record
    (``recorded``) as well: they must agree with those parts, or the file is refused naming the options.
    """
    stored = checkpoint.extra.get("train.py")
    own, version_1 = {*COMMAND_LINE_OPTIONS, *OUTPUT_OPTIONS}, {*RUN_OPTIONS, *OUTPUT_OPTIONS} - NEWER_MODEL_OPTIONS
    if not isinstance(stored, dict) or set(stored) - {FOLDER} | NEWER_OUTPUT_OPTIONS not in (own, version_1):
        raise ValueError(
            f"--resume {path}: not a checkpoint of the command line (TabularModel.resume reads those of the library)"
        )
    disagree = [
        f"--{name.replace('_', '-')} {stored[name]!r} in extra, {recorded[name]!r} in the run"
        for name in recorded
        if name in stored and not _same_option(name, stored[name], recorded[name], recorded)
    ]
    if disagree:
        raise ValueError(f"--resume {path}: the checkpoint's options disagree with its run: {', '.join(disagree)}")
    return {name: value for name, value in stored.items() if name in own}


@dataclass(frozen=True)
class StoredPaths:
    """Where a checkpoint's stored paths point, from the file given to ``--resume``.

    A checkpoint stores its paths relative to the folder it was written in, and that folder (`FOLDER`): they
    resolve against the folder it is in now, so a run resumed from another folder writes beside its checkpoint,
    never into the folder it is resumed from. A checkpoint without `FOLDER` stores them as typed, relative to the
    folder the run began in, which it does not record: that folder is found from its stored ``--checkpoint`` where the
    file's path ends with it (``a/run.json`` read as ``/x/a/run.json`` began in ``/x``), else taken to be the
    checkpoint's own. Where the checkpoint is not in the folder it was written in, or has no `FOLDER`, a stored output
    that already exists may be another run's: it is refused, and the option to give named.
    """

    resume: Path
    base: Path
    moved_from: str | None
    """The folder the checkpoint was written in, when it is not there now; ``""`` for a checkpoint without `FOLDER`."""

    @classmethod
    def of(cls, resume: Path, stored: dict[str, Any]) -> StoredPaths:
        """The paths stored in ``stored`` (a checkpoint's options) as the checkpoint ``resume`` places them."""
        folder = stored.get(FOLDER)
        if isinstance(folder, str):
            here = resume.parent
            same = _same_folder(here, Path(folder))
            return cls(resume, here, None if same else folder)
        typed = Path(str(stored.get("checkpoint") or ""))
        depth = len(typed.parts)
        began = resume.parent
        if not typed.is_absolute() and ".." not in typed.parts and depth:
            for where in (resume, Path(os.path.abspath(resume))):  # as given, so that messages name it so
                if where.parts[-depth:] == typed.parts:
                    began = Path(*where.parts[:-depth])
                    break
        return cls(resume, began, "")

    def output(self, name: str, value: str) -> Path:
        """The stored output ``--name value``, where it points; refused when it exists and may be another run's."""
        path = self._placed(value)
        if self.moved_from is not None and path.exists():
            option = f"--{name.replace('_', '-')}"
            if self.moved_from:
                why = f"the checkpoint was written in {self.moved_from}, where {option} was {value}"
            else:
                why = f"the checkpoint, written by an older glassnet, keeps {option} {value} as typed in another folder"
            raise ValueError(
                f"--resume {self.resume}: {option} {path} exists and may be another run's file: {why}; "
                f"give {option} PATH to say where to write it"
            )
        return path

    def table(self, value: str) -> Path:
        """The stored ``--csv value``, where it points; refused when no file is there."""
        path = self._placed(value)
        if not path.is_file():
            kept = "relative to the checkpoint" if self.moved_from != "" else "as typed where the run began"
            raise ValueError(
                f"--resume {self.resume}: the table the run trained on, --csv {value} ({kept}), is not at {path}: "
                "give --csv PATH, the table the run trained on"
            )
        return path

    def _placed(self, value: str) -> Path:
        path = Path(value)
        return path if path.is_absolute() else self.base / path


def _same_folder(here: Path, there: Path) -> bool:
    try:
        return os.path.samefile(here, there)
    except OSError:  # the folder it was written in is gone
        return False


def _same_option(name: str, given: object, recorded: object, run: dict[str, Any]) -> bool:
    """Whether an option's value ``given`` is the ``recorded`` one. No learning rate means the optimizer's
    default, and no target the housing data's (a version 1 checkpoint stores what was given)."""
    if name == "learning_rate" and given is None:
        return bool(recorded == OPTIMIZERS[run["optimizer"]].model_fields["learning_rate"].default)
    if name == "target" and given is None:
        return True
    return given == recorded


COMMAND_LINE_READERS = {
    "glassnet.bundle": "give it to --model, with --predict",
    "glassnet.tabular-checkpoint": "give it to --resume",
}
"""The option that reads each file the command line writes, for a file given to another one."""


@contextmanager
def read_by_the_command_line() -> Iterator[None]:
    """Inside, a file of another glassnet format says which option reads it, when one does."""
    try:
        yield
    except WrongFormat as error:
        if error.found not in COMMAND_LINE_READERS:
            raise
        raise ValueError(error.advising(COMMAND_LINE_READERS[error.found])) from None


def resumed(args: argparse.Namespace) -> tuple[argparse.Namespace, TabularCheckpoint]:
    """The options of the run ``args.resume`` holds, with the output options given now in place of its own.

    Raises ``ValueError`` naming the file when it is not a checkpoint of this command, or when
    an option that defines the run was given with another value.
    """
    with read_by_the_command_line():
        checkpoint = read_checkpoint(args.resume, TabularCheckpoint)
    run_options = recorded_options(checkpoint)
    stored = _stored(checkpoint, run_options, args.resume)
    paths = StoredPaths.of(args.resume, checkpoint.extra["train.py"])
    for name in PATH_OPTIONS:
        value = stored.get(name)
        if name == "checkpoint" or value is None or name in args.given:
            continue
        stored[name] = paths.table(value) if name == "csv" else paths.output(name, value)
    stored["checkpoint"] = args.resume  # the file itself, wherever it is now, goes on being written
    recorded = {**run_options, **stored}
    changed = [
        f"--{name.replace('_', '-')} {getattr(args, name)} (the checkpoint's run: {recorded[name]})"
        for name in RUN_OPTIONS
        if name in args.given
        and not _same_option(name, getattr(args, name), recorded[name], recorded)
        and name != "csv"  # a moved table is welcome: its content is compared with the checkpoint's fingerprint
    ]
    if changed:
        raise ValueError(
            f"--resume {args.resume}: a resumed run keeps the settings it started with; changed: {', '.join(changed)}"
        )
    merged = {name: getattr(args, name) if name in args.given else recorded[name] for name in recorded}
    return argparse.Namespace(**{**vars(args), **merged}), checkpoint


def stored_options(args: argparse.Namespace) -> dict[str, Any]:
    """The command line's own options as JSON values, for its checkpoints: the rest the checkpoint records itself.

    Paths are stored relative to the checkpoint's folder, which is stored too (`FOLDER`, absolute), so that
    `StoredPaths` places them beside the checkpoint wherever it is resumed from.
    """
    folder = os.path.abspath(Path(args.checkpoint).parent) if args.checkpoint is not None else os.getcwd()

    def stored(value: object) -> object:
        if not isinstance(value, Path):
            return value
        try:
            return os.path.relpath(os.path.abspath(value), folder)
        except ValueError:  # on another drive
            return os.path.abspath(value)

    return {
        **{name: stored(getattr(args, name)) for name in (*COMMAND_LINE_OPTIONS, *OUTPUT_OPTIONS)},
        FOLDER: folder,
    }


# --------------------------------------------------------------------------- #
# Data
# --------------------------------------------------------------------------- #


def load_table(args: argparse.Namespace) -> tuple[pd.DataFrame, str]:
    """The raw table to learn from and its target column."""
    if args.csv is not None:
        return read_table(args.csv), args.target
    housing = make_housing(args.samples, seed=args.seed)
    if args.task == "regression":
        return housing, TARGET
    bands = price_bands(housing.pop(TARGET), args.task)
    label = str(bands.name)
    return housing.assign(**{label: bands}), label


@contextmanager
def _reported_as(source: str) -> Iterator[None]:
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


# --------------------------------------------------------------------------- #
# Printing
# --------------------------------------------------------------------------- #


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


def show_predictions(title: str, model: TabularModel, test_part: pd.DataFrame, out: TextIO) -> None:
    """The first test rows' targets next to the model's predictions."""
    shown = test_part.iloc[:SHOWN_ROWS]
    predicted = model.predict(shown, unseen="zero")
    print_table(title, list(zip(shown[model.target], predicted, strict=True)), [model.target, "prediction"], out)


def show_metrics(report: dict[str, dict[str, float]], regression: bool, out: TextIO) -> None:
    """Train and test metrics, each to 4 significant digits."""
    rows = [[part, *map(significant, values.values())] for part, values in report.items()]
    headers = ["", *report["train"]]
    title = "metrics" + (" (in the target's units)" if regression else "")
    align = ["left", *["right"] * (len(headers) - 1)]
    table = tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True, colalign=align)
    print(f"\n{title}\n{table}", file=out)


def show_confusion(model: TabularModel, test_part: pd.DataFrame, out: TextIO) -> None:
    """Counts of test rows by true label (rows) and predicted label (columns)."""
    labels: list[object] = list(model.labels or [])
    predicted = model.predict(test_part, unseen="zero")
    true_codes = pd.Categorical(test_part[model.target], labels).codes
    predicted_codes = pd.Categorical(predicted, labels).codes
    counts = np.zeros((len(labels), len(labels)), dtype=np.int64)  # every class, found among the test rows or not
    np.add.at(counts, (true_codes, predicted_codes), 1)
    rows = [[label, *counts[i]] for i, label in enumerate(labels)]
    print_table(
        "confusion matrix on the test rows (rows: true, columns: predicted)", rows, ["", *map(str, labels)], out
    )


LEARNED = "what the network learned"


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


# --------------------------------------------------------------------------- #
# The two jobs
# --------------------------------------------------------------------------- #


class Interrupted(Exception):
    """Ctrl-C stopped the command; the message says where, and how to go on."""


@dataclass
class Progress:
    """How far a training command got: its stage, the last epoch finished, the last epoch a checkpoint holds."""

    stage: Literal["preparing", "training", "reporting"] = "preparing"
    epochs: int = 0
    checkpointed: int | None = None

    def interrupted(self, args: argparse.Namespace) -> Interrupted:
        """Where the run stopped and, when a checkpoint holds some of it, the command that goes on."""
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


class BetweenEpochs:
    """Once `defer` is called, Ctrl-C is asked for, not obeyed: `check` stops the run between two epochs, so that
    no checkpoint, serialization or output file is cut midway (a KeyboardInterrupt inside pydantic's serializer
    becomes an error of its own). A second Ctrl-C stops at once. Where SIGINT is ignored, or off the main thread,
    nothing changes; leaving the ``with`` block restores what was there."""

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

    def __exit__(self, *exception: object) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)


def train(args: argparse.Namespace, out: TextIO) -> None:
    """Train (or go on from ``--resume``), print what happened, and write the files asked for.

    Ctrl-C is an `Interrupted` that says where the run stopped and how to go on; so is a file that could not
    be written (a full disk): what the checkpoint still holds, and the command that goes on from it.
    """
    progress, checkpoint = Progress(), None
    try:
        with BetweenEpochs() as interrupts:
            if args.resume is not None:
                args, checkpoint = resumed(args)
            _train(args, checkpoint, (progress, interrupts), out)
            interrupts.check()  # pressed while reporting: once every file has been written
    except KeyboardInterrupt:
        raise progress.interrupted(args) from None
    except CheckpointNotSaved as error:  # the run's own checkpoint: it holds the epochs it held when resumed
        resumed_from = checkpoint is not None and Path(args.resume).resolve() == Path(args.checkpoint).resolve()
        held = checkpoint.run.epochs_done if checkpoint is not None and resumed_from else None
        raise OSError(error.advising(f"go on with --resume {args.checkpoint}", held)) from None
    except NotWritten as error:
        if progress.stage != "reporting" or args.checkpoint is None:
            raise
        fix = "free some space, then " if error.errno in DISK_FULL else "once it can be written, "
        whole = f"{args.checkpoint} holds the whole run: {fix}--resume {args.checkpoint} writes the files again"
        raise OSError(f"{error}; {whole}") from None


def _train(
    args: argparse.Namespace,
    checkpoint: TabularCheckpoint | None,
    watch: tuple[Progress, BetweenEpochs],
    out: TextIO,
) -> None:
    """`train` with the options of the run (``checkpoint``'s, when resumed), telling ``progress`` how far it got
    and stopping between epochs when ``interrupts`` say Ctrl-C was pressed."""
    progress, interrupts = watch
    written = {f"--{name}": getattr(args, name) for name in WRITTEN_OPTIONS}
    written["--checkpoint's history log"] = None if args.checkpoint is None else history_log(args.checkpoint)
    check_outputs(written, {"--csv": args.csv})
    del written["--checkpoint"], written["--checkpoint's history log"]  # they may replace those the run resumes
    resumed_log = None if args.resume is None else history_log(args.resume)
    check_outputs(written, {"--resume": args.resume, "--resume's history log": resumed_log})
    source = str(args.csv or "housing data")
    with _reported_as(source):
        table, target = load_table(args)
        columns = feature_columns(table, target, args.drop)
        table = usable_rows(table, [*columns, target], args.missing, "")  # over the whole table, before the split
    train_rows, test_rows = split_rows(len(table), args.test_fraction, seed=args.seed)
    train_part, test_part = table.iloc[train_rows], table.iloc[test_rows]
    watched = "validation" if args.patience is not None else "test"  # patience stops on rows carved for it
    loss_table = LossTable(watched, len(args.hidden) + 1 if args.gradients else 0, out)
    started = [0.0]

    def on_start(model: TabularModel) -> None:
        print(
            f"{len(table):,} rows ({len(train_part):,} train, {len(test_part):,} test), "
            f"{len(model.feature_names)} input features, target {target!r} ({args.task}); {model.network}",
            file=out,
        )
        done = 0 if checkpoint is None else checkpoint.run.epochs_done
        moment = "before training" if checkpoint is None else f"resumed from {args.resume} after epoch {done}"
        show_predictions(f"{moment} (first test rows)", model, test_part, out)
        stopping = (
            f"; early stopping after {args.patience} epochs without improvement on "
            f"{model.validation_fraction:.0%} of the training rows"
            if args.patience is not None
            else ""
        )
        progress.stage, progress.epochs = "training", done
        interrupts.defer()
        epochs = f"{args.epochs} epochs" if not done else f"epochs {done + 1} to {args.epochs}"
        if done >= args.epochs or (checkpoint is not None and checkpoint.run.history.stopped_early):
            epochs = f"nothing left to run: the run ended after epoch {done}"
        print(f"\ntraining: {args.optimizer}, {epochs}, loss = {model.network.loss_name}{stopping}", file=out)
        started[0] = time.perf_counter()

    def on_epoch(record: EpochRecord) -> None:
        progress.epochs = record.epoch
        interrupts.check()
        if record.epoch == 1 or record.epoch % args.print_every == 0 or record.epoch == args.epochs:
            loss_table.add(record)

    fit_hooks = {
        "validation": None if args.patience is not None else test_part,
        "on_start": on_start,
        "on_epoch": on_epoch,
        "checkpoint": args.checkpoint,
        "checkpoint_every": args.checkpoint_every,
        "extra": {"train.py": stored_options(args)},
        "on_checkpoint": lambda epochs: setattr(progress, "checkpointed", epochs),
    }
    kept = args.print_every if args.trace is not None else None  # an output option: on resume too
    with _reported_as(source):
        if checkpoint is None:
            model = TabularModel(
                **{name: getattr(args, name) for name in (*MODEL_OPTIONS, *TRAINING_OPTIONS)}, keep_gradients=kept
            )
            classes_from = test_part if args.patience is not None else None  # without, the test rows are the validation
            model.fit(train_part, target, drop=args.drop, classes_from=classes_from, **fit_hooks)
        else:
            model = TabularModel.resume(checkpoint, train_part, name=str(args.resume), keep_gradients=kept, **fit_hooks)
        progress.stage = "reporting"
        history = model.history
        last = history.records[-1]
        if loss_table.last_epoch != last.epoch:
            loss_table.add(last)
        print(f"trained in {time.perf_counter() - started[0]:.2f} s", file=out)
        if history.stopped_early:
            print(f"stopped early after epoch {last.epoch}; kept epoch {history.best_epoch}, the best", file=out)
        show_predictions("after training (first test rows)", model, test_part, out)
        report = {"train": model.evaluate(train_part), "test": model.evaluate(test_part, unseen="zero")}
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
        with _reported_as(source):
            show_confusion(model, test_part, out)
    try:
        effects = model.effects()
    except ValueError as error:  # a column whose unit is beyond float64: the run and its files stand
        print(f"\n{LEARNED}: not shown: {error}", file=out)
    else:
        show_effects(effects, housing=args.csv is None and args.task == "regression", out=out)
    show_diagnosis(history.diagnose(held_out=watched), args.gradients, out)
    write_outputs(args, model, report, (watched, train_part), out)


def write_outputs(
    args: argparse.Namespace,
    model: TabularModel,
    report: dict[str, dict[str, float]],
    rows: tuple[str, pd.DataFrame],
    out: TextIO,
) -> None:
    """The files asked for: the bundle, the metrics, the loss curves, the local effects, the history with its
    gradients. ``rows`` are the name of the rows whose loss was watched and the training rows."""
    watched, train_part = rows
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
        document = {**report, "training": training}
        write_atomically(args.report, json.dumps(document, indent=2, allow_nan=False), name="--report")
        print(f"wrote the metrics to {args.report}", file=out)
    if args.plot is not None:
        write_atomically(args.plot, loss_plot(history, model.network.loss_name, watched), name="--plot")
        print(f"wrote the loss curves to {args.plot}", file=out)
    if args.trace is not None:
        write_atomically(args.trace, history.model_dump_json(), name="--trace")
        kept = len(history.kept_gradients())
        print(f"wrote the training history, with the full gradients of {kept} epochs, to {args.trace}", file=out)
    if args.effects is not None:  # last: a table whose effects cannot be drawn has had every other file written
        picture = effects_plot(model, train_part, housing=args.csv is None)
        write_atomically(args.effects, picture, name="--effects")
        print(f"wrote the local effects to {args.effects}", file=out)


def predict(args: argparse.Namespace, out: TextIO) -> None:
    """Read a bundle and a table of raw rows; write the rows with a ``prediction`` column
    and, for classifiers, a ``probability_<label>`` column per class."""
    check_outputs({"--output": args.output}, {"--model": args.model, "--predict": args.predict})
    with read_by_the_command_line():
        model = TabularModel.load(args.model)
    unseen: Unseen = args.unseen
    with _reported_as(str(args.predict)):
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
    """Run the command line; returns the exit status (0 ok, 1 bad input or divergence, 2 bad options,
    130 Ctrl-C, 141 standard output's reader gone)."""
    args = parse_args(argv)
    stream = sys.stdout if out is None else out
    with one_blas_thread():
        try:
            status = run(args, stream)
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


def run(args: argparse.Namespace, stream: TextIO) -> int:
    """Train or predict as ``args`` say, turning bad input into one line on standard error."""
    try:
        if args.predict is not None:
            predict(args, stream)
        else:
            train(args, stream)
    except BrokenPipeError:
        raise  # standard output's reader has gone: not bad input (`main` ends quietly)
    except (DataError, ValueError, TypeError, OSError, TrainingDiverged) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except (Interrupted, KeyboardInterrupt) as stop:
        print(f"interrupted: {stop or 'no file was written'}", file=sys.stderr)
        return INTERRUPTED
    return 0


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
