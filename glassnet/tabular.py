"""Tables in, predictions in the table's own terms out: `TabularModel` and its bundle file.

    from glassnet import TabularModel

    model = TabularModel(task="multiclass", hidden=(16,), activation="relu")
    model.fit(flowers, "species")              # a pandas DataFrame and its target column
    model.predict(new_flowers)                 # the table's own labels (or target units)
    model.predict_proba(new_flowers)           # one column per label, rows sum to 1
    model.network.params, model.history        # every weight and gradient norm, as for any Network
    model.save("model.json")                   # the bundle the command line's --save writes

One object owns the path from a raw row to a prediction: the encodings learned from the
training rows (numbers standardized, text one-hot, labels to integer codes), the network,
and the decoding of its output into the target's units or labels. `HEADS_BY_TASK` is the
one rule linking a task to its head; `TargetEncoding` gives the output width and decodes.

Why a module of its own: the network knows nothing of tables and `glassnet.tables` nothing
of networks; this is where the two meet, for the command line and for library users alike.
The library never prints: notes (a column left out, categories never seen in training)
are `glassnet.tables.DataNote` warnings.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import os
from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, replace
from typing import Any, Literal, Self, Unpack, cast, get_args

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from glassnet.checkpoints import CheckpointFile, TrainingCheckpoint, read_checkpoint
from glassnet.files import older_document, read_model, register_reader, write_atomically
from glassnet.fingerprints import Fingerprint, fingerprint_differences
from glassnet.functions import ACTIVATIONS, Head
from glassnet.network import Init, Network, NetworkDocument
from glassnet.optim import OPTIMIZERS, Adam
from glassnet.records import EpochRecord, FeatureEffect, FeatureEffects, TrainingHistory
from glassnet.rows import RowPart, RowReport, unique_labels
from glassnet.rules import non_negative_int, one_of, open_fraction, positive_int
from glassnet.settings import TrainingOptions, TrainingSettings
from glassnet.tables import (
    MISSING,
    TASKS,
    DataError,
    Missing,
    TableEncoding,
    TargetEncoding,
    Task,
    Unseen,
    absent_columns,
    numbers_with_placeholders,
    reject_duplicates,
    split_rows,
    usable_rows,
)
from glassnet.training import TrainingRun

HEADS_BY_TASK: dict[Task, Head] = {"regression": "identity", "binary": "sigmoid", "multiclass": "softmax"}
"""The head each task trains with; its loss follows (mean squared error, binary or categorical cross-entropy)."""
INITS: tuple[str, ...] = get_args(Init)
VALIDATION_FRACTION = 0.1
"""The share of the training rows that ``patience`` carves out to stop on, unless told otherwise."""
CHECKPOINT_EVERY = 10
"""How many epochs `TabularModel.fit` trains between two checkpoints, unless told otherwise."""
TABULAR_TRAINING = TrainingSettings(optimizer=Adam())
"""How a `TabularModel` (and so the command line) trains unless told otherwise: `TrainingSettings`'
defaults, but with Adam. On generated 2,000-row tables of mixed columns, SGD at its default rate for 150
full-batch epochs ended up to 3.75 points of accuracy short of logistic regression; Adam at its own default
matches least squares and logistic regression (tests/test_cli.py holds that comparison)."""


def _n_outputs(target: TargetEncoding) -> int:
    """The network's output width for a target: one per class for multiclass, else 1."""
    return len(target.labels or ()) if target.task == "multiclass" else 1


def _decoded(network: Network, target: TargetEncoding, X: np.ndarray) -> np.ndarray:
    """Predictions for encoded rows ``X`` (n, k), in the target's own units or labels (n,)."""
    return target.decode(network.forward(X) if target.task == "regression" else network.predict(X))


def _probabilities(network: Network, X: np.ndarray) -> np.ndarray:
    """A classifier's probabilities for encoded rows ``X`` (n, k): (n, n_labels), a binary one's as (1 - p, p)."""
    probabilities = network.forward(X)
    return np.hstack([1.0 - probabilities, probabilities]) if probabilities.shape[1] == 1 else probabilities


def _answers(network: Network, target: TargetEncoding, X: np.ndarray) -> np.ndarray:
    """What effects are measured on, for encoded rows ``X`` (n, k): (n, n_outputs): the prediction in the
    target's units less its mean (regression), or each class's probability."""
    if target.scaler is None:
        return _probabilities(network, X)
    return network.forward(X) * float(target.scaler.scale[0])


def _per_raw_unit(target: TargetEncoding, gradients: np.ndarray, scale: np.ndarray, out: np.ndarray) -> None:
    """The network's input gradients (n, n_network_outputs, k) of ``k`` standardized columns, per raw unit of
    the columns (``scale`` (k,)) and in the units of `_answers`, into ``out`` (n, n_outputs, k): the target's
    units, or each class's probability (a binary one's first class moves against the second)."""
    if target.scaler is not None:
        np.multiply(gradients, float(target.scaler.scale[0]) / scale, out=out)
    elif gradients.shape[1] == 1:
        np.divide(gradients[:, 0, :], scale, out=out[:, 1, :])
        np.negative(out[:, 1, :], out=out[:, 0, :])
    else:
        np.divide(gradients, scale, out=out)


class Bundle(BaseModel):
    """Everything needed to turn raw rows into predictions, as one JSON document.

    ``{"format": "glassnet.bundle", "version": 1, "network": ..., "features": ..., "target": ...}``;
    its parts must fit together (input width, head and output width for the target's task).
    """

    format: Literal["glassnet.bundle"] = "glassnet.bundle"
    version: Literal[1] = 1
    network: NetworkDocument
    features: TableEncoding
    target: TargetEncoding

    @model_validator(mode="after")
    def _parts_agree(self) -> Self:
        sizes, head, n_outputs = self.network.layer_sizes, HEADS_BY_TASK[self.target.task], _n_outputs(self.target)
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


_TRAINING_IN_VERSION_1 = ("epochs", "batch_size", "l2", "patience", "keep_gradients")
"""The training settings a version 1 tabular checkpoint held twice: in its settings and in its run's."""


def _version_1_disagreements(settings: dict[str, Any], run: dict[str, Any]) -> list[str]:
    """Where a version 1 checkpoint's settings say otherwise than its run's settings and optimizer."""
    run_settings, optimizer = run.get("settings"), run.get("optimizer")
    if not (isinstance(run_settings, dict) and isinstance(optimizer, dict)):
        return []  # malformed: the version 2 checks say what is missing
    found = [
        f"settings.{name} ({settings.get(name)!r}) and run.settings.{name} ({run_settings.get(name)!r})"
        for name in _TRAINING_IN_VERSION_1
        if settings.get(name) != run_settings.get(name)
    ]
    kind = optimizer.get("kind")
    if settings.get("optimizer") != kind:
        found.append(f"settings.optimizer ({settings.get('optimizer')!r}) and run.optimizer.kind ({kind!r})")
    rate = settings.get("learning_rate")
    if rate is None and isinstance(kind, str) and kind in OPTIMIZERS:  # the optimizer's default was asked for
        rate = OPTIMIZERS[kind].model_fields["learning_rate"].default
    if rate != optimizer.get("learning_rate"):
        found.append(
            f"settings.learning_rate ({settings.get('learning_rate')!r}) and run.optimizer.learning_rate "
            f"({optimizer.get('learning_rate')!r})"
        )
    return found


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
    there). Version 1 files, which hold the training settings twice, are read once their two
    copies are found to agree; a file whose copies differ is refused, naming them.
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

    @model_validator(mode="before")
    @classmethod
    def _read_version_1(cls, document: Any) -> Any:
        """A version 1 document in version 2's shape, refused if its two copies of the training settings differ."""
        old = older_document(document, 1, "settings", "run")
        if old is None:
            return document
        disagreements = _version_1_disagreements(old["settings"], old["run"])
        if disagreements:
            raise ValueError(f"the training settings disagree: {'; '.join(disagreements)}")
        kept = {name: value for name, value in old["settings"].items() if name in TabularSettings.model_fields}
        return {**old, "version": 2, "settings": kept}

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


class NotFittedError(ValueError, AttributeError):
    """A `TabularModel` asked for what only a fitted (or loaded) one has."""


def _check_frame(frame: object, name: str) -> pd.DataFrame:
    """``frame`` if it is a DataFrame with rows and distinct column names; else the error naming ``name``."""
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{name}: expected a pandas DataFrame, got {type(frame).__name__}")
    if len(frame) == 0:
        raise DataError(f"{name}: expected at least one row, got a DataFrame with no rows")
    reject_duplicates(list(frame.columns), name)
    return frame


def feature_columns(frame: pd.DataFrame, target: str, drop: Sequence[str] = ()) -> list[str]:
    """The columns of ``frame`` a model learns from, in frame order: all but ``target`` and ``drop``.

    Raises `DataError` when ``target`` or a name in ``drop`` is not a column of ``frame``,
    or when ``drop`` names the target; ``TypeError`` when they are not column names.
    """
    frame = _check_frame(frame, "frame")
    if not isinstance(target, str):
        raise TypeError(f"target: expected a column name, got {target!r}")
    if isinstance(drop, str) or not isinstance(drop, Sequence) or not all(isinstance(name, str) for name in drop):
        raise TypeError(f"drop: expected a sequence of column names, got {drop!r}")
    columns = list(frame.columns)
    if target not in columns:
        raise absent_columns("target", [target], columns)
    absent = [name for name in drop if name not in columns]
    if absent:
        raise absent_columns("drop", absent, columns)
    if target in drop:
        raise DataError(f"drop: {target!r} is the target; it cannot be dropped")
    return [name for name in columns if name != target and name not in drop]


@dataclass(frozen=True)
class _Fitted:
    """What fitting (or loading) gives a model: the encodings, the network and how it trained."""

    features: TableEncoding
    target: TargetEncoding
    network: Network
    history: TrainingHistory
    rows: pd.DataFrame | None = None
    """The feature columns of the rows it learned from, which effects describe unless given others."""
    targets: pd.Series | None = None
    """Their target column, as the table gave it."""


class TabularModel:
    """A dense network that learns from a table and predicts in the table's own terms.

    Parameters
    ----------
    task : {"regression", "binary", "multiclass"}
        What the target column holds: numbers, or class labels (two, or two or more).
    hidden : sequence of int
        Hidden layer widths; empty for none.
    activation, init : str
        Hidden activation (a key of ``ACTIVATIONS``) and weight initialization
        (``"xavier"``, ``"he"`` or ``"normal"``).
    validation_fraction : float
        The share of the training rows carved out for ``patience`` (`VALIDATION_FRACTION`).
    seed : int
        Seeds the carving, the initialization and the minibatch order.
    missing : {"error", "drop"}
        What `fit` does with rows that have a missing value in a column it uses (`glassnet.tables.Missing`):
        refuse them, naming them, or leave them out with a `DataNote` counting them.
    settings : TrainingSettings, optional
        How to train; `TABULAR_TRAINING` unless given.
    **training
        `TrainingSettings` fields in place of those of ``settings`` (``epochs``, ``optimizer``,
        ``learning_rate``, ``batch_size``, ``l2``, ``patience``, ``keep_gradients``, ...).
        With ``patience`` the model carves a validation part of ``validation_fraction`` of the
        training rows (seeded), trains on the rest, stops once that part's loss has not improved
        for ``patience`` epochs, and keeps the best epoch's parameters; that loss is each
        record's ``val_loss``, so ``fit(validation=...)`` then takes no rows.

    Notes
    -----
    ``training`` is the `TrainingSettings` the model trains with. Fitted attributes: ``network``,
    ``history`` (one record per epoch), ``feature_names`` (the encoded columns, the network's
    inputs), ``features`` and ``target_encoding`` (the encodings), ``target`` (the column
    name) and ``labels`` (classes, or ``None``).
    """

    def __init__(
        self,
        *,
        task: Task = "regression",
        hidden: Sequence[int] = (10, 25),
        activation: str = "identity",
        init: str = "xavier",
        validation_fraction: float = VALIDATION_FRACTION,
        seed: int = 0,
        missing: Missing = "error",
        settings: TrainingSettings | None = None,
        **training: Unpack[TrainingOptions],
    ) -> None:
        if isinstance(hidden, str) or not isinstance(hidden, Sequence):
            raise TypeError(f"hidden: expected a sequence of positive integers, got {hidden!r}")
        if settings is not None and not isinstance(settings, TrainingSettings):
            raise TypeError(f"settings: expected TrainingSettings, got {type(settings).__name__}")
        self.task = cast(Task, one_of(task, "task", TASKS))
        self.hidden = [positive_int(width, "hidden") for width in hidden]
        self.activation = one_of(activation, "activation", ACTIVATIONS)
        self.init = cast(Init, one_of(init, "init", INITS))
        self.validation_fraction = open_fraction(validation_fraction, "validation_fraction")
        self.seed = non_negative_int(seed, "seed")
        self.missing = cast(Missing, one_of(missing, "missing", MISSING))
        base = TABULAR_TRAINING if settings is None else settings
        self.training = TrainingSettings.of(base, **training) if training else base
        self._fitted: _Fitted | None = None

    def __repr__(self) -> str:
        state = "fitted" if self._fitted is not None else "not fitted"
        return (
            f"TabularModel(task={self.task!r}, hidden={self.hidden}, activation={self.activation!r}, "
            f"training={self.training!r}; {state})"
        )

    # ----- fitted state ------------------------------------------------------

    def _state(self) -> _Fitted:
        if self._fitted is None:
            raise NotFittedError("TabularModel: not fitted yet; call fit(frame, target) or TabularModel.load(path)")
        return self._fitted

    @property
    def network(self) -> Network:
        """The network, live: its ``params`` are the parameters predictions use."""
        return self._state().network

    @property
    def history(self) -> TrainingHistory:
        """One record per epoch of the last `fit` (none after `load`)."""
        return self._state().history

    @property
    def features(self) -> TableEncoding:
        """How the feature columns become the network's inputs."""
        return self._state().features

    @property
    def target_encoding(self) -> TargetEncoding:
        """How the target column becomes the network's labels, and back."""
        return self._state().target

    @property
    def training_rows(self) -> pd.DataFrame | None:
        """The feature columns of the rows the model learned from, which `effects` describes unless given
        others; ``None`` after `load` (a bundle keeps no rows)."""
        return self._state().rows

    @property
    def feature_names(self) -> list[str]:
        """The network's inputs, in order: numeric column names, then ``"column=category"``."""
        return self.features.feature_names

    @property
    def target(self) -> str:
        """The target column's name."""
        return self.target_encoding.column

    @property
    def labels(self) -> list[bool] | list[int] | list[float] | list[str] | None:
        """The classes, in code order, of the kind the target column held; ``None`` for regression."""
        return self.target_encoding.labels

    # ----- training ----------------------------------------------------------

    @property
    def settings(self) -> TabularSettings:
        """What the model is besides how it trains, as one record."""
        return TabularSettings(**{name: getattr(self, name) for name in TabularSettings.model_fields})

    def fit(
        self,
        frame: pd.DataFrame,
        target: str,
        *,
        drop: Sequence[str] = (),
        validation: pd.DataFrame | None = None,
        classes_from: pd.DataFrame | None = None,
        on_start: Callable[[TabularModel], None] | None = None,
        on_epoch: Callable[[EpochRecord], None] | None = None,
        checkpoint: str | os.PathLike[str] | None = None,
        checkpoint_every: int = CHECKPOINT_EVERY,
        extra: Mapping[str, Any] | None = None,
        on_checkpoint: Callable[[int], None] | None = None,
        keep_rows: bool | None = None,
    ) -> TrainingHistory:
        """Learn the encodings from ``frame`` (n, columns), build the network and train it.

        Parameters
        ----------
        frame : DataFrame
            Training rows: the ``target`` column and the features. Every other column is a
            feature except those in ``drop`` and those that describe rows rather than hold
            values (a saved row index, an identifier column), which are left out with a
            `DataNote`. A text column of numbers but for placeholder cells (``?``, ``-``, ...) is
            a number column with missing values; rows with missing values in the columns used
            are refused or dropped as ``missing`` says (`glassnet.tables.usable_rows`), here and
            in ``validation``.
        validation : DataFrame, optional
            Held-out rows to watch: their loss is each record's ``val_loss``. They never
            decide anything: categories unseen in ``frame`` encode as zeros (with a note).
            Their labels join the classes, so a class found only there still has an output.
            With ``patience`` the validation rows are carved from ``frame`` instead.
        classes_from : DataFrame, optional
            Rows neither learned from nor watched (test rows) whose ``target`` labels join the
            classes, so that a class found only among them still has an output, with
            ``patience`` as without.
        on_start, on_epoch : callable, optional
            Called with the model once it is built, before the first epoch (it can already
            predict), and with each epoch's record as it is made.
        checkpoint : path, optional
            Write a `TabularCheckpoint` there (atomically) every ``checkpoint_every`` epochs
            and at the end; `resume` goes on from it, to the same bits. ``extra`` (JSON
            values) is stored in it for the caller; ``on_checkpoint`` is called with the
            epochs it holds once it is made. The disk writes those made between epochs while
            training goes on, and `fit` returns, or stops, only once the last is on disk.
        keep_rows : bool, optional
            `TrainingSettings.keep_rows` for this fit (``None``: the model's ``training``): measure every row,
            for `row_report`. Its rows must then have an index label each.

        Returns
        -------
        TrainingHistory
            One record per epoch run; ``best_epoch`` and ``stopped_early`` tell how early
            stopping went (``None`` and ``False`` without ``patience``).

        Raises
        ------
        TrainingDiverged
            The loss became non-finite; the model keeps the last finite parameters, and
            ``error.history`` the epochs so far.
        """
        columns = feature_columns(frame, target, drop)
        used = [*columns, target]
        frame = self._rows_to_learn(frame, used, "frame")
        training = self.training if keep_rows is None else TrainingSettings.of(self.training, keep_rows=keep_rows)
        if training.keep_rows:
            unique_labels(frame.index, "frame")
        held_out = None if validation is None else _check_frame(validation, "validation")
        if held_out is not None:
            if self.training.patience is not None:
                raise ValueError(
                    "validation: with patience the validation rows are carved from frame "
                    f"({self.validation_fraction:.0%}); expected no validation frame, got one"
                )
            absent = [name for name in used if name not in held_out.columns]
            if absent:
                raise DataError(f"validation: missing column(s) {absent}; got {list(held_out.columns)}")
            held_out = self._rows_to_learn(held_out, used, "validation")
        classes_frame = None if classes_from is None else _check_frame(classes_from, "classes_from")
        if classes_frame is not None:
            if target not in classes_frame.columns:
                raise DataError(f"classes_from: no target column {target!r}; got {list(classes_frame.columns)}")
            classes_frame = self._rows_to_learn(classes_frame, [target], "classes_from")
        every = positive_int(checkpoint_every, "checkpoint_every")
        features, X = TableEncoding.fit_transform(frame[columns])
        target_encoding, y, held_out_y = TargetEncoding.fit_transform(
            frame[target],
            self.task,
            validation=None if held_out is None else held_out[target],
            classes_from=None if classes_frame is None else classes_frame[target],
        )
        network = Network(
            [len(features.feature_names), *self.hidden, _n_outputs(target_encoding)],
            activation=self.activation,
            head=HEADS_BY_TASK[self.task],
            init=self.init,
            seed=self.seed,
        )
        X, y, watched = self._learning_and_watched_rows(features, X, y, held_out, held_out_y)
        run = TrainingRun(network, X, y, training, validation_data=watched)
        self._fitted = _Fitted(features, target_encoding, network, run.history, frame[columns], frame[target])
        tables = (TableFingerprint.of(frame[used]), None if held_out is None else TableFingerprint.of(held_out[used]))
        calls = (on_start, on_epoch, on_checkpoint)
        return self._train(run, (target, list(drop), *tables), calls, checkpoint, every, extra)

    def _rows_to_learn(self, frame: pd.DataFrame, columns: list[str], what: str) -> pd.DataFrame:
        """``frame``'s rows to learn from ``columns`` of: with ``missing="drop"``, `usable_rows`; else the same with
        placeholders read (`numbers_with_placeholders`), leaving missing values and infinity to the encodings,
        which check each part once."""
        if self.missing == "drop":
            return usable_rows(frame, columns, self.missing, what)
        return numbers_with_placeholders(frame, columns)

    def _learning_and_watched_rows(
        self,
        features: TableEncoding,
        X: np.ndarray,
        y: np.ndarray,
        held_out: pd.DataFrame | None,
        held_out_y: np.ndarray | None,
    ) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray] | None]:
        """Of the encoded rows ``X``, ``y``, those the network learns from, and the rows whose loss it records:
        the validation frame (its target encoded as ``held_out_y``), or with ``patience`` the part carved from
        the rows (seeded)."""
        if self.training.patience is not None:
            learn, carved = self._carved(len(X))
            return X[learn], y[learn], (X[carved], y[carved])
        if held_out is None or held_out_y is None:
            return X, y, None
        return X, y, (features.transform(held_out, unseen="zero", name="validation"), held_out_y)

    def _carved(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Of ``n`` rows, the positions learned from and those carved out for ``patience`` (seeded)."""
        return split_rows(n, self.validation_fraction, seed=self.seed, name="validation_fraction")

    def _train(
        self,
        run: TrainingRun,
        tables: tuple[str, list[str], TableFingerprint, TableFingerprint | None],
        calls: tuple[
            Callable[[TabularModel], None] | None, Callable[[EpochRecord], None] | None, Callable[[int], None] | None
        ],
        checkpoint: str | os.PathLike[str] | None,
        every: int,
        extra: Mapping[str, Any] | None,
    ) -> TrainingHistory:
        """Advance ``run`` to its end, writing a checkpoint (if asked) every ``every`` epochs and at the end;
        ``calls`` are `fit`'s ``on_start``, ``on_epoch`` and ``on_checkpoint``. The checkpoint file is the run's
        (`CheckpointFile` owns it) from before ``on_start`` until the last write is on disk."""
        owned = nullcontext() if checkpoint is None else CheckpointFile(checkpoint, name="checkpoint")
        with owned as written:
            on_start, on_epoch, on_checkpoint = calls
            if on_start is not None:
                on_start(self)
            fitted = self._state()
            target, drop, table, validation = tables

            first: TabularCheckpoint | None = None  # the model's parts, validated at the first checkpoint only

            def document(stored: TrainingCheckpoint) -> TabularCheckpoint:
                nonlocal first
                if first is not None:
                    return first.model_copy(update={"run": stored, "extra": dict(extra or {})})
                first = TabularCheckpoint(
                    settings=self.settings,
                    target=target,
                    drop=drop,
                    features=fitted.features,
                    target_encoding=fitted.target,
                    table=table,
                    validation=validation,
                    run=stored,
                    extra=dict(extra or {}),
                )
                return first

            start = run.epochs_done

            def write(epochs_done: int) -> None:  # between epochs in the background; the last one is on disk on return
                if written is not None and (run.finished or (epochs_done - start) % every == 0):
                    written.write(run, document, background=not run.finished)
                    if on_checkpoint is not None:
                        on_checkpoint(epochs_done)

            if not run.finished:  # a run resumed at its end writes nothing again
                run.advance(on_record=on_epoch, between_epochs=write)
                write(run.epochs_done)
            if written is not None:
                written.wait()
        self._fitted = replace(fitted, history=run.history)
        return run.history

    @classmethod
    def resume(
        cls,
        source: TabularCheckpoint | str | os.PathLike[str],
        frame: pd.DataFrame,
        *,
        validation: pd.DataFrame | None = None,
        on_start: Callable[[TabularModel], None] | None = None,
        on_epoch: Callable[[EpochRecord], None] | None = None,
        checkpoint: str | os.PathLike[str] | None = None,
        checkpoint_every: int = CHECKPOINT_EVERY,
        extra: Mapping[str, Any] | None = None,
        on_checkpoint: Callable[[int], None] | None = None,
        name: str | None = None,
        keep_gradients: int | Literal["checkpoint"] | None = "checkpoint",
    ) -> TabularModel:
        """The model a checkpoint (or its file) describes, trained to its end on the same tables.

        ``frame`` and ``validation`` must be the tables the run learned from and watched;
        otherwise a ``ValueError`` says what differs, naming the checkpoint ``name`` (default:
        its path, or ``"checkpoint"``). Only the epochs that remain run, and the model ends
        with the same bits as a run that was never stopped. ``keep_gradients`` replaces the
        run's setting for the epochs that remain (``"checkpoint"``: keep it): it decides only
        which records hold full gradients, never the parameters. The other arguments are those of `fit`.
        """
        document = source if isinstance(source, TabularCheckpoint) else read_checkpoint(source, TabularCheckpoint)
        where = name or ("checkpoint" if isinstance(source, TabularCheckpoint) else str(source))
        stored = document.run
        if keep_gradients != "checkpoint":
            kept = TrainingSettings.of(stored.settings, keep_gradients=keep_gradients)
            stored = stored.model_copy(update={"settings": kept})
        model = cls(**document.settings.model_dump(), settings=stored.settings)
        used = [*feature_columns(frame, document.target, document.drop), document.target]
        frame = model._rows_to_learn(frame, used, "frame")
        held_out = None if validation is None else _check_frame(validation, "validation")
        held_out = None if held_out is None else model._rows_to_learn(held_out, used, "validation")
        given = (TableFingerprint.of(frame[used]), None if held_out is None else TableFingerprint.of(held_out[used]))
        differences = fingerprint_differences(
            [("frame", document.table, given[0]), ("validation", document.validation, given[1])]
        )
        if differences:
            raise ValueError(f"{where}: the tables differ from those the run trained on: {'; '.join(differences)}")
        encoding, column = document.target_encoding, document.target
        X, y = document.features.transform(frame), encoding.encode(frame[column])
        held_out_y = None if held_out is None else encoding.encode(held_out[column], name="validation")
        X, y, watched = model._learning_and_watched_rows(document.features, X, y, held_out, held_out_y)
        run = TrainingRun.from_checkpoint(stored, X, y, watched, source=where)
        columns = used[:-1]
        model._fitted = _Fitted(
            document.features, document.target_encoding, run.network, run.history, frame[columns], frame[column]
        )
        tables = (document.target, document.drop, *given)
        every = positive_int(checkpoint_every, "checkpoint_every")
        model._train(run, tables, (on_start, on_epoch, on_checkpoint), checkpoint, every, extra)
        return model

    # ----- predicting --------------------------------------------------------

    def _encoded(self, frame: pd.DataFrame, unseen: Unseen) -> tuple[_Fitted, pd.DataFrame, np.ndarray]:
        fitted = self._state()
        rows = _check_frame(frame, "frame")
        return fitted, rows, fitted.features.transform(rows, unseen=unseen)

    def predict(self, frame: pd.DataFrame, *, unseen: Unseen = "error") -> pd.Series:
        """Predictions for the rows of ``frame`` (n, any columns): (n,) with ``frame``'s index, named by the target.

        Regression: float64 in the target's units. Classification: the table's own labels
        (integers for an integer column, text for text, ...). Feature columns are found by
        name; others are ignored. ``unseen``: a category never seen in training is an error
        (``"error"``) or encodes as all zeros with a `DataNote` (``"zero"``).
        """
        fitted, rows, X = self._encoded(frame, unseen)
        return pd.Series(_decoded(fitted.network, fitted.target, X), index=rows.index, name=fitted.target.column)

    def predict_proba(self, frame: pd.DataFrame, *, unseen: Unseen = "error") -> pd.DataFrame:
        """Class probabilities (n, n_labels) with ``frame``'s index and one column per label; rows sum to 1.

        Classifiers only; ``unseen`` as in `predict`.
        """
        fitted, rows, X = self._encoded(frame, unseen)
        if fitted.target.labels is None:
            raise ValueError("predict_proba: expected a classifier (task 'binary' or 'multiclass'), got a regression")
        probabilities = _probabilities(fitted.network, X)
        return pd.DataFrame(probabilities, index=rows.index, columns=pd.Index(list(fitted.target.labels)))

    def evaluate(self, frame: pd.DataFrame, *, unseen: Unseen = "error") -> dict[str, float]:
        """Metrics against ``frame[target]``: regression ``mse``, ``rmse`` (target units) and ``r2``;
        classification ``accuracy`` and ``log_loss`` (the network's cross-entropy).

        ``r2`` of a constant target is 1 for an exact fit, else 0, as scikit-learn's.
        """
        fitted, rows, X = self._encoded(frame, unseen)
        column = fitted.target.column
        if column not in rows.columns:
            raise DataError(f"frame: no target column {column!r} to score against; got {list(rows.columns)}")
        y = fitted.target.encode(rows[column])
        if fitted.target.labels is not None:
            accuracy = float(np.mean(fitted.network.predict(X) == y))
            return {"accuracy": accuracy, "log_loss": fitted.network.loss(X, y)}
        actual = rows[column].to_numpy(dtype=np.float64)
        mse = float(np.mean((_decoded(fitted.network, fitted.target, X) - actual) ** 2))
        total = float(np.mean((actual - actual.mean()) ** 2))
        r2 = 1.0 - mse / total if total > 0 else float(mse == 0)
        return {"mse": mse, "rmse": math.sqrt(mse), "r2": r2}

    def score(self, frame: pd.DataFrame, *, unseen: Unseen = "error") -> float:
        """R^2 (regression) or accuracy (classification) against ``frame[target]``."""
        metrics = self.evaluate(frame, unseen=unseen)
        return metrics["accuracy"] if "accuracy" in metrics else metrics["r2"]

    def coefficients(self) -> pd.Series:
        """A linear regression network's collapsed map, in target units per raw feature unit, by feature name.

        The network must have identity activation and head (`Network.linear_map`); a one-hot
        feature's coefficient is per category present.
        """
        fitted = self._state()
        if fitted.target.scaler is None:
            raise ValueError(f"coefficients: expected a regression model, got a {fitted.target.task} one")
        weights, _ = fitted.network.linear_map()
        per_unit = fitted.target.scaler.scale[0] * weights[:, 0] / fitted.features.scaler.scale
        return pd.Series(per_unit, index=fitted.features.feature_names, name=fitted.target.column)

    # ----- what the network learned ------------------------------------------

    def _local_effects(self, frame: pd.DataFrame | None, unseen: Unseen) -> tuple[_Fitted, pd.DataFrame, np.ndarray]:
        """The rows described (``frame``, or the training rows) and their local effects (n, n_outputs, n_columns):
        per raw column of `TableEncoding.columns`, in the outputs' units per raw unit."""
        fitted = self._state()
        if frame is None and fitted.rows is None:
            raise ValueError(
                "frame: a loaded model keeps no training rows to describe; expected the rows to explain, got None"
            )
        rows = _check_frame(fitted.rows if frame is None else frame, "frame")
        X = fitted.features.transform(rows, unseen=unseen, name="frame")
        encoding, scaler = fitted.features, fitted.features.scaler
        n_numeric = len(encoding.numeric)
        gradients = fitted.network.input_gradients(X)[:, :, :n_numeric]
        effects = np.empty((len(X), len(self._outputs(fitted)), len(encoding.columns)))
        with np.errstate(over="ignore", invalid="ignore"):  # refused below, naming the columns
            _per_raw_unit(fitted.target, gradients, scaler.scale[:n_numeric], effects[:, :, :n_numeric])
        if encoding.categorical:
            answers = _answers(fitted.network, fitted.target, X)
            references = encoding.references()
            for j, (column, block) in enumerate(encoding.blocks().items(), start=n_numeric):
                at_reference = X.copy()
                one_hot = np.asarray(encoding.categorical[column]) == references[column]
                at_reference[:, block] = (one_hot - scaler.mean[block]) / scaler.scale[block]
                effects[:, :, j] = answers - _answers(fitted.network, fitted.target, at_reference)
        overflowed = [column for j, column in enumerate(encoding.columns) if not np.isfinite(effects[:, :, j]).all()]
        if overflowed:
            raise ValueError(
                f"frame: the effects of column(s) {overflowed} overflow float64 per raw unit: their training values "
                "spread over so little that one unit of them is beyond what the network's output can change by; "
                "rescale them (e.g. multiply by a power of ten) to read their effects"
            )
        return fitted, rows, effects

    def _outputs(self, fitted: _Fitted) -> list[Any]:
        """What effects are on: the target (regression), or each class label."""
        return [fitted.target.column] if fitted.target.labels is None else list(fitted.target.labels)

    def local_effects(self, frame: pd.DataFrame | None = None, *, unseen: Unseen = "error") -> pd.DataFrame:
        """Each row's effect of each raw feature (n, n_columns), with ``frame``'s index (default: the training rows).

        A number column: ``d prediction / d value``, exact (the network's input gradients through the
        scalers), in the target's units per raw unit. A text column: the prediction minus the prediction
        with the row's category replaced by the reference category (the most frequent in training), by
        forward passes. Classifiers: the same on each class's probability, as one frame with a (label,
        feature) column MultiIndex. ``unseen`` as in `predict`: a category never seen in training is an
        error, or (``"zero"``) encodes as all zeros, whose change against the reference is then its effect.
        """
        fitted, rows, effects = self._local_effects(frame, unseen)
        columns = fitted.features.columns
        if fitted.target.labels is None:
            return pd.DataFrame(effects[:, 0, :], index=rows.index, columns=pd.Index(columns))
        header = pd.MultiIndex.from_product([self._outputs(fitted), columns], names=["label", "feature"])
        return pd.DataFrame(effects.reshape(len(rows), -1), index=rows.index, columns=header)

    def effects(self, frame: pd.DataFrame | None = None, *, unseen: Unseen = "error") -> FeatureEffects:
        """Each raw feature's average marginal effect and spread over the rows of ``frame`` (default: the
        training rows), on the target in its units or on each class's probability; see `local_effects`.

        A network without nonlinearities has the same effect on every row: then the averages equal
        `coefficients` (a category's change against the reference is the difference of theirs) and the
        spread is 0.
        """
        fitted, rows, effects = self._local_effects(frame, unseen)
        encoding, references = fitted.features, fitted.features.references()
        outputs = [str(output) for output in self._outputs(fitted)]
        flat = effects.reshape(len(rows), -1)  # (n, n_outputs * n_columns): every summary in one pass each
        means, stds, (q10, q50, q90) = flat.mean(axis=0), flat.std(axis=0), np.quantile(flat, [0.1, 0.5, 0.9], axis=0)
        categories = {column: rows[column].astype(str).to_numpy() for column in references}
        summaries = []
        for at, (output, column) in enumerate(itertools.product(outputs, encoding.columns)):
            per_category = None
            if column in references:
                values, reference = categories[column], references[column]
                per_category = {
                    category: float(flat[values == category, at].mean())
                    for category in sorted(set(values.tolist()) - {reference})
                }
            summaries.append(
                FeatureEffect(
                    feature=column,
                    kind="number" if per_category is None else "category",
                    output=output,
                    mean=float(means[at]),
                    std=float(stds[at]),
                    q10=float(q10[at]),
                    q50=float(q50[at]),
                    q90=float(q90[at]),
                    reference=None if per_category is None else references[column],
                    per_category=per_category,
                )
            )
        return FeatureEffects(target=fitted.target.column, output=outputs, features=summaries)

    # ----- which rows are wrong -----------------------------------------------

    def row_report(self) -> RowReport:
        """What training said about every row the model learned from, in the table's own terms (`RowReport`):
        under the frame's index labels, the given target, the prediction, the measures the run kept, a score,
        a rank and whether the row is a suspect. With ``patience`` the rows carved out to stop on are in it too,
        marked ``held_out``, measured by the network that never trained on them; a ``validation`` frame's rows
        are not (they are not the frame's).

        Needs a fit with ``keep_rows=True`` (`TrainingSettings.keep_rows`).
        """
        fitted = self._state()
        measures = fitted.history.rows
        if measures is None or fitted.rows is None or fitted.targets is None:
            raise ValueError(
                "row_report: this model kept no measures of its rows; fit it with keep_rows=True "
                "(model.fit(frame, target, keep_rows=True), or TabularModel(..., keep_rows=True))"
            )
        rows, given = fitted.rows, fitted.targets
        predicted = _decoded(fitted.network, fitted.target, fitted.features.transform(rows))
        parts = []
        watched = fitted.history.val_rows
        if self.training.patience is not None and watched is not None:
            learn, carved = self._carved(len(rows))
            parts = [
                RowPart(rows.iloc[learn], given.iloc[learn], predicted[learn], measures, held_out=False),
                RowPart(rows.iloc[carved], given.iloc[carved], predicted[carved], watched, held_out=True),
            ]
        else:
            parts = [RowPart(rows, given, predicted, measures, held_out=False)]
        scale = 1.0 if fitted.target.scaler is None else float(fitted.target.scaler.scale[0])
        return RowReport.of(fitted.target.column, fitted.target.task, parts, scale)

    # ----- files -------------------------------------------------------------

    def bundle(self) -> Bundle:
        """The fitted model as one validated document."""
        fitted = self._state()
        return Bundle(network=fitted.network.to_document(), features=fitted.features, target=fitted.target)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the bundle to ``path`` (JSON, atomically): what ``train.py --save`` writes and `load` reads."""
        write_atomically(path, self.bundle().model_dump_json())

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> TabularModel:
        """A fitted model from a bundle file (``train.py --save`` or `save`); anything else is a ``ValueError``
        naming the file. Its ``history`` is empty; training settings other than the architecture are the defaults."""
        bundle = read_model(path, Bundle)
        network = Network.from_document(bundle.network)
        model = cls(task=bundle.target.task, hidden=network.layer_sizes[1:-1], activation=network.activation)
        model._fitted = _Fitted(bundle.features, bundle.target, network, TrainingHistory())
        return model
