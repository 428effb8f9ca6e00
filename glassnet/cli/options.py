"""The command line's options: the parser, its groups and its did-you-mean errors, and the table of options.

`OPTIONS` says once what each option of a training run is: part of the model, of its training, of the
table it learns from, of the command line alone, or of what the run writes and shows. Every list of
options the command line needs (those that define a run, those a checkpoint keeps, the files written)
is read from it.
"""

from __future__ import annotations

import argparse
import difflib
import inspect
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, NoReturn

from glassnet.data import HOUSES
from glassnet.encoding import TASKS, UNSEEN
from glassnet.functions import ACTIVATIONS
from glassnet.optim import OPTIMIZERS, SGD
from glassnet.rules import non_negative_int, open_fraction, positive_int, rule_of
from glassnet.selection import LINEAR
from glassnet.settings import TrainingSettings, default_learning_rates
from glassnet.tables import MISSING
from glassnet.tabular import CHECKPOINT_EVERY, TABULAR_TRAINING, VALIDATION_FRACTION, TabularModel

Role = Literal["model", "training", "table", "command line", "written", "shown"]
"""What an option of a training run is: a `TabularModel` argument, a training setting, which columns to learn
from, an option only the command line knows that still defines the run, a file the run writes, or what it
writes into or shows."""

OPTIONS: dict[str, Role] = {
    "task": "model",
    "hidden": "model",
    "activation": "model",
    "seed": "model",
    "missing": "model",
    "epochs": "training",
    "optimizer": "training",
    "learning_rate": "training",
    "batch_size": "training",
    "l2": "training",
    "patience": "training",
    "target": "table",
    "drop": "table",
    "print_every": "command line",
    "samples": "command line",
    "csv": "command line",
    "test_fraction": "command line",
    "save": "written",
    "report": "written",
    "plot": "written",
    "effects": "written",
    "rows": "written",
    "rows_plot": "written",
    "trace": "written",
    "checkpoint": "written",
    "checkpoint_every": "shown",
    "gradients": "shown",
}
"""Every option of a training run and its `Role`, in the order the lists below keep."""


def options(*roles: Role) -> tuple[str, ...]:
    """The options of ``roles``, in `OPTIONS`' order."""
    return tuple(name for name, role in OPTIONS.items() if role in roles)


MODEL_OPTIONS = options("model")
"""The options that are `TabularModel` arguments; their defaults are its own."""
TRAINING_OPTIONS = options("training")
"""The options that are training settings; their defaults are `TABULAR_TRAINING`'s, their help its fields'."""
COMMAND_LINE_OPTIONS = options("command line")
"""The options of a run that only the command line knows: its checkpoints keep them in their ``extra``."""
RUN_OPTIONS = options("model", "training", "table", "command line")
"""The options that define a training run: a resumed run keeps the values it started with."""
OUTPUT_OPTIONS = options("written", "shown")
"""The options that only say what to write or show: given again with --resume, they replace the checkpoint's."""
WRITTEN_OPTIONS = options("written")
"""The files a training run writes: each must differ from every other one and from every input."""
PINNING_OPTIONS = frozenset({"hidden", "activation", *TRAINING_OPTIONS, "checkpoint", "trace", "gradients"})
"""The options that follow one network (its layers, its training, its epochs' checkpoints, traces and gradient
columns): given any, a run on a ``--csv`` table trains the network they describe and chooses none. ``--rows``
and ``--rows-plot`` are not among them: a run that chooses measures every row with its candidates
(a regression: its winner; `glassnet.selection.choose`)."""
NEWER_OPTIONS = frozenset({"effects", "rows", "rows_plot"})
"""The output options a checkpoint written before them lacks, read as not asking."""

_MODEL_DEFAULTS = {
    name: parameter.default
    for name, parameter in inspect.signature(TabularModel).parameters.items()
    if name in MODEL_OPTIONS
} | {"hidden": LINEAR.hidden, "activation": LINEAR.activation}  # the network a run trains when it chooses none
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
    **{name: None for name in WRITTEN_OPTIONS},
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
    model.add_argument("--epochs", type=rule_of(TrainingSettings, "epochs").parse, help=_setting_help("epochs"))
    model.add_argument(
        "--learning-rate",
        type=rule_of(SGD, "learning_rate").parse,  # every built-in optimizer's rule
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
    model.add_argument(
        "--batch-size", type=rule_of(TrainingSettings, "batch_size").parse, help=_setting_help("batch_size")
    )
    model.add_argument("--l2", type=rule_of(TrainingSettings, "l2").parse, help=_setting_help("l2"))
    model.add_argument(
        "--patience",
        type=rule_of(TrainingSettings, "patience").parse,
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
        "--rows",
        type=Path,
        help="write what training said about every training row as CSV (your columns, then the measures, most "
        "suspect first) and print the ten most suspect; a run that chooses its network averages the measures of "
        "its candidates (a regression: its winner), each trained on all the training rows",
    )
    files.add_argument("--rows-plot", type=Path, help="write a PNG of the rows' map: confidence against variability")
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
