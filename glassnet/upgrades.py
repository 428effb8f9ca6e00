"""Older files in today's shape: the one table of upgrades, from each older version of a file format to the next.

`glassnet.files.read_model` applies it once to every document it reads, before validation, so that the
record of each format (`NetworkDocument`, `Bundle`, `TrainingCheckpoint`, `TabularCheckpoint`) knows only
its current version. A document is upgraded one version at a time until no upgrade of its version is left,
then each part that is a document of a format of its own (a tabular checkpoint's run, a checkpoint's
network) is upgraded the same way, by its own format's upgrades.

What a caller keeps in a document's ``extra`` (the command line's options in a tabular checkpoint) is the
caller's to upgrade: its module registers an `EntryUpgrade` (`register_entry_upgrade`), which this table applies
with its document's upgrade of the same version, so the caller reads only the entry's current shape.

An upgrade describes a format as it was, so it names the fields of that version, never today's records.
An older document whose parts an upgrade needs are not JSON objects is left as it is, for the current
version's checks to say what is wrong.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

Document = dict[str, Any]


@dataclass(frozen=True)
class Upgrade:
    """How a document of ``format`` at ``version`` becomes one of ``version + 1``, and why it must."""

    format: str
    version: int
    reason: str
    needs: tuple[str, ...]
    """The members the upgrade reads, each a JSON object in any file of that version."""
    apply: Callable[[Document], Document]
    """The document of the next version; raises ``ValueError`` when the older one contradicts itself."""


def _checkpoint_1(old: Document) -> Document:
    optimizer = old["optimizer"]
    document = {name: value for name, value in old.items() if name != "optimizer"}
    document["settings"] = {**old["settings"], "optimizer": {k: v for k, v in optimizer.items() if k != "state"}}
    document["optimizer_state"] = optimizer.get("state")
    return {**document, "version": 2}


def _checkpoint_2(old: Document) -> Document:
    return {**old, "version": 3}


_TRAINING_IN_TABULAR_1 = ("epochs", "batch_size", "l2", "patience", "keep_gradients")
"""The training settings a version 1 tabular checkpoint held twice: in its settings and in its run's."""
_MODEL_IN_TABULAR_1 = ("task", "hidden", "activation", "init", "validation_fraction", "seed")
"""The settings of a version 1 tabular checkpoint that are the model's own, which version 2 keeps."""
_RATES_IN_TABULAR_1 = {"sgd": 0.05, "momentum": 0.01, "adam": 0.01}
"""The learning rate each optimizer took in version 1 when its settings asked for none (``null``)."""


def _tabular_1_disagreements(settings: Document, run: Document) -> list[str]:
    """Where a version 1 tabular checkpoint's settings say otherwise than its run's settings and optimizer."""
    run_settings, optimizer = run.get("settings"), run.get("optimizer")
    if not (isinstance(run_settings, dict) and isinstance(optimizer, dict)):
        return []  # malformed: the current version's checks say what is missing
    found = [
        f"settings.{name} ({settings.get(name)!r}) and run.settings.{name} ({run_settings.get(name)!r})"
        for name in _TRAINING_IN_TABULAR_1
        if settings.get(name) != run_settings.get(name)
    ]
    kind = optimizer.get("kind")
    if settings.get("optimizer") != kind:
        found.append(f"settings.optimizer ({settings.get('optimizer')!r}) and run.optimizer.kind ({kind!r})")
    rate = settings.get("learning_rate")
    if rate is None and isinstance(kind, str):  # the optimizer's default was asked for
        rate = _RATES_IN_TABULAR_1.get(kind)
    if rate != optimizer.get("learning_rate"):
        found.append(
            f"settings.learning_rate ({settings.get('learning_rate')!r}) and run.optimizer.learning_rate "
            f"({optimizer.get('learning_rate')!r})"
        )
    return found


def _tabular_checkpoint_1(old: Document) -> Document:
    disagreements = _tabular_1_disagreements(old["settings"], old["run"])
    if disagreements:
        raise ValueError(f"the training settings disagree: {'; '.join(disagreements)}")
    kept = {name: value for name, value in old["settings"].items() if name in _MODEL_IN_TABULAR_1}
    return {**old, "version": 2, "settings": kept}


def _bundle_1(old: Document) -> Document:
    return {**old, "version": 2}


UPGRADES: dict[tuple[str, int], Upgrade] = {
    (upgrade.format, upgrade.version): upgrade
    for upgrade in (
        Upgrade(
            "glassnet.checkpoint",
            1,
            "version 1 kept the optimizer's settings and its state together, in 'optimizer', beside the other "
            "settings; version 2 keeps the optimizer's settings in 'settings' (one record of how the run trains) "
            "and its state in 'optimizer_state'",
            ("optimizer", "settings"),
            _checkpoint_1,
        ),
        Upgrade(
            "glassnet.checkpoint",
            2,
            "version 3 may keep the history's records in a log beside the file ('history_log'); version 2 keeps "
            "them all inside, which version 3 reads as they are",
            (),
            _checkpoint_2,
        ),
        Upgrade(
            "glassnet.tabular-checkpoint",
            1,
            "version 1 held the training settings twice, in 'settings' and in its run's; version 2 keeps them once, "
            "in the run, so the two copies must agree, and 'settings' keeps only the model's own",
            ("settings", "run"),
            _tabular_checkpoint_1,
        ),
        Upgrade(
            "glassnet.bundle",
            1,
            "version 2 keeps how the network came to be ('selection': the candidates' scores and the winner, or "
            "why nothing was chosen); version 1 bundles were written before models chose, so they have none",
            (),
            _bundle_1,
        ),
    )
}
"""Every upgrade, by the format and the version it reads."""


@dataclass(frozen=True)
class EntryUpgrade:
    """How the entry ``key`` of the ``extra`` of a document of ``format`` at ``version`` becomes the next version's,
    and why it must."""

    format: str
    version: int
    key: str
    reason: str
    apply: Callable[[Any, Document], Any]
    """The entry of the next version, from the entry and the whole older document (whose parts it may repeat);
    raises ``ValueError`` when the older entry contradicts its document."""


ENTRY_UPGRADES: dict[tuple[str, int, str], EntryUpgrade] = {}
"""Every upgrade of an entry of ``extra``, by the format and version it reads and the entry's key: registered by the
module that writes the entry (`register_entry_upgrade`)."""


def register_entry_upgrade(upgrade: EntryUpgrade) -> None:
    """Add ``upgrade`` to `ENTRY_UPGRADES`, from the module that writes its entry, at import."""
    ENTRY_UPGRADES[upgrade.format, upgrade.version, upgrade.key] = upgrade


def _entries_upgraded(older: Document, document: Document) -> Document:
    """``document``, the upgrade of ``older``, with each entry of its ``extra`` that has an `EntryUpgrade` from
    ``older``'s version upgraded by it."""
    extra = document.get("extra")
    if not isinstance(extra, dict):
        return document
    entries = {
        key: ENTRY_UPGRADES[older["format"], older["version"], key].apply(entry, older)
        for key, entry in extra.items()
        if (older["format"], older["version"], key) in ENTRY_UPGRADES
    }
    return {**document, "extra": {**extra, **entries}} if entries else document


def documents_within(model: type[BaseModel]) -> dict[str, type[BaseModel]]:
    """The fields of ``model`` that hold a document of a format of its own, and that document's record."""
    return {
        name: field.annotation
        for name, field in model.model_fields.items()
        if isinstance(field.annotation, type)
        and issubclass(field.annotation, BaseModel)
        and "format" in field.annotation.model_fields
    }


def upgraded(document: object, model: type[BaseModel]) -> object:
    """``document``, read as a ``model`` file, in the current version of its format and of every part that is a
    document of its own; ``document`` itself when it needs no upgrade (or is not of ``model``'s format).

    Raises ``ValueError`` when an older document contradicts itself, saying where.
    """
    if not (isinstance(document, dict) and document.get("format") == model.model_fields["format"].default):
        return document
    while True:
        version = document.get("version")
        upgrade = UPGRADES.get((document["format"], version)) if type(version) is int else None
        if upgrade is None or not all(isinstance(document.get(part), dict) for part in upgrade.needs):
            break
        document = _entries_upgraded(document, upgrade.apply(document))
    for name, part in documents_within(model).items():
        within = upgraded(document.get(name), part)
        if within is not document.get(name):
            document = {**document, name: within}
    return document
