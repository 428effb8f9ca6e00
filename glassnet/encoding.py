"""Encoding a table's columns as a network's inputs and targets, and back.

A `TableEncoding` turns feature columns into a z-scored float64 matrix (numbers standardized, text one-hot
encoded) and a `TargetEncoding` the target column into regression targets or class codes, as its `Task` says, and
back. ``fit_transform`` learns an encoding from the training rows and applies it in the same pass: the table is
encoded once, its missing values and its finiteness are checked once (not again for `glassnet.tables.CheckedRows`),
and the matrix the network takes is in C order from the start. `Standardizer` is the z-scoring both use. This
module knows nothing of networks.

Errors about a table, a column or a value in it are `glassnet.reading.DataError`; a wrong argument type is a
`TypeError`, a wrong argument value a `ValueError`. A column left out or categories never seen in training give a
`glassnet.reading.DataNote` warning.
"""

import math
import re
import warnings
from collections.abc import Sequence
from typing import Literal, Self, cast, get_args

import numpy as np
import numpy.typing as npt
import pandas as pd
from pandas.api.types import is_bool_dtype, is_float_dtype, is_integer_dtype
from pydantic import (
    BaseModel,
    ConfigDict,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    field_validator,
    model_validator,
)

from glassnet.fields import Float64Vector, FloatArray
from glassnet.reading import DataError, DataNote, is_number_column, reject_duplicates
from glassnet.rules import one_of
from glassnet.tables import CheckedRows, checked_frame, checked_series, reject_infinite, reject_missing

Task = Literal["regression", "binary", "multiclass"]
TASKS: tuple[Task, ...] = get_args(Task)
Unseen = Literal["error", "zero"]
"""What encoding does with a category never seen in training: raise, or encode it as all zeros."""
UNSEEN: tuple[Unseen, ...] = get_args(Unseen)
Labels = list[StrictBool] | list[StrictInt] | list[StrictFloat] | list[StrictStr]
"""Class labels as the target column held them: booleans, integers, floats or text."""


INDEX_NAME = re.compile(r"|Unnamed: \d+|rownames")
"""Header names of a saved row index: empty (pandas reads it as ``Unnamed: <i>``) or R's ``rownames``."""
INDEX_MIN_ROWS = 10
"""An integer column counts the rows (0..n-1 or 1..n) only over at least this many rows."""
ID_MIN_DISTINCT, ID_SHARE = 20, 0.5
"""A text column with more distinct values than both of these (a count, a share of the rows) is an identifier."""
MAX_ENCODED_BYTES = 2 * 1024**3
"""The largest encoded feature matrix (float64) a table may ask for: 2 GiB."""
_MODEL_CONFIG = ConfigDict(frozen=True, extra="forbid")
_BOOLEAN_CATEGORIES = [str(False), str(True)]
"""The categories of a boolean column (a file's ``true``/``false`` cells read as booleans), compared as strings."""


def check_task(task: object) -> Task:
    """``task`` if it is one of `TASKS`, else the error naming it."""
    return cast(Task, one_of(task, "task", TASKS))


def _as_matrix(values: npt.ArrayLike) -> FloatArray:
    matrix = np.asarray(values, dtype=np.float64)
    if matrix.ndim != 2:
        raise ValueError(f"values: expected a 2-D array (n, k), got shape {matrix.shape}")
    if not np.isfinite(matrix).all():
        raise ValueError("values: expected finite numbers, got NaN or infinity")
    return matrix


class Standardizer(BaseModel):
    """Per-column z-scoring: ``(values - mean) / scale``.

    ``mean`` and ``scale`` are (k,) float64 (strict: convert before constructing);
    ``scale`` is the population standard deviation, or 1.0 for a constant column.
    """

    model_config = _MODEL_CONFIG
    mean: Float64Vector
    scale: Float64Vector

    @field_validator("mean", "scale")
    @classmethod
    def _finite_read_only_copy(cls, values: np.ndarray) -> np.ndarray:
        if not np.isfinite(values).all():
            raise ValueError(f"expected finite numbers, got {values.tolist()}")
        copy = values.copy()
        copy.flags.writeable = False
        return copy

    @model_validator(mode="after")
    def _check_scale(self) -> Self:
        if self.mean.shape != self.scale.shape:
            raise ValueError(f"mean and scale: expected the same length, got {len(self.mean)} and {len(self.scale)}")
        if not (self.scale > 0).all():
            raise ValueError(f"scale: expected positive numbers, got {self.scale.tolist()}")
        return self

    @classmethod
    def fit(cls, values: npt.ArrayLike, names: Sequence[str] | None = None) -> Self:
        """Learn each column's mean and scale from ``values`` (n, k), n >= 1 and k >= 1.

        The statistics are taken of each column divided by the power of two at or just below
        its largest magnitude, then scaled back (both exact), so they neither overflow for values
        near float64's largest nor underflow for subnormal ones (1e-310 spreads like 1). A constant column gets scale
        1.0, so it transforms to 0, and a `DataNote` warning. Messages name the columns by
        ``names`` (k,) if given, else by index.
        """
        matrix = _as_matrix(values)
        for axis, what in ((0, "row"), (1, "column")):
            if matrix.shape[axis] == 0:
                raise ValueError(f"values: expected at least one {what}, got 0")
        return cls._fit(matrix, names)

    @classmethod
    def _fit(cls, matrix: FloatArray, names: Sequence[str] | None) -> Self:
        """`fit` on a checked matrix (n, k): finite, n >= 1."""
        labels = list(names) if names is not None else list(range(matrix.shape[1]))
        unit = np.ldexp(1.0, np.frexp(np.abs(matrix).max(axis=0))[1] - 1)  # 2**k <= max |value| < 2**(k+1)
        unit_values = matrix / unit
        mean, spread = unit_values.mean(axis=0) * unit, unit_values.std(axis=0) * unit
        constant = (matrix.min(axis=0) == matrix.max(axis=0)) | (spread == 0)
        if constant.any():
            columns = [labels[i] for i in np.flatnonzero(constant)]
            warnings.warn(f"column(s) {columns} are constant; scale set to 1.0", DataNote, stacklevel=3)
        return cls(mean=np.where(constant, matrix[0], mean), scale=np.where(constant, 1.0, spread))

    def transform(self, values: npt.ArrayLike) -> np.ndarray:
        """Z-score ``values`` (n, k) -> (n, k) float64."""
        matrix = self._check_width(values)
        return self._standardize(matrix, np.empty_like(matrix))  # in the layout given

    def _standardize(self, matrix: FloatArray, out: FloatArray) -> FloatArray:
        """``(matrix - mean) / scale`` of a checked matrix (n, k), into ``out`` (which may be ``matrix``)."""
        np.subtract(matrix, self.mean, out=out)
        out /= self.scale
        return out

    def inverse_transform(self, values: npt.ArrayLike) -> np.ndarray:
        """Undo `transform`: ``values`` (n, k) -> (n, k) float64 in the original units."""
        return self._check_width(values) * self.scale + self.mean

    def _check_width(self, values: npt.ArrayLike) -> np.ndarray:
        matrix = _as_matrix(values)
        if matrix.shape[1] != len(self.mean):
            raise ValueError(f"values: expected {len(self.mean)} columns, got {matrix.shape[1]}")
        return matrix


def _some(values: Sequence[object], limit: int = 10) -> str:
    """``values`` as a list for a message, the first ``limit`` of them when there are more."""
    if len(values) <= limit:
        return repr(list(values))
    return f"{list(values[:limit])!r}[:{limit}] of {len(values):,}"


def _codes(values: np.ndarray, known: Sequence[object], what: str, unseen: Unseen = "error") -> np.ndarray:
    """Position of each of ``values`` (n,) in ``known``, as int64 (n,); -1 where unseen, if ``unseen="zero"``."""
    codes = pd.Index(list(known)).get_indexer(pd.Index(values)).astype(np.int64)
    absent = codes < 0
    if absent.any():
        found = sorted(set(values[absent].tolist()))
        if unseen == "error":
            raise DataError(f"{what}: unseen value(s) {_some(found)}; known values are {_some(known)}")
        warnings.warn(
            f"{what}: {int(absent.sum()):,} row(s) with value(s) unseen in training {_some(found)} "
            "encoded as all zeros",
            DataNote,
            stacklevel=4,
        )
    return codes


def _encoded_names(numeric: list[str], categorical: dict[str, list[str]]) -> list[str]:
    one_hot = [f"{name}={category}" for name, categories in categorical.items() for category in categories]
    return numeric + one_hot


def _name_collisions(numeric: list[str], categorical: dict[str, list[str]]) -> str | None:
    """What makes two encoded columns share a name (a numeric column ``c=b`` beside category ``b`` of a text
    column ``c``, or ``a=b`` holding ``c`` beside ``a`` holding ``b=c``), or ``None`` when every name is unique."""
    sources: dict[str, list[str]] = {}
    for name in numeric:
        sources.setdefault(name, []).append(f"column {name!r}")
    for column, categories in categorical.items():
        for category in categories:
            sources.setdefault(f"{column}={category}", []).append(f"value {category!r} of column {column!r}")
    shared = {name: where for name, where in sources.items() if len(where) > 1}
    if not shared:
        return None
    said = "; ".join(f"{' and '.join(where)} both encode as {name!r}" for name, where in shared.items())
    return f"{said}: rename a column so that each input has its own name"


def _encode(
    features: pd.DataFrame,
    numeric: list[str],
    categorical: dict[str, list[str]],
    *,
    unseen: Unseen,
    order: Literal["C", "F"],
    name: str,
    checked: bool,
) -> FloatArray:
    """Numeric columns then one-hot blocks, unscaled: (n, n_encoded) float64 in ``order``, allocated once.

    The numbers are checked here, once: text in a numeric column, or infinity unless the rows were
    ``checked`` (`CheckedRows`), is a `DataError` naming ``name`` (the part of the table) and the columns.
    """
    not_numbers = [column for column in numeric if not is_number_column(features[column])]
    if not_numbers:
        raise DataError(f"{name}: expected numbers in column(s) {not_numbers}, got text")
    width = len(numeric) + sum(len(categories) for categories in categorical.values())
    if len(features) * width * 8 > MAX_ENCODED_BYTES:
        widest = ", ".join(
            f"{name!r} ({len(categorical[name]):,} values)"
            for name in sorted(categorical, key=lambda name: -len(categorical[name]))[:3]
        )
        raise DataError(
            f"{name}: {len(features):,} rows x {width:,} encoded columns need "
            f"{len(features) * width * 8 / 1024**3:.1f} GiB, more than the {MAX_ENCODED_BYTES // 1024**3} GiB allowed; "
            f"the widest text columns are {widest}"
        )
    numbers = features[numeric].to_numpy(dtype=np.float64)
    if not checked and not np.isfinite(numbers).all():
        reject_infinite(features, {name: numeric})
    encoded = np.zeros((len(features), width), order=order)
    encoded[:, : len(numeric)] = numbers
    start = len(numeric)
    for column, categories in categorical.items():
        codes = _codes(features[column].astype(str).to_numpy(), categories, f"column {column!r}", unseen)
        rows = np.flatnonzero(codes >= 0)
        encoded[rows, start + codes[rows]] = 1.0
        start += len(categories)
    return encoded


def _not_features(features: pd.DataFrame) -> dict[str, str]:
    """The columns of ``features`` that describe rows rather than what they hold, each with the reason.

    A saved row index: a header of `INDEX_NAME`, or an integer column equal to each row's
    integer index label (or label + 1) on at least `INDEX_MIN_ROWS` rows: read from a file,
    0..n-1 or 1..n in file order. An identifier: a text column with more distinct values
    than `ID_MIN_DISTINCT` and than `ID_SHARE` of the rows (IDs, dates, free text), which
    one-hot encoding would turn into a column per row.
    """
    reasons: dict[str, str] = {}
    rows, labels = len(features), features.index
    counts_rows = rows >= INDEX_MIN_ROWS and is_integer_dtype(labels.dtype)
    for name in features.columns:
        column = features[name]
        if INDEX_NAME.fullmatch(name):
            reasons[name] = "its name marks a saved row index (an empty header, 'Unnamed: <i>' or 'rownames')"
        elif counts_rows and is_integer_dtype(column.dtype):
            values, positions = column.to_numpy(), labels.to_numpy()
            if (values == positions).all() or (values == positions + 1).all():
                reasons[name] = "it counts the rows (0..n-1 or 1..n in row order): a saved row index"
        elif not is_number_column(column) and (distinct := column.nunique()) > max(ID_MIN_DISTINCT, ID_SHARE * rows):
            reasons[name] = f"{distinct:,} distinct text values in {rows:,} rows: an identifier or free text"
    return reasons


def _constant(features: pd.DataFrame, names: Sequence[str]) -> dict[str, str]:
    """The columns of ``features`` that hold one value in every row, each with the reason to leave it out.

    Such a column standardizes to 0 on every training row, so no gradient ever reaches its
    weights: kept, a row with another value would be predicted through the random initial
    weight, and ``coefficients()`` would report that weight as an effect.
    """
    reasons: dict[str, str] = {}
    for name in names:
        column = features[name]
        numbers = is_number_column(column)
        if column.min() == column.max() if numbers else column.astype(str).nunique() == 1:
            value = column.iloc[0].item() if numbers else str(column.iloc[0])
            reasons[name] = (
                f"it holds one value ({value!r}) in every training row, so the network cannot learn "
                "what it does, and other values of it will not change a prediction"
            )
    return reasons


class TableEncoding(BaseModel):
    """How a table's feature columns become a z-scored numeric matrix.

    Numeric columns are used as they are; every other column (text, bool, category) is
    one-hot encoded, its categories compared as strings in sorted order. Columns are
    selected by name, so a table at prediction time may have them in any order and may
    have extra columns. A category not seen by `fit` is a `DataError` naming the column,
    the unseen values and the known ones, unless ``unseen="zero"`` asks for an all-zero
    encoding (with a `DataNote` counting the rows): silently encoding it would predict
    for a row unlike any the network was trained on.
    """

    model_config = _MODEL_CONFIG
    numeric: list[str]
    categorical: dict[str, list[str]]
    scaler: Standardizer

    @model_validator(mode="after")
    def _check_width(self) -> Self:
        if not self.feature_names:
            raise ValueError("numeric and categorical: expected at least one feature column, got none")
        collisions = _name_collisions(self.numeric, self.categorical)
        if collisions is not None:
            raise ValueError(f"numeric and categorical: {collisions}")
        if len(self.scaler.mean) != len(self.feature_names):
            raise ValueError(
                f"scaler: expected {len(self.feature_names)} columns, one per encoded feature, "
                f"got {len(self.scaler.mean)}"
            )
        for column, categories in self.categorical.items():
            if categories != sorted(categories):
                raise ValueError(
                    f"categorical[{column!r}]: expected the categories in sorted order, as fitting writes them, got "
                    f"{_some(categories)}; another order would give each category another category's weights"
                )
        return self

    @property
    def feature_names(self) -> list[str]:
        """Names of the encoded columns: numeric names, then ``"column=category"``."""
        return _encoded_names(self.numeric, self.categorical)

    @property
    def columns(self) -> list[str]:
        """The table columns the encoding reads: numeric, then categorical."""
        return [*self.numeric, *self.categorical]

    @property
    def text_columns(self) -> list[str]:
        """The categorical columns whose categories are cells as written, which a file of rows to encode must
        have read as text (`read_table`'s ``text``): all but those of booleans, whose categories are
        ``["False", "True"]`` however the cells spelled them, and which reading guesses as booleans again."""
        return [column for column, categories in self.categorical.items() if categories != _BOOLEAN_CATEGORIES]

    def blocks(self) -> dict[str, slice]:
        """Each text column's one-hot columns among `feature_names`, by column name."""
        found, start = {}, len(self.numeric)
        for column, categories in self.categorical.items():
            found[column] = slice(start, start + len(categories))
            start += len(categories)
        return found

    def references(self) -> dict[str, str]:
        """Each text column's reference category: the most frequent in the training rows, the first in sorted
        order on a tie. Read from the scaler, whose mean of a one-hot column is its category's training share."""
        return {
            column: self.categorical[column][int(np.argmax(self.scaler.mean[block]))]
            for column, block in self.blocks().items()
        }

    @classmethod
    def fit(cls, features: pd.DataFrame | CheckedRows) -> Self:
        """Learn the columns, categories and scaling of ``features`` (n, n_columns).

        Saved row indexes, identifier columns (see `_not_features`) and columns holding one
        value in every row (`_constant`) are left out, each with a `DataNote` saying why.
        """
        return cls._learn(features)[0]

    @classmethod
    def fit_transform(cls, features: pd.DataFrame | CheckedRows) -> tuple[Self, FloatArray]:
        """`fit` ``features`` (n, n_columns), and their encoding: (n, len(feature_names)) z-scored, C order.

        One pass: the table is encoded once, and its missing values and numbers checked once (none of them again
        for `CheckedRows`).
        """
        encoding, raw = cls._learn(features)
        return encoding, encoding.scaler._standardize(raw, np.empty(raw.shape))  # C order: as the network takes it

    @classmethod
    def _learn(cls, rows: pd.DataFrame | CheckedRows) -> tuple[Self, FloatArray]:
        """The encoding of ``rows``' features, and their unscaled encoded matrix, column by column (F order):
        each column's statistics are then sums over contiguous values, taken pairwise."""
        features, checked = checked_frame(rows)
        names = [name for name in features.columns if isinstance(name, str)]
        if len(names) != features.shape[1]:
            raise DataError(f"features: expected text column names, got {list(features.columns)}")
        if not checked:
            reject_duplicates(names, "features")
            reject_missing(features, "features")
        left_out = _not_features(features)
        left_out |= _constant(features, [name for name in names if name not in left_out])
        for name, reason in left_out.items():
            warnings.warn(f"column {name!r} left out: {reason}; drop it to silence this note", DataNote, stacklevel=3)
        names = [name for name in names if name not in left_out]
        if not names:
            dropped = f" (left out: {list(left_out)})" if left_out else ""
            raise DataError(f"features: expected at least one feature column, got none{dropped}")
        numeric = [name for name in names if is_number_column(features[name])]
        categorical = {name: sorted(set(features[name].astype(str))) for name in names if name not in numeric}
        collisions = _name_collisions(numeric, categorical)
        if collisions is not None:
            raise DataError(f"features: {collisions}")
        raw = _encode(features, numeric, categorical, unseen="error", order="F", name="features", checked=checked)
        scaler = Standardizer._fit(raw, _encoded_names(numeric, categorical))
        return cls(numeric=numeric, categorical=categorical, scaler=scaler), raw

    def transform(
        self, features: pd.DataFrame | CheckedRows, unseen: Unseen = "error", *, name: str = "features"
    ) -> FloatArray:
        """Encode ``features`` (n, any columns) -> (n, len(feature_names)) float64, z-scored, C order.

        ``unseen``: ``"error"`` raises on a category `fit` never saw; ``"zero"`` encodes it
        as all zeros and warns with a `DataNote` counting the rows. Messages call the rows ``name``.
        The missing values and infinity of `CheckedRows` are not looked for again.
        """
        unseen = cast(Unseen, one_of(unseen, "unseen", UNSEEN))
        features, checked = checked_frame(features, self.columns)
        absent = [column for column in self.columns if column not in features.columns]
        if absent:
            raise DataError(f"{name}: missing required column(s) {absent}; got {list(features.columns)}")
        if not checked:
            reject_missing(features[self.columns], name)
        raw = _encode(features, self.numeric, self.categorical, unseen=unseen, order="C", name=name, checked=checked)
        return self.scaler._standardize(raw, raw)


def _label_strings(target: pd.Series) -> np.ndarray:
    """Each value of ``target`` (n,) as a class label string, (n,) object; 2.0 -> "2".

    How glassnet stored every label before labels kept their type: bundles from then
    hold text labels, and a numeric target is matched against them this way.
    """
    if not is_number_column(target):
        return target.astype(str).to_numpy(dtype=object)
    return np.array([str(int(value)) if float(value).is_integer() else str(value) for value in target], dtype=object)


def _label_values(target: pd.Series, checked: bool = False) -> np.ndarray:
    """The values of ``target`` (n,) as labels of their kind: bool, int64, finite float64, or text (object);
    infinity is looked for unless the column was ``checked``."""
    if is_bool_dtype(target.dtype):
        return target.to_numpy(dtype=bool)
    if is_integer_dtype(target.dtype):
        return target.to_numpy(dtype=np.int64)
    if is_float_dtype(target.dtype):
        return _regression_values(target, checked)
    return target.astype(str).to_numpy(dtype=object)


def _check_class_count(column: str, task: Task, count: int, rows: int | None = None) -> None:
    """Refuse ``count`` classes for ``task``: binary needs 2, multiclass 2 or more, and, when the labels come from
    ``rows`` rows (fitting), no more than `ID_MIN_DISTINCT` or `ID_SHARE` of the rows, as text features."""
    if task == "binary" and count != 2:
        raise DataError(f"target {column!r}: binary needs exactly 2 distinct values, found {count}")
    if count < 2:
        raise DataError(f"target {column!r}: multiclass needs at least 2 distinct values, found {count}")
    if rows is not None and count > max(ID_MIN_DISTINCT, ID_SHARE * rows):
        raise DataError(
            f"target {column!r}: {task} found {count:,} distinct values in {rows:,} rows, more than "
            f"{ID_MIN_DISTINCT} and than {ID_SHARE:.0%} of the rows: too many to be classes (a continuous number "
            "or an identifier?); for numbers use the regression task (--task regression)"
        )


def _regression_values(target: pd.Series, checked: bool = False) -> np.ndarray:
    """The numbers of ``target`` (n,), float64; infinity is looked for unless the column was ``checked``."""
    if not is_number_column(target):
        raise DataError(
            f"target {target.name!r}: regression needs numbers, got {target.dtype} values such as "
            f"{target.iloc[0]!r}; for class labels use the binary or multiclass task (--task)"
        )
    values = target.to_numpy(dtype=np.float64)
    if not checked and not np.isfinite(values).all():
        reject_infinite(target.to_frame(), {f"target {target.name!r}": [cast(str, target.name)]})
    return values


def _in_written_order(labels: Sequence[object]) -> bool:
    """Whether ``labels`` are sorted as fitting writes them: by value, or, text labels of numbers, as an older bundle
    may hold them (``["2", "10"]``), by the numbers' values."""
    if list(labels) == sorted(labels):  # type: ignore[type-var]  # one kind of label: bool, int, float or str
        return True
    try:
        numbers = [float(cast(str, label)) for label in labels]
    except ValueError:
        return False
    return numbers == sorted(numbers)


class TargetEncoding(BaseModel):
    """The target column's meaning: a scaler for regression, class labels for classification.

    ``labels[i]`` is the class with code ``i``, sorted, of the kind the column held: an
    integer column gives integer labels, a bool column bools, a float column floats, any
    other column text. An older bundle may hold text labels of any column ("2" for 2 or 2.0);
    it is read as it is and predicts text.
    """

    model_config = _MODEL_CONFIG
    column: str
    task: Task
    labels: Labels | None = None
    scaler: Standardizer | None = None

    @model_validator(mode="after")
    def _check_task_fields(self) -> Self:
        if self.task == "regression":
            if self.scaler is None or len(self.scaler.mean) != 1 or self.labels is not None:
                raise ValueError(f"regression: expected a one-column scaler and no labels, got labels {self.labels}")
            return self
        if self.labels is None or self.scaler is not None or len(set(self.labels)) != len(self.labels):
            raise ValueError(f"{self.task}: expected distinct labels and no scaler, got labels {self.labels}")
        if not all(math.isfinite(label) for label in self.labels if isinstance(label, float)):
            raise ValueError(f"{self.task}: expected finite labels, got {self.labels}")
        if not _in_written_order(self.labels):
            raise ValueError(
                f"labels: expected the labels in sorted order, as fitting writes them, got {_some(self.labels)}; "
                "another order would give each class another class's output"
            )
        _check_class_count(self.column, self.task, len(self.labels))
        return self

    @classmethod
    def fit(
        cls,
        target: pd.Series | CheckedRows,
        task: Task,
        *,
        validation: pd.Series | CheckedRows | None = None,
        classes_from: pd.Series | CheckedRows | None = None,
    ) -> Self:
        """Learn how to encode ``target`` (n,) for ``task``.

        Classification takes its labels from ``target``, ``validation`` (held-out rows'
        targets, if given) and ``classes_from`` (other rows' targets, only for their labels),
        so a class found only in held-out rows still has an output; regression scales by
        ``target`` alone. Each is a Series, or `CheckedRows` of one column.
        """
        return cls._learn(target, task, validation, classes_from)[0]

    @classmethod
    def fit_transform(
        cls,
        target: pd.Series | CheckedRows,
        task: Task,
        *,
        validation: pd.Series | CheckedRows | None = None,
        classes_from: pd.Series | CheckedRows | None = None,
    ) -> tuple[Self, np.ndarray, np.ndarray | None]:
        """`fit`, and ``target`` and ``validation`` (or ``None``) encoded with it as `encode` gives them.

        Each part is checked once (`CheckedRows` not again), its missing values named by ``"target"``,
        ``"validation"`` or ``"classes_from"``.
        """
        encoding, values = cls._learn(target, task, validation, classes_from)
        encoded = [encoding._encode_values(part) for part in values]
        return encoding, encoded[0], encoded[1] if validation is not None else None

    @classmethod
    def _learn(
        cls,
        target: pd.Series | CheckedRows,
        task: Task,
        validation: pd.Series | CheckedRows | None,
        classes_from: pd.Series | CheckedRows | None,
    ) -> tuple[Self, list[np.ndarray]]:
        """The encoding, and the values of ``target`` (and ``validation``) as it reads them: numbers or labels."""
        task = check_task(task)
        column, checked = checked_series(target, "target")
        if not isinstance(column.name, str):
            raise DataError(f"target: expected a named column, got name {column.name!r}")
        given = {"target": target, "validation": validation}
        if task != "regression":
            given["classes_from"] = classes_from
        parts = [(*checked_series(part, name), name) for name, part in given.items() if part is not None]
        parts = [(series.rename(column.name), checked, name) for series, checked, name in parts]
        for part, checked, name in parts:
            if not checked:
                reject_missing(part.to_frame(), name)
        learned = parts[: 1 + (validation is not None)]
        if task == "regression":
            numbers = [_regression_values(part, checked) for part, checked, _ in learned]
            scaler = Standardizer._fit(numbers[0][:, None], [column.name])
            return cls(column=column.name, task=task, scaler=scaler), numbers
        values = [_label_values(part, checked) for part, checked, _ in parts]
        labels = np.unique(np.concatenate(values)).tolist()
        _check_class_count(column.name, task, len(labels), sum(map(len, values)))
        return cls(column=column.name, task=task, labels=labels), values[: len(learned)]

    def encode(self, target: pd.Series | CheckedRows, *, name: str = "target") -> np.ndarray:
        """Regression: (n, 1) float64 z-scored; classification: int64 codes (n,). Messages call it ``name``; the
        missing values and infinity of `CheckedRows` (of one column) are not looked for again."""
        column, checked = checked_series(target, name)
        if not checked:
            reject_missing(column.to_frame(), name)
        if self.scaler is not None:
            return self._encode_values(_regression_values(column, checked))
        labels = cast(list[object], self.labels)
        return self._encode_values(
            _label_strings(column) if isinstance(labels[0], str) else _label_values(column, checked)
        )

    def _encode_values(self, values: np.ndarray) -> np.ndarray:
        """Checked values (n,) as `encode` gives them: z-scores (n, 1), or codes (n,)."""
        if self.scaler is not None:
            column = values[:, None]
            return self.scaler._standardize(column, np.empty(column.shape))
        return _codes(values, cast(list[object], self.labels), f"target {self.column!r}")

    def decode(self, values: npt.ArrayLike) -> np.ndarray:
        """Regression: (n, 1) or (n,) z-scores -> (n,) float64 in target units;
        classification: int codes (n,) -> labels (n,) of the labels' kind (text as object)."""
        array = np.asarray(values)
        if self.scaler is not None:
            if array.ndim not in (1, 2) or (array.ndim == 2 and array.shape[1] != 1):
                raise ValueError(f"values: expected shape (n,) or (n, 1), got {array.shape}")
            return self.scaler.inverse_transform(array.reshape(-1, 1))[:, 0]
        labels = cast(list[object], self.labels)
        if array.ndim != 1 or array.dtype.kind not in "iu" or ((array < 0) | (array >= len(labels))).any():
            raise ValueError(
                f"values: expected integer codes (n,) in [0, {len(labels)}), got {array.dtype} {array.shape}"
            )
        return np.take(np.array(labels, dtype=object if isinstance(labels[0], str) else None), array)
