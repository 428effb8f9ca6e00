"""A table model's files: the `Bundle` that predicts and the `TabularCheckpoint` that trains on.

A bundle is a network with the encodings of its table's columns and target; a tabular checkpoint is
the same parts with the model's `TabularSettings`, `TableFingerprint`s of the tables it learned from
and watched, and its run's `TrainingCheckpoint`. Each document checks that its parts fit together by
`HEADS_BY_TASK`, the one rule linking a task to its head, and registers the call that reads it.
`glassnet.tabular.TabularModel` writes and reads them.
"""

from __future__ import annotations

import hashlib
from typing import Any, Literal, Self

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from glassnet.checkpoints import TrainingCheckpoint
from glassnet.encoding import TableEncoding, TargetEncoding, Task
from glassnet.files import register_reader
from glassnet.fingerprints import Fingerprint
from glassnet.functions import Head
from glassnet.network import Init, NetworkDocument
from glassnet.selection import Selection
from glassnet.tables import Missing

HEADS_BY_TASK: dict[Task, Head] = {"regression": "identity", "binary": "sigmoid", "multiclass": "softmax"}
"""The head each task trains with; its loss follows (mean squared error, binary or categorical cross-entropy)."""


def output_width(target: TargetEncoding) -> int:
    """The network's output width for a target: one per class for multiclass, else 1."""
    return len(target.labels or ()) if target.task == "multiclass" else 1


class Bundle(BaseModel):
    """Everything needed to turn raw rows into predictions, as one JSON document.

    ``{"format": "glassnet.bundle", "version": 2, "network": ..., "features": ..., "target": ...,
    "selection": ...}``; its parts must fit together (input width, head and output width for the
    target's task). ``selection`` is how the network came to be (`glassnet.selection.Selection`).
    """

    format: Literal["glassnet.bundle"] = "glassnet.bundle"
    version: Literal[2] = 2
    network: NetworkDocument
    features: TableEncoding
    target: TargetEncoding
    selection: Selection | None = None
    """``None`` in a version 1 bundle, written before models chose their network."""

    @model_validator(mode="after")
    def _parts_agree(self) -> Self:
        sizes, head, n_outputs = self.network.layer_sizes, HEADS_BY_TASK[self.target.task], output_width(self.target)
        if sizes[0] != len(self.features.feature_names):
            raise ValueError(f"network: expected {len(self.features.feature_names)} inputs, got {sizes[0]}")
        if self.network.head != head or sizes[-1] != n_outputs:
            raise ValueError(
                f"network: expected a {head} head with {n_outputs} output(s) for the {self.target.task} target, "
                f"got a {self.network.head} head with {sizes[-1]}"
            )
        return self


register_reader(Bundle, "glassnet.TabularModel.load")


class TabularSettings(BaseModel):
    """What a `TabularModel` is, besides how it trains (its run's `TrainingSettings`): as a checkpoint stores it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    task: Task
    hidden: list[int]
    activation: str
    init: Init
    validation_fraction: float
    seed: int
    missing: Missing = "error"
    """Absent from an older checkpoint, whose run refused rows with missing values: read as ``"error"``."""


class TableFingerprint(Fingerprint):
    """A table's rows, column names and a SHA-256 of its values, cells and order: enough to tell it from another."""

    rows: int = Field(ge=1)
    columns: list[str]

    @classmethod
    def of(cls, frame: pd.DataFrame) -> Self:
        """The fingerprint of ``frame``'s values (its index aside)."""
        digest = hashlib.sha256(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
        digest.update("\0".join(map(str, frame.columns)).encode("utf-8"))
        return cls(rows=len(frame), columns=list(map(str, frame.columns)), sha256=digest.hexdigest())

    def size(self) -> str:
        return f"{self.rows:,} rows and columns"

    def size_difference(self, other: Self, name: str) -> str | None:
        if other.columns != self.columns:
            return f"{name} has the columns {other.columns}, the checkpoint's had {self.columns}"
        if other.rows != self.rows:
            return f"{name} has {other.rows:,} rows, the checkpoint's had {self.rows:,}"
        return None


class TabularCheckpoint(BaseModel):
    """Everything a `TabularModel`'s training needs to go on, as one JSON document.

    ``{"format": "glassnet.tabular-checkpoint", "version": 2, ...}``: the model's settings,
    the target and dropped columns, the encodings, fingerprints of the tables it learned from
    and watched, the `TrainingCheckpoint` of its run (which holds the training settings), and
    ``extra``: JSON values its caller stored with it (the command line keeps its own options
    there). Older versions are read in this one's shape (`glassnet.upgrades`).
    """

    format: Literal["glassnet.tabular-checkpoint"] = "glassnet.tabular-checkpoint"
    version: Literal[2] = 2
    settings: TabularSettings
    target: str
    drop: list[str]
    features: TableEncoding
    target_encoding: TargetEncoding
    table: TableFingerprint
    validation: TableFingerprint | None = None
    run: TrainingCheckpoint
    extra: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _parts_agree(self) -> Self:
        Bundle(network=self.run.network, features=self.features, target=self.target_encoding)  # the same rules
        mine, network = self.settings, self.run.network
        if self.target_encoding.task != mine.task:
            raise ValueError(
                f"target_encoding: expected the {mine.task} task of settings, got {self.target_encoding.task}"
            )
        if network.layer_sizes[1:-1] != mine.hidden or network.activation != mine.activation:
            raise ValueError(
                f"settings and run.network disagree: hidden {mine.hidden} with {mine.activation!r}, "
                f"but the network has {network.layer_sizes[1:-1]} with {network.activation!r}"
            )
        return self


register_reader(TabularCheckpoint, "glassnet.TabularModel.resume, or glassnet --resume (python train.py --resume)")
