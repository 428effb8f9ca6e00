"""Tables in, predictions in the table's own terms out: `TabularModel`, which writes `glassnet.bundles`' files.

    from glassnet import TabularModel

    model = TabularModel(task="multiclass", hidden=(16,), activation="relu")
    model.fit(flowers, "species")              # a pandas DataFrame and its target column
    model.predict(new_flowers)                 # the table's own labels (or target units)
    model.predict_proba(new_flowers)           # one column per label, rows sum to 1
    model.network.params, model.history        # every weight and gradient norm, as for any Network
    model.save("model.json")                   # the bundle the command line's --save writes

One object owns the path from a raw row to a prediction: the encodings learned from the
training rows (numbers standardized, text one-hot, labels to integer codes), the network,
and the decoding of its output into the target's units or labels. `glassnet.bundles.HEADS_BY_TASK`
is the one rule linking a task to its head; `TargetEncoding` gives the output width and decodes.

Why a module of its own: the network knows nothing of tables and a table's rooms (`glassnet.reading`,
`glassnet.tables`, `glassnet.encoding`) nothing of networks; this is where the two meet, for the command line
and for library users alike. The library never prints: notes (a column left out, categories never seen in
training) are `glassnet.reading.DataNote` warnings.
"""

from __future__ import annotations

import itertools
import math
import os
import warnings
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, replace
from typing import Any, Literal, Unpack, cast, get_args

import numpy as np
import pandas as pd

from glassnet.bundles import HEADS_BY_TASK, Bundle, TableFingerprint, TabularCheckpoint, TabularSettings, output_width
from glassnet.callbacks import Callback
from glassnet.checkpoints import CheckpointFile, TrainingCheckpoint, read_checkpoint
from glassnet.encoding import TASKS, TableEncoding, TargetEncoding, Task, Unseen
from glassnet.files import read_model, write_atomically
from glassnet.fingerprints import fingerprint_differences
from glassnet.functions import ACTIVATIONS
from glassnet.network import Init, Network
from glassnet.optim import Adam
from glassnet.reading import DataError, DataNote
from glassnet.records import EpochRecord, FeatureEffect, FeatureEffects, RowMeasures, TrainingHistory
from glassnet.rows import RowPart, RowReport, unique_labels
from glassnet.rules import non_negative_int, one_of, open_fraction, positive_int
from glassnet.selection import CANDIDATES, LINEAR, Candidate, Selection, choose, too_few, unchosen
from glassnet.settings import TrainingOptions, TrainingSettings
from glassnet.tables import (
    MISSING,
    CheckedRows,
    Missing,
    Parts,
    absent_columns,
    check_frame,
    checked_frame,
    split_rows,
    usable_rows,
)
from glassnet.training import TrainingRun

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


def _callbacks(callbacks: Sequence[Callback]) -> list[Callback]:
    """``callbacks`` as a list, each checked to be a `Callback`."""
    if isinstance(callbacks, Callback) or not isinstance(callbacks, Sequence):
        raise TypeError(f"callbacks: expected a sequence of Callback objects, got {type(callbacks).__name__}")
    wrong = [type(callback).__name__ for callback in callbacks if not isinstance(callback, Callback)]
    if wrong:
        raise TypeError(f"callbacks: expected Callback objects, got {', '.join(wrong)}")
    return list(callbacks)


class NotFittedError(ValueError, AttributeError):
    """A `TabularModel` asked for what only a fitted (or loaded) one has."""


def _frame(rows: object, name: str) -> pd.DataFrame:
    """The DataFrame of ``rows``: `CheckedRows`' as it is, any other `check_frame`'s (the error naming ``name``)."""
    return rows.frame if isinstance(rows, CheckedRows) else check_frame(rows, name)


def feature_columns(frame: pd.DataFrame | CheckedRows, target: str, drop: Sequence[str] = ()) -> list[str]:
    """The columns of ``frame`` a model learns from, in frame order: all but ``target`` and ``drop``.

    Raises `DataError` when ``target`` or a name in ``drop`` is not a column of ``frame``,
    or when ``drop`` names the target; ``TypeError`` when they are not column names.
    """
    frame = _frame(frame, "frame")
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


def _candidates(candidates: object, given: list[str]) -> tuple[Candidate, ...]:
    """``candidates`` (default `CANDIDATES`) as a tuple; refused when ``given`` names what chooses nothing."""
    if candidates is None:
        return CANDIDATES
    if given:
        raise ValueError(
            f"candidates: only a model that chooses its network uses candidates; got {' and '.join(given)} too, "
            "which choose nothing; leave out candidates, or those"
        )
    if isinstance(candidates, str) or not isinstance(candidates, Sequence) or not candidates:
        raise TypeError(f"candidates: expected a non-empty sequence of Candidate, got {candidates!r}")
    wrong = [type(candidate).__name__ for candidate in candidates if not isinstance(candidate, Candidate)]
    if wrong:
        raise TypeError(f"candidates: expected glassnet.selection.Candidate items, got {wrong}")
    return tuple(candidates)


@dataclass(frozen=True)
class _Fitted:
    """What fitting (or loading) gives a model: the encodings, the network and how it trained."""

    features: TableEncoding
    target: TargetEncoding
    network: Network
    history: TrainingHistory
    rows: CheckedRows | None = None
    """The feature columns of the rows it learned from, which effects describe unless given others."""
    selection: Selection | None = None
    """How the network came to be; ``None`` for a model loaded from a version 1 bundle."""
    targets: pd.Series | None = None
    """Their target column, as the table gave it."""
    measured: dict[str, RowMeasures] | None = None
    """With ``keep_rows``, a model that chose: its measuring runs' measures of those rows (`Choice.rows`)."""


@dataclass
class _Training:
    """A training under way: its run, and the tables it learns from and watches (their columns used), which a
    checkpoint records by their fingerprints."""

    run: TrainingRun
    target: str
    drop: list[str]
    table: pd.DataFrame
    validation: pd.DataFrame | None
    known: tuple[TableFingerprint, TableFingerprint | None] | None = None
    """The fingerprints of ``table`` and ``validation``, once made: a run that writes no checkpoint hashes nothing."""

    def fingerprints(self) -> tuple[TableFingerprint, TableFingerprint | None]:
        """The fingerprints of the tables learned from and watched, made when first asked for."""
        if self.known is None:
            watched = None if self.validation is None else TableFingerprint.of(self.validation)
            self.known = (TableFingerprint.of(self.table), watched)
        return self.known


class WriteCheckpoints(Callback):
    """The callback that writes a `TabularCheckpoint` to ``path`` every ``every`` epochs of training and at its end;
    `TabularModel.resume` goes on from it, to the same bits.

    ``extra`` (JSON values) is stored in it for the caller. The disk writes those made between epochs while
    training goes on, and ``fit`` returns, or stops, only once the last is on disk. The file is the run's (its
    `CheckpointFile`, ``<path>.lock``) from `on_train_begin` until `close`: given before the callbacks that print,
    a file another process owns is refused before they begin. ``written`` is the epochs the last checkpoint
    written holds (``None`` before the first).
    """

    def __init__(
        self, path: str | os.PathLike[str], *, every: int = CHECKPOINT_EVERY, extra: Mapping[str, Any] | None = None
    ) -> None:
        self.path = path
        self.every = positive_int(every, "every")
        self.extra = dict(extra or {})
        self.written: int | None = None
        self._file: CheckpointFile | None = None
        self._model: TabularModel | None = None
        self._start = 0
        self._first: TabularCheckpoint | None = None  # the model's parts, validated at the first checkpoint only

    def on_train_begin(self, model: TabularModel) -> None:
        self._file = CheckpointFile(self.path, name="checkpoint")
        self._model, self._start, self._first = model, model._under_way().run.epochs_done, None
        self.written = None

    def between_epochs(self, run: TrainingRun) -> None:
        if (run.epochs_done - self._start) % self.every == 0:
            self._write(run, background=True)

    def on_train_end(self, model: TabularModel) -> None:
        run = model._under_way().run
        if run.epochs_done > self._start:  # a run resumed at its end writes nothing again
            self._write(run, background=False)

    def close(self) -> None:
        if self._file is not None:
            file, self._file = self._file, None
            file.close()

    def _write(self, run: TrainingRun, *, background: bool) -> None:
        if self._file is None or self._model is None:
            raise RuntimeError("WriteCheckpoints: a checkpoint is written only between on_train_begin and close")
        self._file.write(run, self._document, background=background)
        self.written = run.epochs_done

    def _document(self, stored: TrainingCheckpoint) -> TabularCheckpoint:
        if self._first is None:
            if self._model is None:
                raise RuntimeError("WriteCheckpoints: a checkpoint is made only between on_train_begin and close")
            self._first = self._model._checkpoint(stored, self.extra)
        return self._first.model_copy(update={"run": stored, "extra": dict(self.extra)})


class TabularModel:
    """A dense network that learns from a table and predicts in the table's own terms.

    Parameters
    ----------
    task : {"regression", "binary", "multiclass"}
        What the target column holds: numbers, or class labels (two, or two or more).
    hidden : sequence of int, optional
        Hidden layer widths; empty for none. With ``hidden``, ``activation`` and the training
        settings (``keep_rows`` aside, which measures and changes no bit) all left out, `fit` chooses the
        network on the training rows
        (`glassnet.selection.choose`); given any of them, nothing is chosen (``hidden`` left out is
        then ``[10, 25]``, ``activation`` ``"identity"``: the linear network) and `selection` says so.
    activation : str, optional
        Hidden activation, a key of ``ACTIVATIONS``.
    init : str
        Weight initialization of a network given (``"xavier"``, ``"he"`` or ``"normal"``); the
        candidates of a choice have their own.
    validation_fraction : float
        The share of the training rows carved out for ``patience`` (`VALIDATION_FRACTION`).
    seed : int
        Seeds the carving, the initialization and the minibatch order.
    missing : {"error", "drop"}
        What `fit` does with rows that have a missing value in a column it uses (`glassnet.tables.Missing`):
        refuse them, naming them, or leave them out with a `DataNote` counting them.
    settings : TrainingSettings, optional
        How to train a network given; `TABULAR_TRAINING` unless given.
    candidates : sequence of Candidate, optional
        What a model that chooses picks from (`glassnet.selection.CANDIDATES` unless given,
        simplest first); refused together with a network or training settings, which choose nothing.
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
        hidden: Sequence[int] | None = None,
        activation: str | None = None,
        init: str = "xavier",
        validation_fraction: float = VALIDATION_FRACTION,
        seed: int = 0,
        missing: Missing = "error",
        settings: TrainingSettings | None = None,
        candidates: Sequence[Candidate] | None = None,
        **training: Unpack[TrainingOptions],
    ) -> None:
        if hidden is not None and (isinstance(hidden, str) or not isinstance(hidden, Sequence)):
            raise TypeError(f"hidden: expected a sequence of positive integers, got {hidden!r}")
        if settings is not None and not isinstance(settings, TrainingSettings):
            raise TypeError(f"settings: expected TrainingSettings, got {type(settings).__name__}")
        self.task = cast(Task, one_of(task, "task", TASKS))
        self.hidden = list(LINEAR.hidden) if hidden is None else [positive_int(width, "hidden") for width in hidden]
        self.activation = LINEAR.activation if activation is None else one_of(activation, "activation", ACTIVATIONS)
        self._given = [name for name, value in (("hidden", hidden), ("activation", activation)) if value is not None]
        measuring = {"keep_rows"}  # measures every row and changes no bit of training: a model keeping rows chooses
        self._given += [*(["settings"] if settings is not None else []), *(set(training) - measuring)]
        self.candidates = _candidates(candidates, self._given)
        self.init = cast(Init, one_of(init, "init", INITS))
        self.validation_fraction = open_fraction(validation_fraction, "validation_fraction")
        self.seed = non_negative_int(seed, "seed")
        self.missing = cast(Missing, one_of(missing, "missing", MISSING))
        base = TABULAR_TRAINING if settings is None else settings
        self.training = TrainingSettings.of(base, **training) if training else base
        self._fitted: _Fitted | None = None
        self._training: _Training | None = None

    def __repr__(self) -> str:
        state = "fitted" if self._fitted is not None else "not fitted"
        if self.chooses:
            return f"TabularModel(task={self.task!r}, choosing among {[c.name for c in self.candidates]}; {state})"
        return (
            f"TabularModel(task={self.task!r}, hidden={self.hidden}, activation={self.activation!r}, "
            f"training={self.training!r}; {state})"
        )

    @property
    def chooses(self) -> bool:
        """Whether `fit` chooses the network: nothing about it or its training was given."""
        return not self._given

    def _unchosen(self, n_rows: int) -> Selection | None:
        """Why `fit` on ``n_rows`` rows chooses nothing, as the record it keeps; ``None`` when it chooses."""
        network = f"hidden {self.hidden} {self.activation}"
        if not self.chooses:
            why = f"nothing chosen: the network was given; trained {network} as told"
            if {"hidden", "activation"}.isdisjoint(self._given):
                why = (
                    f"nothing chosen: training settings were given; trained the linear network, {network}, with "
                    "them (leave every training setting out to let the model choose its network)"
                )
            return unchosen(Candidate(name="given", hidden=self.hidden, activation=self.activation), n_rows, why)
        small = too_few(n_rows)
        if small is not None:
            warnings.warn(small.reason, DataNote, stacklevel=3)
        return small

    @property
    def selection(self) -> Selection | None:
        """How the network came to be (`glassnet.selection.Selection`): the candidates' scores and the winner,
        or why nothing was chosen; ``.table()`` shows it. ``None`` for a model loaded from an older bundle."""
        return self._state().selection

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
        """One record per epoch of the last `fit` (a chosen network's: its first member's; none after `load`)."""
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
        rows = self._state().rows
        return None if rows is None else rows.frame

    @property
    def row_measures(self) -> dict[str, RowMeasures]:
        """The `RowMeasures` that `row_report` averages, by the name of the network that took them: of a model that
        chose, each candidate's of a classifier and the winner's of a regression, trained on all the rows as a refit
        is (`glassnet.selection.choose`; a candidate not refit in several runs, ``"relu average"``,
        ``"relu average, run 2"``), else the one network (its ``selection.chosen.name``); empty without
        ``keep_rows``."""
        fitted = self._state()
        if fitted.measured is not None:
            return dict(fitted.measured)
        name = "network" if fitted.selection is None else fitted.selection.chosen.name
        return {} if fitted.history.rows is None else {name: fitted.history.rows}

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
        frame: pd.DataFrame | CheckedRows,
        target: str,
        *,
        drop: Sequence[str] = (),
        validation: pd.DataFrame | CheckedRows | None = None,
        classes_from: pd.DataFrame | CheckedRows | None = None,
        callbacks: Sequence[Callback] = (),
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
            ``patience`` as without. A regression reads nothing of them but that they have
            the ``target`` column.
        callbacks : sequence of Callback, optional
            What happens around training (`glassnet.callbacks.Callback`): each is told when the
            model is built (it can already predict), of each epoch's record as it is made, between
            epochs, and at the end. `WriteCheckpoints` writes a `TabularCheckpoint` that `resume`
            goes on from, to the same bits.
        keep_rows : bool, optional
            `TrainingSettings.keep_rows` for this fit (``None``: the model's ``training``): measure every row,
            for `row_report`. Its rows must then have an index label each. A model that chooses its network
            has its candidates measure them (a regression: its winner), trained on all the rows as a refit is
            (`row_measures`); the
            choice and the network are the same as without.

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
        asked = {"validation": validation is not None, "callbacks": bool(callbacks)}
        refused = [name for name, given in asked.items() if given]
        if self.chooses and refused:
            raise ValueError(
                f"{' and '.join(refused)}: a model that chooses its network trains several networks, which this "
                "follows one of; expected it left out, or a network given (hidden=..., activation=...)"
            )
        rows = self._rows_to_learn(frame, {"features": columns, "target": [target]}, "frame")
        training = self.training if keep_rows is None else TrainingSettings.of(self.training, keep_rows=keep_rows)
        if training.keep_rows:
            unique_labels(rows.frame.index, "frame")
        held_out = None
        if validation is not None:
            given = _frame(validation, "validation")
            if self.training.patience is not None:
                raise ValueError(
                    "validation: with patience the validation rows are carved from frame "
                    f"({self.validation_fraction:.0%}); expected no validation frame, got one"
                )
            absent = [name for name in used if name not in given.columns]
            if absent:
                raise DataError(f"validation: missing column(s) {absent}; got {list(given.columns)}")
            held_out = self._rows_to_learn(validation, {"validation": used}, "validation")
        classes = None
        if classes_from is not None:
            given = _frame(classes_from, "classes_from")
            if target not in given.columns:
                raise DataError(f"classes_from: no target column {target!r}; got {list(given.columns)}")
            if self.task != "regression":  # only labels join the classes: a regression reads none of these rows
                classes = self._rows_to_learn(classes_from, {"classes_from": [target]}, "classes_from")
        hooks = _callbacks(callbacks)
        features, X = TableEncoding.fit_transform(rows.select(columns))
        target_encoding, y, held_out_y = TargetEncoding.fit_transform(
            rows.select([target]),
            self.task,
            validation=None if held_out is None else held_out.select([target]),
            classes_from=None if classes is None else classes.select([target]),
        )
        selection = self._unchosen(len(X))
        if selection is None:
            head, n_outputs = HEADS_BY_TASK[self.task], output_width(target_encoding)
            choice = choose(
                X,
                y,
                head=head,
                n_outputs=n_outputs,
                seed=self.seed,
                candidates=self.candidates,
                keep_rows=training.keep_rows,
            )
            chosen = (choice.network, choice.history, rows.select(columns), choice.selection)
            measured = choice.rows if training.keep_rows else None
            self._fitted = _Fitted(features, target_encoding, *chosen, rows.frame[target], measured)
            return choice.history
        network = Network(
            [len(features.feature_names), *self.hidden, output_width(target_encoding)],
            activation=self.activation,
            head=HEADS_BY_TASK[self.task],
            init=self.init,
            seed=self.seed,
        )
        X, y, watched = self._learning_and_watched_rows(features, X, y, held_out, held_out_y)
        run = TrainingRun(network, X, y, training, validation_data=watched)
        fitted_rows, targets = rows.select(columns), rows.frame[target]
        self._fitted = _Fitted(features, target_encoding, network, run.history, fitted_rows, selection, targets)
        watched_rows = None if held_out is None else held_out.frame[used]
        return self._train(_Training(run, target, list(drop), rows.frame[used], watched_rows), hooks)

    def _rows_to_learn(self, frame: pd.DataFrame | CheckedRows, parts: Parts, what: str) -> CheckedRows:
        """``frame``'s rows (`check_frame`'s) to learn from the columns of ``parts`` (`usable_rows`, as ``missing``
        rules), checked here once: the encodings take them as they are. `CheckedRows` of those columns are not
        checked again."""
        columns = [name for part in parts.values() for name in part]
        table, checked = checked_frame(frame, columns)
        if checked and isinstance(frame, CheckedRows):
            return frame
        return usable_rows(table, columns, self.missing, what, parts=parts)

    def _learning_and_watched_rows(
        self,
        features: TableEncoding,
        X: np.ndarray,
        y: np.ndarray,
        held_out: CheckedRows | None,
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

    def _train(self, training: _Training, callbacks: list[Callback]) -> TrainingHistory:
        """Advance ``training.run`` to its end, calling each of ``callbacks``' hooks in turn, and close every callback
        begun, error or not."""
        run = training.run

        def on_record(record: EpochRecord) -> None:
            for callback in callbacks:
                callback.on_epoch_end(record)

        def between_epochs(epochs_done: int) -> None:
            for callback in callbacks:
                callback.between_epochs(run)

        self._training = training
        try:
            with ExitStack() as begun:
                for callback in callbacks:
                    begun.callback(callback.close)
                    callback.on_train_begin(self)
                if not run.finished:
                    run.advance(on_record=on_record, between_epochs=between_epochs)
                for callback in callbacks:
                    callback.on_train_end(self)
        finally:
            self._training = None
        self._fitted = replace(self._state(), history=run.history)
        return run.history

    def _under_way(self) -> _Training:
        if self._training is None:
            raise RuntimeError("TabularModel: no training is under way; callbacks are called by fit and resume")
        return self._training

    def _checkpoint(self, stored: TrainingCheckpoint, extra: dict[str, Any]) -> TabularCheckpoint:
        """The `TabularCheckpoint` of the training under way, its run's part ``stored``."""
        training, fitted = self._under_way(), self._state()
        table, validation = training.fingerprints()
        return TabularCheckpoint(
            settings=self.settings,
            target=training.target,
            drop=training.drop,
            features=fitted.features,
            target_encoding=fitted.target,
            table=table,
            validation=validation,
            run=stored,
            extra=extra,
        )

    @classmethod
    def resume(
        cls,
        source: TabularCheckpoint | str | os.PathLike[str],
        frame: pd.DataFrame | CheckedRows,
        *,
        validation: pd.DataFrame | CheckedRows | None = None,
        callbacks: Sequence[Callback] = (),
        name: str | None = None,
        keep_gradients: int | Literal["checkpoint"] | None = "checkpoint",
    ) -> TabularModel:
        """The model a checkpoint (or its file) describes, trained to its end on the same tables.

        ``frame`` and ``validation`` must be the tables the run learned from and watched;
        otherwise a ``ValueError`` says what differs, naming the checkpoint ``name`` (default:
        its path, or ``"checkpoint"``). Only the epochs that remain run, and the model ends
        with the same bits as a run that was never stopped. ``keep_gradients`` replaces the
        run's setting for the epochs that remain (``"checkpoint"``: keep it): it decides only
        which records hold full gradients, never the parameters. ``callbacks`` are those of `fit`.
        """
        hooks = _callbacks(callbacks)
        document = source if isinstance(source, TabularCheckpoint) else read_checkpoint(source, TabularCheckpoint)
        where = name or ("checkpoint" if isinstance(source, TabularCheckpoint) else str(source))
        stored = document.run
        if keep_gradients != "checkpoint":
            kept = TrainingSettings.of(stored.settings, keep_gradients=keep_gradients)
            stored = stored.model_copy(update={"settings": kept})
        model = cls(**document.settings.model_dump(), settings=stored.settings)
        used = [*feature_columns(frame, document.target, document.drop), document.target]
        rows = model._rows_to_learn(frame, {"features": used[:-1], "target": used[-1:]}, "frame")
        held_out = None
        if validation is not None:
            _frame(validation, "validation")
            held_out = model._rows_to_learn(validation, {"validation": used}, "validation")
        tables = (rows.frame[used], None if held_out is None else held_out.frame[used])
        given = (TableFingerprint.of(tables[0]), None if tables[1] is None else TableFingerprint.of(tables[1]))
        differences = fingerprint_differences(
            [("frame", document.table, given[0]), ("validation", document.validation, given[1])]
        )
        if differences:
            raise ValueError(f"{where}: the tables differ from those the run trained on: {'; '.join(differences)}")
        encoding, column = document.target_encoding, document.target
        X, y = document.features.transform(rows), encoding.encode(rows.select([column]))
        held_out_y = None if held_out is None else encoding.encode(held_out.select([column]), name="validation")
        X, y, watched = model._learning_and_watched_rows(document.features, X, y, held_out, held_out_y)
        run = TrainingRun.from_checkpoint(stored, X, y, watched, source=where)
        columns = used[:-1]
        selection = model._unchosen(len(rows.frame))
        model._fitted = _Fitted(
            document.features,
            document.target_encoding,
            run.network,
            run.history,
            rows.select(columns),
            selection,
            rows.frame[column],
        )
        model._train(_Training(run, document.target, document.drop, *tables, known=given), hooks)
        return model

    # ----- predicting --------------------------------------------------------

    def _encoded(self, frame: pd.DataFrame | CheckedRows, unseen: Unseen) -> tuple[_Fitted, pd.DataFrame, np.ndarray]:
        fitted = self._state()
        rows = _frame(frame, "frame")
        return fitted, rows, fitted.features.transform(frame if isinstance(frame, CheckedRows) else rows, unseen=unseen)

    def predict(self, frame: pd.DataFrame | CheckedRows, *, unseen: Unseen = "error") -> pd.Series:
        """Predictions for the rows of ``frame`` (n, any columns): (n,) with ``frame``'s index, named by the target.

        Regression: float64 in the target's units. Classification: the table's own labels
        (integers for an integer column, text for text, ...). Feature columns are found by
        name; others are ignored. ``unseen``: a category never seen in training is an error
        (``"error"``) or encodes as all zeros with a `DataNote` (``"zero"``).
        """
        fitted, rows, X = self._encoded(frame, unseen)
        return pd.Series(_decoded(fitted.network, fitted.target, X), index=rows.index, name=fitted.target.column)

    def predict_proba(self, frame: pd.DataFrame | CheckedRows, *, unseen: Unseen = "error") -> pd.DataFrame:
        """Class probabilities (n, n_labels) with ``frame``'s index and one column per label; rows sum to 1.

        Classifiers only; ``unseen`` as in `predict`.
        """
        fitted, rows, X = self._encoded(frame, unseen)
        if fitted.target.labels is None:
            raise ValueError("predict_proba: expected a classifier (task 'binary' or 'multiclass'), got a regression")
        probabilities = _probabilities(fitted.network, X)
        return pd.DataFrame(probabilities, index=rows.index, columns=pd.Index(list(fitted.target.labels)))

    def evaluate(self, frame: pd.DataFrame | CheckedRows, *, unseen: Unseen = "error") -> dict[str, float]:
        """Metrics against ``frame[target]``: regression ``mse``, ``rmse`` (target units) and ``r2``;
        classification ``accuracy`` and ``log_loss`` (the network's cross-entropy).

        ``r2`` of a constant target is 1 for an exact fit, else 0, as scikit-learn's.
        """
        fitted, rows, X = self._encoded(frame, unseen)
        column = fitted.target.column
        if column not in rows.columns:
            raise DataError(f"frame: no target column {column!r} to score against; got {list(rows.columns)}")
        y = fitted.target.encode(frame.select([column]) if isinstance(frame, CheckedRows) else rows[column])
        if fitted.target.labels is not None:
            accuracy = float(np.mean(fitted.network.predict(X) == y))
            return {"accuracy": accuracy, "log_loss": fitted.network.loss(X, y)}
        actual = rows[column].to_numpy(dtype=np.float64)
        mse = float(np.mean((_decoded(fitted.network, fitted.target, X) - actual) ** 2))
        total = float(np.mean((actual - actual.mean()) ** 2))
        r2 = 1.0 - mse / total if total > 0 else float(mse == 0)
        return {"mse": mse, "rmse": math.sqrt(mse), "r2": r2}

    def score(self, frame: pd.DataFrame | CheckedRows, *, unseen: Unseen = "error") -> float:
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

    def _local_effects(
        self, frame: pd.DataFrame | CheckedRows | None, unseen: Unseen
    ) -> tuple[_Fitted, pd.DataFrame, np.ndarray]:
        """The rows described (``frame``, or the training rows) and their local effects (n, n_outputs, n_columns):
        per raw column of `TableEncoding.columns`, in the outputs' units per raw unit."""
        fitted = self._state()
        if frame is None and fitted.rows is None:
            raise ValueError(
                "frame: a loaded model keeps no training rows to describe; expected the rows to explain, got None"
            )
        given = fitted.rows if frame is None else frame
        rows = _frame(given, "frame")
        X = fitted.features.transform(given if isinstance(given, CheckedRows) else rows, unseen=unseen, name="frame")
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

    def local_effects(
        self, frame: pd.DataFrame | CheckedRows | None = None, *, unseen: Unseen = "error"
    ) -> pd.DataFrame:
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

    def effects(self, frame: pd.DataFrame | CheckedRows | None = None, *, unseen: Unseen = "error") -> FeatureEffects:
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
        """What training said about every row the model learned from, in the table's own terms (`RowReport`): under
        the frame's index labels, the given target, the prediction, the measures the run kept (a model that chose:
        its candidates' (a regression: its winner's), trained on all the rows as a refit is, averaged), a score, a
        rank and whether the row is a suspect. With ``patience`` the rows carved out to stop on are in it too,
        marked ``held_out``, measured by the network that never trained on them; a ``validation`` frame's rows are
        not (they are not the frame's).

        Needs a fit with ``keep_rows=True`` (`TrainingSettings.keep_rows`).
        """
        fitted, measures = self._state(), tuple(self.row_measures.values())
        if fitted.measured == {}:  # kept rows, a choice made, and no run that measures them ended
            raise ValueError(
                "row_report: every run that measures the rows diverged, so there are no measures to report; "
                "expected a fit whose measuring runs end (or pin a network: hidden=..., activation=...)"
            )
        if not measures or fitted.rows is None or fitted.targets is None:
            raise ValueError(
                "row_report: this model kept no measures of its rows; fit it with keep_rows=True "
                "(model.fit(frame, target, keep_rows=True), or TabularModel(..., keep_rows=True))"
            )
        checked, given = fitted.rows, fitted.targets
        predicted = _decoded(fitted.network, fitted.target, fitted.features.transform(checked))
        rows = checked.frame
        parts = []
        watched = fitted.history.val_rows
        if self.training.patience is not None and watched is not None:
            learn, carved = self._carved(len(rows))
            parts = [
                RowPart(rows.iloc[learn], given.iloc[learn], predicted[learn], measures, held_out=False),
                RowPart(rows.iloc[carved], given.iloc[carved], predicted[carved], (watched,), held_out=True),
            ]
        else:
            parts = [RowPart(rows, given, predicted, measures, held_out=False)]
        scale = 1.0 if fitted.target.scaler is None else float(fitted.target.scaler.scale[0])
        return RowReport.of(fitted.target.column, fitted.target.task, parts, scale)

    # ----- files -------------------------------------------------------------

    def bundle(self) -> Bundle:
        """The fitted model as one validated document."""
        fitted = self._state()
        document = fitted.network.to_document()
        return Bundle(network=document, features=fitted.features, target=fitted.target, selection=fitted.selection)

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
        model._fitted = _Fitted(bundle.features, bundle.target, network, TrainingHistory(), selection=bundle.selection)
        return model
