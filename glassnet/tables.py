"""Tables: reading them, and encoding their columns as a network's inputs and targets.

`read_table` reads a delimited text file once (delimiter detected, names checked). A
`TableEncoding` turns feature columns into a z-scored float64 matrix (numbers standardized,
text one-hot encoded) and a `TargetEncoding` the target column into regression targets or
class codes, and back. ``fit_transform`` learns an encoding from the training rows and applies
it in the same pass: the table is encoded once, its missing values and its finiteness are
checked once, and the matrix the network takes is in C order from the start. The rows a
model learns from are checked once, at the way in (`check_frame`, `usable_rows`), as
`CheckedRows`, which the encodings take without looking for missing values or infinity
again. `Standardizer` is the z-scoring both use. This module knows nothing of networks.

Errors about a table, a column or a value in it are `DataError` (a `ValueError`);
a wrong argument type is a `TypeError`, a wrong argument value a `ValueError`. What is
worth knowing but did not stop the work (a column left out, categories never seen in
training) is a `DataNote` warning: this module never prints.
"""

import contextlib
import csv
import difflib
import io
import itertools
import math
import os
import re
import warnings
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal, Self, cast, get_args

import numpy as np
import numpy.typing as npt
import pandas as pd
from pandas.api.types import is_bool_dtype, is_float_dtype, is_integer_dtype, is_numeric_dtype
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
from glassnet.rules import non_negative_int, one_of, open_fraction, positive_int

Task = Literal["regression", "binary", "multiclass"]
TASKS: tuple[Task, ...] = get_args(Task)
Unseen = Literal["error", "zero"]
"""What encoding does with a category never seen in training: raise, or encode it as all zeros."""
UNSEEN: tuple[Unseen, ...] = get_args(Unseen)
Labels = list[StrictBool] | list[StrictInt] | list[StrictFloat] | list[StrictStr]
"""Class labels as the target column held them: booleans, integers, floats or text."""

DELIMITERS = {",": "comma", "\t": "tab", ";": "semicolon"}
"""The field separators `read_table` tells apart, by name, a comma first on a tie."""
SNIFFED_ROWS = 10
"""The records after the header whose field counts `read_table` compares with the header's to tell the delimiter."""
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


class DataError(ValueError):
    """A file, table, column or value that cannot be used; the message names which and why."""


class DataNote(UserWarning):
    """Something about a table that did not stop the work but changes it: a column left out, unseen categories."""


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


def read_table(path: str | os.PathLike[str], *, text: Collection[str] = ()) -> pd.DataFrame:
    """Read a delimited text file with a header row into a DataFrame (n_rows >= 1, n_columns >= 1).

    The delimiter is the one of `DELIMITERS` (comma, tab, semicolon) that splits the header
    into the most fields and each of the next `SNIFFED_ROWS` records into as many, a comma
    on a tie; when none splits them alike, the one that splits the header into the most
    fields, and an error reading the file names it. Quoted fields may hold any of them. The
    header's names must be distinct.

    Numbers are read the way the whole column writes them, one way per column (`NumberFormat`):
    with a decimal point and commas between thousands (``12,345.5``), or, in tab- and
    semicolon-separated files, with a decimal comma and dots between thousands (``12.345,5``).
    A column whose cells fit only one is read so; one that fits both and would read differently
    (``2.760``, ``1,234``) takes the format the file's other columns settle on, or else the usual
    one of its delimiter (semicolon: a decimal comma; tab: a decimal point) with a `DataNote`
    naming the column, a cell and how to write it otherwise. A text column whose every cell is a
    number, missing or one of `PLACEHOLDERS` (``?``, ``-``, ``none``, ``NA ``, a lone space, ...) is
    read as numbers with missing values, with a `DataNote` naming those cells by line.

    The columns named in ``text`` are read as text, each cell as written (``"007"`` stays
    ``"007"``, ``"true"`` stays ``"true"``): rows to predict on give ``text=`` the fitted
    encoding's `TableEncoding.text_columns`, so that a cell means what it meant in the file
    the model learned from, whatever the other rows of its column look like. Names that are
    not columns of the file are ignored.

    Raises `DataError` naming the file and the problem: missing, a directory, unreadable,
    not UTF-8 text, empty, not well-formed, or a column name given twice.
    """
    location, delimiter = Path(path), None
    try:
        with location.open(encoding="utf-8-sig", newline="") as file:
            content = io.StringIO(file.read())  # once: a pipe (--csv /dev/stdin) can be read only once
        delimiter, header = _header(content)
        reject_duplicates(header, str(location))
        content.seek(0)
        as_written = {name: str for name in text if name in header}
        table = pd.read_csv(content, sep=delimiter, dtype=as_written)
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
    except DataError:
        raise
    except (ValueError, csv.Error) as error:
        reason = str(error).strip().partition("\n")[0]
        read_as = "" if delimiter is None else f"read as {DELIMITERS[delimiter]}-separated: "
        raise DataError(f"{location}: not well-formed CSV ({read_as}{reason})") from error
    if not isinstance(table.index, pd.RangeIndex):
        raise DataError(
            f"{location}: not well-formed CSV (read as {DELIMITERS[delimiter]}-separated: "
            "rows have more fields than the header)"
        )
    if table.empty:
        raise DataError(f"{location}: has a header but no data rows")
    first_line = _first_line(content.getvalue(), len(table))
    if first_line is not None:
        table.attrs[_FIRST_LINE] = first_line  # before the notes reading numbers gives, which name lines
    return _read_numbers(table, content, delimiter, skip=as_written)


def _header(text: io.StringIO) -> tuple[str, list[str]]:
    """The delimiter of ``text`` (see `read_table`) and the fields of its header, its first non-empty record.

    A header alone cannot tell: ``size<TAB>price (USD, incl. fees)`` splits in two at its comma as at its tab.
    """
    records = {delimiter: _first_records(text, delimiter) for delimiter in DELIMITERS}
    alike = [
        delimiter
        for delimiter, (header, *rows) in records.items()
        if len(header) > 1 and all(len(row) == len(header) for row in rows)
    ]
    best = max(alike or DELIMITERS, key=lambda delimiter: len(records[delimiter][0]))  # the first on a tie
    return best, records[best][0]


def _first_records(text: io.StringIO, delimiter: str) -> list[list[str]]:
    """The first non-empty record of ``text`` split at ``delimiter`` (``[]`` if none), and up to `SNIFFED_ROWS`
    records after it, as far as they read."""
    text.seek(0)
    found: list[list[str]] = []
    with contextlib.suppress(csv.Error):  # a record beyond reading: pandas' own reading says why
        found.extend(itertools.islice((row for row in csv.reader(text, delimiter=delimiter) if row), SNIFFED_ROWS + 1))
    return found or [[]]


PLACEHOLDERS = frozenset({"", "?", "-", "--", ".", "na", "n/a", "nan", "null", "none", "missing"})
"""Cell texts that stand for a missing number, compared stripped of spaces and in lower case (``" NA "`` is
``"na"``, a lone space is ``""``). A text column whose every cell is a number, missing or one of these, with
at least one number, is a number column with missing values (`_number_column`): read as text, one ``?`` would
one-hot encode a column of numbers (a category per value, none for a value never seen), and a few would leave
it out as an identifier."""
NumberFormat = Literal["point", "comma"]
"""How a column writes its numbers: ``point``: ``1,234.5`` (a decimal point, commas between thousands);
``comma``: ``1.234,5`` (a decimal comma, dots between thousands)."""
_FORMAT_WORDS = {
    "point": "a decimal point, commas between thousands",
    "comma": "a decimal comma, dots between thousands",
}
_FORMATS_BY_DELIMITER: dict[str, tuple[NumberFormat, ...]] = {
    ",": ("point",),
    "\t": ("point", "comma"),
    ";": ("comma", "point"),
}
"""The number formats a file may use, by delimiter, its usual one first: the one an ambiguous column takes
when the file's other columns do not settle it. A comma-separated file writes a decimal point (its decimal
commas would need quotes in every cell)."""
_COMMA_THOUSANDS = re.compile(r"[+-]?[1-9]\d{0,2}(?:,\d{3})+(?:\.\d+)?")
_DOT_THOUSANDS = re.compile(r"[+-]?[1-9]\d{0,2}(?:\.\d{3})+(?:,\d+)?")
_DECIMAL_COMMA = re.compile(r"[+-]?\d+(?:,\d+)?")
_SHOWN_CELLS = 5
"""How many cells (or rows) a message names before it counts the rest."""
_FIRST_LINE = "glassnet.first_line"
"""`read_table` stores here (in ``DataFrame.attrs``) the file line of its first data row, when every row is one
line with no blank line between: messages then name a row of it by its line."""


def _as_numbers(cells: pd.Series, number_format: NumberFormat) -> pd.Series:
    """Text ``cells`` (n,), each a number written in ``number_format``, as numbers (int64 if all are integers)."""
    if number_format == "point":
        return pd.to_numeric(cells.str.replace(",", "", regex=False))
    return pd.to_numeric(cells.str.replace(".", "", regex=False).str.replace(",", ".", regex=False))


def _formats_fitting(cells: pd.Series, allowed: Sequence[NumberFormat]) -> list[NumberFormat]:
    """The formats of ``allowed`` in which every one of ``cells`` (n >= 1, stripped text) is a number."""
    found: list[NumberFormat] = []
    for number_format in allowed:
        if number_format == "point":
            plain = pd.to_numeric(cells, errors="coerce").notna()
            fits = bool((plain | cells.str.fullmatch(_COMMA_THOUSANDS)).all())
        else:
            fits = bool((cells.str.fullmatch(_DOT_THOUSANDS) | cells.str.fullmatch(_DECIMAL_COMMA)).all())
        if fits:
            found.append(number_format)
    return found


@dataclass(frozen=True)
class _NumberColumn:
    """What a text (or float) column's cells say of it as numbers: the formats its numbers fit, and its placeholders."""

    cells: pd.Series
    """The column's cells as text, stripped; NaN where missing."""
    placeholders: pd.Series
    """(n,) bool: the cells that are `PLACEHOLDERS`."""
    formats: list[NumberFormat]

    def read(self, number_format: NumberFormat) -> pd.Series:
        """The column as numbers in ``number_format``: NaN where missing or a placeholder."""
        numbers = self.cells.notna() & ~self.placeholders
        read = pd.Series(np.nan, index=self.cells.index, dtype=object)
        read[numbers] = _as_numbers(self.cells[numbers], number_format)
        return pd.to_numeric(read) if numbers.all() else read.astype(np.float64)

    def differing(self) -> tuple[str, float, float] | None:
        """When both formats fit and read some cell differently: the first such cell and its two readings."""
        if len(self.formats) < 2:
            return None
        numbers = self.cells[self.cells.notna() & ~self.placeholders]
        point, comma = (_as_numbers(numbers, number_format) for number_format in ("point", "comma"))
        differ = point != comma
        if not differ.any():
            return None
        at = int(np.argmax(differ.to_numpy()))
        return str(numbers.iloc[at]), float(point.iloc[at]), float(comma.iloc[at])


def _number_column(cells: pd.Series, allowed: Sequence[NumberFormat]) -> _NumberColumn | None:
    """``cells`` (n,) read as numbers if every one is a number in one of ``allowed``, missing or a placeholder,
    with at least one number; else ``None``."""
    values = cells.astype(object)
    text = values.map(lambda cell: isinstance(cell, str)).astype(bool)
    if not (text | cells.isna()).all():
        return None  # booleans, or numbers beside text: left as they are
    stripped = values.where(text, None).str.strip()
    placeholders = (stripped.str.lower().isin(PLACEHOLDERS) & text).astype(bool)
    numbers = stripped[text & ~placeholders]
    if numbers.empty:
        return None
    formats = _formats_fitting(numbers.astype(str), allowed)
    return _NumberColumn(stripped, placeholders, formats) if formats else None


def _maybe_dotted_thousands(column: pd.Series) -> bool:
    """Whether a float column read with a decimal point could hold dots between thousands (``2.760`` for 2760):
    every value an integer, or at least 1 and under 1,000 with three decimals."""
    values = column.dropna().to_numpy(dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        thousandths = values * 1000.0
        three_decimals = (
            (np.abs(values) >= 1) & (np.abs(values) < 1000) & (np.abs(thousandths - np.round(thousandths)) < 1e-6)
        )
    return not len(values) or bool((np.isfinite(values) & ((values == np.round(values)) | three_decimals)).all())


def _row_names(table: pd.DataFrame, labels: Sequence[object]) -> list[str]:
    """Rows of ``table`` named for a message: ``line 5`` when `read_table` read them from a file whose lines it
    can tell (and the rows keep its labels), else by index label, ``row 3``."""
    first_line = table.attrs.get(_FIRST_LINE)
    if isinstance(first_line, int) and isinstance(table.index, pd.RangeIndex) and table.index.start == 0:
        return [f"line {cast(int, label) + first_line}" for label in labels]
    return [f"row {label!r}" for label in labels]


def _and_more(names: Sequence[str], total: int) -> str:
    """``names``, the first of ``total`` things, joined for a message with a count of the rest."""
    more = total - len(names)
    return ", ".join(names) + (f" and {more:,} more" if more > 0 else "")


def _rows(table: pd.DataFrame, labels: Sequence[object]) -> str:
    """The first `_SHOWN_CELLS` of ``labels`` as `_row_names`, and a count of the rest."""
    return _and_more(_row_names(table, labels[:_SHOWN_CELLS]), len(labels))


def _placeholder_note(table: pd.DataFrame, name: str, column: _NumberColumn) -> str:
    """The note saying that column ``name`` of ``table`` was read as numbers, naming its placeholder cells."""
    at = np.flatnonzero(column.placeholders.to_numpy())
    cells = table[name].iloc[at[:_SHOWN_CELLS]].astype(str).tolist()
    rows = _row_names(table, table.index[at[:_SHOWN_CELLS]].tolist())
    named = [f"{cell!r} ({row})" for cell, row in zip(cells, rows, strict=True)]
    return (
        f"column {name!r} read as numbers with {len(at):,} missing value(s): {_and_more(named, len(at))} "
        "stand for missing numbers (placeholders)"
    )


def numbers_with_placeholders(table: pd.DataFrame, columns: Collection[str]) -> pd.DataFrame:
    """``table`` with each text column among ``columns`` that holds numbers but for `PLACEHOLDERS` read as numbers,
    the placeholders as missing values, each with a `DataNote` naming the cells; the same ``table`` when none does.

    Numbers here are written as Python writes them (a decimal point, commas between thousands allowed).
    """
    converted: dict[str, pd.Series] = {}
    for name in columns:
        series = table[name]
        if _is_numeric(series) or is_bool_dtype(series.dtype) or isinstance(series.dtype, pd.CategoricalDtype):
            continue
        column = _number_column(series, ("point",))
        if column is not None and column.placeholders.any():
            warnings.warn(_placeholder_note(table, name, column), DataNote, stacklevel=3)
            converted[name] = column.read("point")
    return table.assign(**converted) if converted else table


def _read_numbers(table: pd.DataFrame, content: io.StringIO, delimiter: str, *, skip: Collection[str]) -> pd.DataFrame:
    """``table`` with its columns read as numbers the way the whole file writes them (see `read_table`)."""
    allowed = _FORMATS_BY_DELIMITER[delimiter]
    columns: dict[str, _NumberColumn] = {}
    floats = [name for name in table.columns if name not in skip and is_float_dtype(table[name].dtype)]
    dotted = [name for name in floats if len(allowed) > 1 and _maybe_dotted_thousands(table[name])]
    if dotted:
        content.seek(0)
        positions = [at for at, name in enumerate(table.columns) if name in dotted]
        raw = pd.read_csv(content, sep=delimiter, dtype=str, usecols=positions)
        for name in dotted:
            found = _number_column(raw[name].set_axis(table.index), allowed)
            if found is not None:
                columns[name] = found
    for name in table.columns:
        if name in skip or _is_numeric(table[name]) or is_bool_dtype(table[name].dtype):
            continue
        found = _number_column(table[name], allowed)
        if found is not None:
            columns[name] = found
    evidence = {column.formats[0] for column in columns.values() if len(column.formats) == 1}
    evidence |= {"point" for name in floats if name not in dotted and len(allowed) > 1}  # 0.5, 1e-3, 2.25: a point
    settled: NumberFormat | None = evidence.pop() if len(evidence) == 1 else None
    converted: dict[str, pd.Series] = {}
    for name, column in columns.items():
        differing = column.differing()
        number_format = column.formats[0] if differing is None else (settled or allowed[0])
        if differing is not None and settled is None:
            warnings.warn(_ambiguity_note(name, differing, number_format, delimiter), DataNote, stacklevel=3)
        if column.placeholders.any():
            warnings.warn(_placeholder_note(table, name, column), DataNote, stacklevel=3)
        if name not in floats or (differing is not None and number_format == "comma"):  # else as pandas read it
            converted[name] = column.read(number_format)
    return table.assign(**converted) if converted else table


def _ambiguity_note(name: str, differing: tuple[str, float, float], chosen: NumberFormat, delimiter: str) -> str:
    """The note saying how column ``name`` was read when both number formats fit it, and how to say otherwise."""
    cell, point, comma = differing
    read, other = (point, comma) if chosen == "point" else (comma, point)
    unchosen: NumberFormat = "comma" if chosen == "point" else "point"
    other_decimal = "," if unchosen == "comma" else "."
    # four decimals cannot be a group of thousands; a number without separators is read one way
    fix = cell + "0" if other_decimal in cell else cell.replace("." if other_decimal == "," else ",", "")
    return (
        f"column {name!r}: {cell!r} may be {read:.15g} ({_FORMAT_WORDS[chosen]}) or {other:.15g} "
        f"({_FORMAT_WORDS[unchosen]}), and no other column of the file tells which; read as {read:.15g}, "
        f"the usual in a {DELIMITERS[delimiter]}-separated file. If {other:.15g} was meant, write it {fix!r}: "
        "one such cell settles the column"
    )


def _first_line(text: str, rows: int) -> int | None:
    """The line of ``text`` holding its first data row, when each of its ``rows`` rows is one line after the
    header with no blank line between; else ``None``."""
    body = text.lstrip()
    lead = text[: len(text) - len(body)].count("\n")
    body = body.rstrip()
    if body.count("\n") != rows or re.search(r"\n\s*\n", body) or "\r" in body.replace("\r\n", "\n"):
        return None
    return lead + 2


def reject_duplicates(names: Sequence[object], what: str) -> None:
    """Raise `DataError` naming every column name that ``names`` holds more than once (empty names aside)."""
    repeated = [name for name, count in Counter(names).items() if count > 1 and name != ""]
    if repeated:
        raise DataError(f"{what}: duplicate column name(s) {repeated}; give each column its own name")


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
                f"{name!r} ({count:,} of {len(table):,} rows: {_rows(table, table.index[gaps[name]].tolist())})"
                for name, count in missing.items()
            )
            raise DataError(f"{_prefix(what)}missing values in column(s) {found}; {FILL_OR_DROP}")


def reject_infinite(table: pd.DataFrame, parts: Parts) -> None:
    """Raise `DataError` naming each number column of the first of ``parts`` holding infinity, with its rows and a
    cell; one pass over the numbers of every part."""
    numeric = [name for columns in parts.values() for name in columns if _is_numeric(table[name])]
    numbers = table[numeric].to_numpy(dtype=np.float64)
    infinite = np.isinf(numbers)
    if not infinite.any():
        return
    at = {name: j for j, name in enumerate(numeric)}
    for what, columns in parts.items():
        found = "; ".join(
            f"column {name!r} at {_rows(table, table.index[rows].tolist())} ({float(numbers[rows, at[name]][0])!r})"
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


def _series_of(target: pd.Series | CheckedRows, name: str) -> tuple[pd.Series, bool]:
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
        f"by column: {counts}): {_rows(table, table.index[dropped].tolist())}",
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


def _is_numeric(column: pd.Series) -> bool:
    return is_numeric_dtype(column.dtype) and not is_bool_dtype(column.dtype)


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
    not_numbers = [column for column in numeric if not _is_numeric(features[column])]
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
        elif not _is_numeric(column) and (distinct := column.nunique()) > max(ID_MIN_DISTINCT, ID_SHARE * rows):
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
        numbers = _is_numeric(column)
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
        numeric = [name for name in names if _is_numeric(features[name])]
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
    if not _is_numeric(target):
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
    if not _is_numeric(target):
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
        column, checked = _series_of(target, "target")
        if not isinstance(column.name, str):
            raise DataError(f"target: expected a named column, got name {column.name!r}")
        given = {"target": target, "validation": validation}
        if task != "regression":
            given["classes_from"] = classes_from
        parts = [(*_series_of(part, name), name) for name, part in given.items() if part is not None]
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
        column, checked = _series_of(target, name)
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
