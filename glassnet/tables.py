"""A table's rows: checked once, where they come in, and split.

The rows a model learns from are checked once, at the way in: `check_frame` (a DataFrame with rows and distinct
column names), then `usable_rows` (placeholders read as missing numbers, infinity refused, missing values refused
or dropped as `Missing` says), giving `CheckedRows`, which the encodings and `glassnet.tabular.TabularModel` take
without looking for missing values or infinity again. `split_rows` shuffles rows and splits them; `absent_columns`
words the error for column names a table does not have. This module knows nothing of networks.

Errors about the rows are `glassnet.reading.DataError`, each naming the part of the table at fault; a wrong
argument type is a `TypeError`, a wrong argument value a `ValueError`.
"""

import difflib
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal, Self, cast, get_args

import numpy as np
import pandas as pd

from glassnet.reading import (
    DataError,
    DataNote,
    is_number_column,
    numbers_with_placeholders,
    reject_duplicates,
    shown_rows,
)
from glassnet.rules import non_negative_int, one_of, open_fraction, positive_int

Missing = Literal["error", "drop"]
"""What learning does with a row that has a missing value (an empty cell, ``NA``, a placeholder of
`PLACEHOLDERS` in a number column) in a column it uses, the target's too: refuse the table, naming the
rows (``"error"``), or leave those rows out, with a `DataNote` counting them (``"drop"``). glassnet does not
guess values; predicting never drops a row (a prediction per row given)."""
MISSING: tuple[Missing, ...] = get_args(Missing)
FILL_OR_DROP = (
    "fill them in, or leave those rows out (from the rows a model learns from, --missing drop or "
    "TabularModel(missing='drop') leaves them out)"
)
"""What to do about missing values: predicting and scoring never drop a row, learning can."""


Parts = Mapping[str, Sequence[str]]
"""The parts of a table a check tells apart in its message: the columns of each, by the name the message
takes (``features``, ``target``; ``""`` for none), the first part at fault told."""


def reject_missing(table: pd.DataFrame, parts: str | Parts) -> None:
    """Raise `DataError` naming each column of the first of ``parts`` with missing values, how many and which rows,
    and what to do; one pass over the cells of every part.

    ``parts`` names the part at the start of the message (none if empty); a name alone is every column of ``table``.
    """
    parts = {parts: list(table.columns)} if isinstance(parts, str) else parts
    gaps = table[[name for columns in parts.values() for name in columns]].isna()
    counts = gaps.sum()
    for what, columns in parts.items():
        missing = counts[list(columns)][counts[list(columns)] > 0]
        if len(missing):
            found = ", ".join(
                f"{name!r} ({count:,} of {len(table):,} rows: {shown_rows(table, table.index[gaps[name]].tolist())})"
                for name, count in missing.items()
            )
            raise DataError(f"{_prefix(what)}missing values in column(s) {found}; {FILL_OR_DROP}")


def reject_infinite(table: pd.DataFrame, parts: Parts) -> None:
    """Raise `DataError` naming each number column of the first of ``parts`` holding infinity, with its rows and a
    cell; one pass over the numbers of every part."""
    numeric = [name for columns in parts.values() for name in columns if is_number_column(table[name])]
    numbers = table[numeric].to_numpy(dtype=np.float64)
    infinite = np.isinf(numbers)
    if not infinite.any():
        return
    at = {name: j for j, name in enumerate(numeric)}
    for what, columns in parts.items():
        found = "; ".join(
            f"column {name!r} at {shown_rows(table, table.index[rows].tolist())} "
            f"({float(numbers[rows, at[name]][0])!r})"
            for name in columns
            if name in at
            for rows in [infinite[:, at[name]]]
            if rows.any()
        )
        if found:
            raise DataError(
                f"{_prefix(what)}expected finite numbers, got infinity in {found}; replace it or leave those rows out"
            )


def _prefix(what: str) -> str:
    return f"{what}: " if what else ""


def check_frame(frame: object, name: str) -> pd.DataFrame:
    """``frame`` if it is a DataFrame with rows and distinct column names; else the error naming ``name``."""
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{name}: expected a pandas DataFrame, got {type(frame).__name__}")
    if len(frame) == 0:
        raise DataError(f"{name}: expected at least one row, got a DataFrame with no rows")
    reject_duplicates(list(frame.columns), name)
    return frame


@dataclass(frozen=True, eq=False)
class CheckedRows:
    """Rows of a table checked once, at the way in: ``frame`` (n, any columns), a DataFrame with rows and distinct
    column names (`check_frame`) whose ``columns`` hold no missing value and no infinity, text of numbers but for
    placeholders read as numbers (`usable_rows`).

    The encodings, `glassnet.tabular.TabularModel` and the command line take them without checking those columns
    again; any other column is checked as a DataFrame's would be. Made by `usable_rows`, never by hand.
    """

    frame: pd.DataFrame
    columns: tuple[str, ...]

    def take(self, positions: np.ndarray | slice) -> Self:
        """The rows at ``positions`` (int64 (m,) or a slice), checked as these are."""
        return replace(self, frame=self.frame.iloc[positions])

    def select(self, columns: Sequence[str]) -> Self:
        """The columns ``columns`` of these rows (n, len(columns)), checked as they were."""
        return replace(self, frame=self.frame[list(columns)], columns=tuple(c for c in self.columns if c in columns))


def checked_frame(
    rows: pd.DataFrame | CheckedRows, columns: Iterable[object] | None = None
) -> tuple[pd.DataFrame, bool]:
    """The DataFrame of ``rows``, and whether its ``columns`` (default: all) are among `CheckedRows`' checked ones."""
    if isinstance(rows, CheckedRows):
        return rows.frame, set(rows.frame.columns if columns is None else columns) <= set(rows.columns)
    return rows, False


def checked_series(target: pd.Series | CheckedRows, name: str) -> tuple[pd.Series, bool]:
    """The column of ``target`` (a Series, or `CheckedRows` of one column), and whether it is checked."""
    if not isinstance(target, CheckedRows):
        return target, False
    frame, checked = checked_frame(target)
    if frame.shape[1] != 1:
        raise TypeError(f"{name}: expected one column, got rows of {list(frame.columns)}")
    return frame.iloc[:, 0], checked


def usable_rows(
    table: pd.DataFrame, columns: Sequence[str], missing: Missing, what: str, *, parts: Parts | None = None
) -> CheckedRows:
    """The rows of ``table`` (n, any columns; `check_frame`'s) that a model learns from ``columns`` of, as ``missing``
    rules, checked once.

    Text columns among ``columns`` holding numbers but for placeholders are read as numbers
    (`numbers_with_placeholders`); infinity is refused, naming the rows; rows with a missing value
    in ``columns`` are refused, naming them and saying how to go on (``"error"``), or left out with a
    `DataNote` counting them (``"drop"``). The rows are ``table`` itself when nothing changes, else a new
    frame with every column of ``table`` and the kept rows' labels. Messages begin with ``what``, but those
    refusing a missing value or infinity when missing values are refused: with the name of the part of
    ``columns`` at fault (``parts``, default: all of them, named ``what``).
    """
    missing = cast(Missing, one_of(missing, "missing", MISSING))
    whole = {what: columns}
    table = numbers_with_placeholders(table, columns)
    reject_infinite(table, whole if parts is None or missing == "drop" else parts)
    if missing == "error":
        reject_missing(table, whole if parts is None else parts)
        return CheckedRows(table, tuple(columns))
    gaps = table[list(columns)].isna()
    dropped = gaps.any(axis=1).to_numpy()
    if not dropped.any():
        return CheckedRows(table, tuple(columns))
    counts = ", ".join(f"{name!r} {count:,}" for name, count in gaps.sum().items() if count)
    if dropped.all():
        raise DataError(f"{_prefix(what)}every one of the {len(table):,} rows has a missing value ({counts})")
    warnings.warn(
        f"{_prefix(what)}left out {int(dropped.sum()):,} of {len(table):,} rows with missing values (missing='drop'; "
        f"by column: {counts}): {shown_rows(table, table.index[dropped].tolist())}",
        DataNote,
        stacklevel=2,
    )
    return CheckedRows(table[~dropped], tuple(columns))


def absent_columns(what: str, names: Sequence[str], columns: Sequence[object]) -> DataError:
    """The error for ``names`` that are not among a table's ``columns``: each with the closest column name (in case
    and spaces aside, by `difflib`), the columns quoted, and those whose name begins or ends with spaces said so."""
    by_key: dict[str, str] = {}
    for column in map(str, columns):
        by_key.setdefault(_name_key(column), column)
    named = []
    for name in names:
        close = difflib.get_close_matches(_name_key(name), list(by_key), n=1)
        named.append(f"{name!r}" + (f" (did you mean {by_key[close[0]]!r}?)" if close else ""))
    spaced = [str(column) for column in columns if str(column) != str(column).strip()]
    spaces = (
        f"; {len(spaced)} of them begin or end with spaces: remove the spaces after the commas of the file's header, "
        "or give the names with their spaces"
        if spaced
        else ""
    )
    listed = ", ".join(map(repr, map(str, columns)))
    kind = "column" if len(names) == 1 else "columns"
    return DataError(f"{what}: no {kind} {', '.join(named)}; the columns are {listed}{spaces}")


def _name_key(name: str) -> str:
    """A column name as `absent_columns` compares it: spaces around it aside, in any case."""
    return name.strip().casefold()


def split_rows(
    n_rows: int, test_fraction: float, *, seed: int, name: str = "test_fraction"
) -> tuple[np.ndarray, np.ndarray]:
    """Shuffle ``range(n_rows)`` and split it: (train indices, test indices), int64, both non-empty.

    The test part has ``round(n_rows * test_fraction)`` rows; messages call the fraction ``name``.
    """
    n_rows = positive_int(n_rows, "n_rows")
    seed = non_negative_int(seed, "seed")
    test_fraction = open_fraction(test_fraction, name)
    n_test = round(n_rows * test_fraction)
    if not 0 < n_test < n_rows:
        raise ValueError(
            f"{name}: expected a fraction leaving both parts non-empty, got {test_fraction!r} "
            f"of {n_rows} rows ({n_test} held out)"
        )
    order = np.random.default_rng(seed).permutation(n_rows)
    return order[n_test:], order[:n_test]
