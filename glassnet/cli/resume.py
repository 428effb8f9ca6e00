"""A resumed run's options, reconciled with its checkpoint, and the options a checkpoint keeps.

``--resume PATH`` reads a command line's checkpoint: the options that define the run are the ones it
recorded (given again, they must be the same), the output options given now replace its own, and the
paths it stored resolve against where the checkpoint is now (`StoredPaths`). `stored_options` is the other
direction: what a run's checkpoints keep of its options; what an older checkpoint kept is upgraded when it is read, by
the upgrade registered here in `glassnet.upgrades`' table, so the rest reads only today's shape.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from glassnet.bundles import TabularCheckpoint
from glassnet.checkpoints import read_checkpoint
from glassnet.cli.options import (
    COMMAND_LINE_OPTIONS,
    MODEL_OPTIONS,
    NEWER_OPTIONS,
    OUTPUT_OPTIONS,
    RUN_OPTIONS,
    TRAINING_OPTIONS,
    WRITTEN_OPTIONS,
)
from glassnet.files import WrongFormat
from glassnet.upgrades import EntryUpgrade, register_entry_upgrade

PATH_OPTIONS = ("csv", *WRITTEN_OPTIONS)
"""The options whose values are paths, which a checkpoint stores relative to its own folder."""
FOLDER = "folder"
"""The key of a checkpoint's stored options that holds the absolute folder it was written in, against which
its paths are stored; a checkpoint without it (older) stored its paths as typed, relative to where the run began."""


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


def _stored(checkpoint: TabularCheckpoint, path: Path) -> dict[str, Any]:
    """The command line's own options in ``checkpoint.extra``, as `stored_options` stores them (an older
    checkpoint's upgraded when read: `_options_of_version_1`)."""
    stored = checkpoint.extra.get("train.py")
    own = {*COMMAND_LINE_OPTIONS, *OUTPUT_OPTIONS}
    if not isinstance(stored, dict) or set(stored) - {FOLDER} - NEWER_OPTIONS != own - NEWER_OPTIONS:
        raise ValueError(
            f"--resume {path}: not a checkpoint of the command line (TabularModel.resume reads those of the library)"
        )
    return {name: value for name, value in stored.items() if name in own}


_RUN_OPTIONS_1 = ("task", "hidden", "activation", "seed", "epochs", "learning_rate", "batch_size", "l2", "patience")
"""The options that define a run which a version 1 checkpoint stored in ``extra`` beside its settings, which record
them too, with ``optimizer``, ``target`` and ``drop``."""


def _options_of_version_1(stored: object, older: dict[str, Any]) -> object:
    """The command line's options of a version 1 checkpoint ``older`` as version 2 stores them: its own alone. Version 1
    stored every option, so those its parts record must agree with them: a learning rate of ``None`` is the
    optimizer's default, and no target the housing data's."""
    settings, run = older.get("settings"), older.get("run")
    optimizer = run.get("optimizer") if isinstance(run, dict) else None
    if not (isinstance(stored, dict) and isinstance(settings, dict) and isinstance(optimizer, dict)):
        return stored  # not the command line's, or malformed: read as it is, and refused where it is read
    recorded = {
        **{name: settings.get(name) for name in _RUN_OPTIONS_1},
        "learning_rate": optimizer.get("learning_rate"),
        "optimizer": optimizer.get("kind"),
        "target": older.get("target"),
        "drop": older.get("drop"),
    }
    agreeing = {"learning_rate": settings.get("learning_rate"), "target": None}  # stored for the default
    disagree = [
        f"--{name.replace('_', '-')} {stored[name]!r} in extra, {value!r} in the run"
        for name, value in recorded.items()
        if name in stored and stored[name] != value and not (name in agreeing and stored[name] == agreeing[name])
    ]
    if disagree:
        raise ValueError(f"the checkpoint's options disagree with its run: {', '.join(disagree)}")
    return {name: value for name, value in stored.items() if name not in recorded}


register_entry_upgrade(
    EntryUpgrade(
        "glassnet.tabular-checkpoint",
        1,
        "train.py",
        "the command line's version 1 checkpoints stored every option; version 2 stores its own alone, the others "
        "being recorded by the checkpoint's parts",
        _options_of_version_1,
    )
)


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
    stored = _stored(checkpoint, args.resume)
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
        and getattr(args, name) != recorded[name]
        and name != "csv"  # a moved table is welcome: its content is compared with the checkpoint's fingerprint
    ]
    if changed:
        raise ValueError(
            f"--resume {args.resume}: a resumed run keeps the settings it started with; changed: {', '.join(changed)}"
        )
    merged = {name: getattr(args, name) if name in args.given else recorded[name] for name in recorded}
    asked = [f"--{name.replace('_', '-')}" for name in ("rows", "rows_plot") if merged.get(name) is not None]
    if asked and not checkpoint.run.settings.keep_rows:
        raise ValueError(
            f"--resume {args.resume}: {' and '.join(asked)}: expected a run that kept its rows' measures from its "
            "start, got one that did not; start a new run with them"
        )
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
