"""Data for glassnet: the synthetic housing table, CSV tables, encoding and standardizing.

The housing data follows a known linear formula, so a linear network's weights can be
checked against it::

    price = 150 size_sqft + 50,000 bedrooms - 1,000 age_years - 2,000 distance_km
            + Normal(0, noise)

with size uniform on [500, 4000) sqft, bedrooms an integer 1..5, age an integer 0..49
years and distance uniform on [0, 30) km; prices are in dollars.

Errors about a table, a column or a value in it are `DataError` (a `ValueError`);
a wrong argument type is a `TypeError`, a wrong argument value a `ValueError`.
"""

import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Literal, Self, cast, get_args

import numpy as np
import numpy.typing as npt
import pandas as pd
from pandas.api.types import is_bool_dtype, is_numeric_dtype
from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from glassnet_guards import Float64Vector, non_negative_int, non_negative_number, one_of, open_fraction, positive_int

Task = Literal["regression", "binary", "multiclass"]
TASKS: tuple[Task, ...] = get_args(Task)
FEATURES: tuple[str, ...] = ("size_sqft", "bedrooms", "age_years", "distance_km")
TARGET = "price"
TRUE_COEFFICIENTS: dict[str, float] = {
    "size_sqft": 150.0,
    "bedrooms": 50_000.0,
    "age_years": -1_000.0,
    "distance_km": -2_000.0,
}
_MODEL_CONFIG = ConfigDict(frozen=True, extra="forbid")


class DataError(ValueError):
    """A file, table, column or value that cannot be used; the message names which and why."""


def _check_task(task: object) -> Task:
    return cast(Task, one_of(task, "task", TASKS))


def make_housing(n_samples: int = 10_000, *, seed: int = 0, noise: float = 10_000.0) -> pd.DataFrame:
    """Generate the housing table in raw units.

    Returns
    -------
    DataFrame (n_samples, 5): columns ``FEATURES`` then ``TARGET``; size, distance and price
    float64, bedrooms and age int64. The same ``seed`` gives the same table.
    """
    n_samples = positive_int(n_samples, "n_samples")
    seed = non_negative_int(seed, "seed")
    noise = non_negative_number(noise, "noise")
    rng = np.random.default_rng(seed)
    housing = pd.DataFrame(
        {
            "size_sqft": rng.uniform(500.0, 4000.0, n_samples),
            "bedrooms": rng.integers(1, 6, n_samples, dtype=np.int64),
            "age_years": rng.integers(0, 50, n_samples, dtype=np.int64),
            "distance_km": rng.uniform(0.0, 30.0, n_samples),
        }
    )
    coefficients = np.array([TRUE_COEFFICIENTS[name] for name in FEATURES])
    features = housing[list(FEATURES)].to_numpy(dtype=np.float64)
    housing[TARGET] = features @ coefficients + rng.normal(0.0, noise, n_samples)
    return housing


def get_data(n_samples: int = 10_000, *, seed: int = 0, task: Task = "regression") -> tuple[np.ndarray, np.ndarray]:
    """Housing data ready for a network (noise 10,000 dollars).

    Returns
    -------
    X : (n_samples, 4) float64, each feature z-scored.
    y : regression: (n_samples, 1) float64 z-scored price; binary: (n_samples,) int64,
        1 where price is above the median; multiclass: (n_samples,) int64 price tertile
        0, 1 or 2 (cut at the 1/3 and 2/3 quantiles).
    """
    task = _check_task(task)
    housing = make_housing(n_samples, seed=seed)
    features = housing[list(FEATURES)].to_numpy(dtype=np.float64)
    price = housing[TARGET].to_numpy(dtype=np.float64)
    X = Standardizer.fit(features).transform(features)
    if task == "regression":
        return X, Standardizer.fit(price[:, None]).transform(price[:, None])
    return X, price_bands(housing[TARGET], task).to_numpy()


def price_bands(price: pd.Series, task: Literal["binary", "multiclass"]) -> pd.Series:
    """Class labels from prices (n,), int64 (n,) with the same index.

    binary: ``price_above_median``, 1 where the price is above the median;
    multiclass: ``price_tertile``, 0, 1 or 2, cut at the 1/3 and 2/3 quantiles.
    """
    values = price.to_numpy(dtype=np.float64)
    if task == "binary":
        return pd.Series((values > np.median(values)).astype(np.int64), index=price.index, name="price_above_median")
    tertiles = np.digitize(values, np.quantile(values, [1 / 3, 2 / 3])).astype(np.int64)
    return pd.Series(tertiles, index=price.index, name="price_tertile")


def _as_matrix(values: npt.ArrayLike) -> np.ndarray:
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
        """Learn each column's mean and scale from ``values`` (n, k), n >= 1.

        A constant column (or one whose spread underflows to 0) gets scale 1.0, so it
        transforms to 0, and a ``UserWarning``. A column whose mean or spread overflows
        float64 is a `DataError`. Messages name the columns by ``names`` (k,) if given,
        else by index.
        """
        matrix = _as_matrix(values)
        if len(matrix) == 0:
            raise ValueError("values: expected at least one row, got 0")
        labels = list(names) if names is not None else list(range(matrix.shape[1]))
        with np.errstate(over="ignore", invalid="ignore"):
            mean, spread = matrix.mean(axis=0), matrix.std(axis=0)
        overflowing = ~(np.isfinite(mean) & np.isfinite(spread))
        if overflowing.any():
            columns = [labels[i] for i in np.flatnonzero(overflowing)]
            raise DataError(f"values: column(s) {columns} are too large to standardize (float64 overflows)")
        constant = (np.ptp(matrix, axis=0) == 0) | (spread == 0)
        if constant.any():
            columns = [labels[i] for i in np.flatnonzero(constant)]
            warnings.warn(f"column(s) {columns} are constant; scale set to 1.0", UserWarning, stacklevel=2)
        return cls(mean=np.where(constant, matrix[0], mean), scale=np.where(constant, 1.0, spread))

    def transform(self, values: npt.ArrayLike) -> np.ndarray:
        """Z-score ``values`` (n, k) -> (n, k) float64."""
        return (self._check_width(values) - self.mean) / self.scale

    def inverse_transform(self, values: npt.ArrayLike) -> np.ndarray:
        """Undo `transform`: ``values`` (n, k) -> (n, k) float64 in the original units."""
        return self._check_width(values) * self.scale + self.mean

    def _check_width(self, values: npt.ArrayLike) -> np.ndarray:
        matrix = _as_matrix(values)
        if matrix.shape[1] != len(self.mean):
            raise ValueError(f"values: expected {len(self.mean)} columns, got {matrix.shape[1]}")
        return matrix


def read_table(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a CSV file with a header row into a DataFrame (n_rows >= 1, n_columns >= 1).

    Raises `DataError` naming the file and the problem: missing, a directory, unreadable,
    not UTF-8 text, empty, or not well-formed CSV.
    """
    location = Path(path)
    try:
        table = pd.read_csv(location)
    except FileNotFoundError as error:
        raise DataError(f"{location}: no such file") from error
    except IsADirectoryError as error:
        raise DataError(f"{location}: is a directory, expected a CSV file") from error
    except OSError as error:
        raise DataError(f"{location}: cannot be read ({error.strerror or error})") from error
    except UnicodeDecodeError as error:
        raise DataError(f"{location}: not UTF-8 text (byte {error.start} cannot be decoded)") from error
    except pd.errors.EmptyDataError as error:
        raise DataError(f"{location}: is empty, expected a header row and data rows") from error
    except ValueError as error:
        reason = str(error).strip().partition("\n")[0]
        raise DataError(f"{location}: not well-formed CSV ({reason})") from error
    if not isinstance(table.index, pd.RangeIndex):
        raise DataError(f"{location}: not well-formed CSV (rows have more fields than the header)")
    if table.empty:
        raise DataError(f"{location}: has a header but no data rows")
    return table


def reject_missing(table: pd.DataFrame, what: str) -> None:
    """Raise `DataError` naming each column of ``table`` with missing values, and how many rows."""
    counts = table.isna().sum()
    missing = counts[counts > 0]
    if len(missing):
        found = ", ".join(f"{name!r} ({count} of {len(table)} rows)" for name, count in missing.items())
        raise DataError(f"{what}: missing values in column(s) {found}")


def _is_numeric(column: pd.Series) -> bool:
    return is_numeric_dtype(column.dtype) and not is_bool_dtype(column.dtype)


def _codes(values: np.ndarray, known: list[str], what: str) -> np.ndarray:
    """Position of each string of ``values`` (n,) in ``known``, as int64 (n,)."""
    codes = pd.Index(known).get_indexer(pd.Index(values))
    if (codes < 0).any():
        unseen = sorted(set(values[codes < 0]))
        raise DataError(f"{what}: unseen value(s) {unseen}; known values are {known}")
    return codes.astype(np.int64)


def _encoded_names(numeric: list[str], categorical: dict[str, list[str]]) -> list[str]:
    one_hot = [f"{name}={category}" for name, categories in categorical.items() for category in categories]
    return numeric + one_hot


def _encode(features: pd.DataFrame, numeric: list[str], categorical: dict[str, list[str]]) -> np.ndarray:
    """Numeric columns then one-hot blocks, unscaled: (n, n_encoded) float64."""
    not_numbers = [name for name in numeric if not _is_numeric(features[name])]
    if not_numbers:
        raise DataError(f"features: expected numbers in column(s) {not_numbers}, got text")
    numbers = features[numeric].to_numpy(dtype=np.float64)
    not_finite = [name for name, finite in zip(numeric, np.isfinite(numbers).all(axis=0), strict=True) if not finite]
    if not_finite:
        raise DataError(f"features: expected finite numbers in column(s) {not_finite}, got infinity")
    one_hot = [
        np.eye(len(categories))[_codes(features[name].astype(str).to_numpy(), categories, f"column {name!r}")]
        for name, categories in categorical.items()
    ]
    return np.hstack([numbers, *one_hot])


class TableEncoding(BaseModel):
    """How a table's feature columns become a z-scored numeric matrix.

    Numeric columns are used as they are; every other column (text, bool, category) is
    one-hot encoded, its categories compared as strings in sorted order. Columns are
    selected by name, so a table at prediction time may have them in any order and may
    have extra columns. A category not seen by `fit` is a `DataError` naming the column,
    the unseen values and the known ones: encoding it as all zeros would silently
    predict for a row unlike any the network was trained on.
    """

    model_config = _MODEL_CONFIG
    numeric: list[str]
    categorical: dict[str, list[str]]
    scaler: Standardizer

    @model_validator(mode="after")
    def _check_width(self) -> Self:
        if not self.feature_names:
            raise ValueError("numeric and categorical: expected at least one feature column, got none")
        if len(self.scaler.mean) != len(self.feature_names):
            raise ValueError(
                f"scaler: expected {len(self.feature_names)} columns, one per encoded feature, "
                f"got {len(self.scaler.mean)}"
            )
        return self

    @property
    def feature_names(self) -> list[str]:
        """Names of the encoded columns: numeric names, then ``"column=category"``."""
        return _encoded_names(self.numeric, self.categorical)

    @classmethod
    def fit(cls, features: pd.DataFrame) -> Self:
        """Learn the columns, categories and scaling of ``features`` (n, n_columns)."""
        names = [name for name in features.columns if isinstance(name, str)]
        if len(set(names)) != features.shape[1]:
            raise DataError(f"features: expected distinct text column names, got {list(features.columns)}")
        if not names:
            raise DataError("features: expected at least one feature column, got none")
        reject_missing(features, "features")
        numeric = [name for name in names if _is_numeric(features[name])]
        categorical = {name: sorted(set(features[name].astype(str))) for name in names if name not in numeric}
        raw = _encode(features, numeric, categorical)
        scaler = Standardizer.fit(raw, _encoded_names(numeric, categorical))
        return cls(numeric=numeric, categorical=categorical, scaler=scaler)

    def transform(self, features: pd.DataFrame) -> np.ndarray:
        """Encode ``features`` (n, any columns) -> (n, len(feature_names)) float64, z-scored."""
        required = [*self.numeric, *self.categorical]
        absent = [name for name in required if name not in features.columns]
        if absent:
            raise DataError(f"features: missing required column(s) {absent}; got {list(features.columns)}")
        reject_missing(features[required], "features")
        return self.scaler.transform(_encode(features, self.numeric, self.categorical))


def _label_strings(target: pd.Series) -> np.ndarray:
    """Each value of ``target`` (n,) as a class label string, (n,) object; 2.0 -> "2"."""
    if not _is_numeric(target):
        return target.astype(str).to_numpy(dtype=object)
    return np.array([str(int(value)) if float(value).is_integer() else str(value) for value in target], dtype=object)


def _check_class_count(column: str, task: Task, count: int) -> None:
    if task == "binary" and count != 2:
        raise DataError(f"target {column!r}: binary needs exactly 2 distinct values, found {count}")
    if count < 2:
        raise DataError(f"target {column!r}: multiclass needs at least 2 distinct values, found {count}")


def _regression_values(target: pd.Series) -> np.ndarray:
    if not _is_numeric(target):
        raise DataError(
            f"target {target.name!r}: regression needs numbers, got {target.dtype} values such as "
            f"{target.iloc[0]!r}; for class labels use the binary or multiclass task (--task)"
        )
    values = target.to_numpy(dtype=np.float64)
    if not np.isfinite(values).all():
        raise DataError(f"target {target.name!r}: expected finite numbers, got infinity")
    return values


class TargetEncoding(BaseModel):
    """The target column's meaning: a scaler for regression, class labels for classification.

    ``labels[i]`` is the class with code ``i``: numbers sorted numerically, then written as
    strings (2.0 as "2"); text sorted as strings.
    """

    model_config = _MODEL_CONFIG
    column: str
    task: Task
    labels: list[str] | None = None
    scaler: Standardizer | None = None

    @model_validator(mode="after")
    def _check_task_fields(self) -> Self:
        if self.task == "regression":
            if self.scaler is None or len(self.scaler.mean) != 1 or self.labels is not None:
                raise ValueError(f"regression: expected a one-column scaler and no labels, got labels {self.labels}")
            return self
        if self.labels is None or self.scaler is not None or len(set(self.labels)) != len(self.labels):
            raise ValueError(f"{self.task}: expected distinct labels and no scaler, got labels {self.labels}")
        _check_class_count(self.column, self.task, len(self.labels))
        return self

    @classmethod
    def fit(cls, target: pd.Series, task: Task) -> Self:
        """Learn how to encode ``target`` (n,) for ``task``."""
        task = _check_task(task)
        if not isinstance(target.name, str):
            raise DataError(f"target: expected a named column, got name {target.name!r}")
        reject_missing(target.to_frame(), "target")
        if task == "regression":
            values = _regression_values(target)
            return cls(column=target.name, task=task, scaler=Standardizer.fit(values[:, None], [target.name]))
        if _is_numeric(target):
            labels = list(_label_strings(pd.Series(np.unique(target.to_numpy()))))
        else:
            labels = sorted(set(target.astype(str)))
        _check_class_count(target.name, task, len(labels))
        return cls(column=target.name, task=task, labels=labels)

    def encode(self, target: pd.Series) -> np.ndarray:
        """Regression: (n, 1) float64 z-scored; classification: int64 codes (n,)."""
        reject_missing(target.to_frame(), "target")
        if self.scaler is not None:
            return self.scaler.transform(_regression_values(target)[:, None])
        return _codes(_label_strings(target), cast(list[str], self.labels), f"target {self.column!r}")

    def decode(self, values: npt.ArrayLike) -> np.ndarray:
        """Regression: (n, 1) or (n,) z-scores -> (n,) float64 in target units;
        classification: int codes (n,) -> labels (n,) object."""
        array = np.asarray(values)
        if self.scaler is not None:
            if array.ndim not in (1, 2) or (array.ndim == 2 and array.shape[1] != 1):
                raise ValueError(f"values: expected shape (n,) or (n, 1), got {array.shape}")
            return self.scaler.inverse_transform(array.reshape(-1, 1))[:, 0]
        n_classes = len(cast(list[str], self.labels))
        if array.ndim != 1 or array.dtype.kind not in "iu" or ((array < 0) | (array >= n_classes)).any():
            raise ValueError(
                f"values: expected integer codes (n,) in [0, {n_classes}), got {array.dtype} {array.shape}"
            )
        return np.take(np.array(self.labels, dtype=object), array)


def split_rows(n_rows: int, test_fraction: float, *, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Shuffle ``range(n_rows)`` and split it: (train indices, test indices), int64, both non-empty.

    The test part has ``round(n_rows * test_fraction)`` rows.
    """
    n_rows = positive_int(n_rows, "n_rows")
    seed = non_negative_int(seed, "seed")
    test_fraction = open_fraction(test_fraction, "test_fraction")
    n_test = round(n_rows * test_fraction)
    if not 0 < n_test < n_rows:
        raise ValueError(
            f"test_fraction: expected a fraction leaving both parts non-empty, got {test_fraction!r} "
            f"of {n_rows} rows ({n_test} test rows)"
        )
    order = np.random.default_rng(seed).permutation(n_rows)
    return order[n_test:], order[:n_test]
