"""Reading a table from a file: its delimiter, its names, and each column's numbers as the file writes them.

`read_table` reads a delimited text file once (delimiter detected, names checked): numbers with commas between
thousands, or with a decimal comma, are read the way the whole column writes them, and cells that stand for a
missing number (`PLACEHOLDERS`: ``?``, ``-``, ``NA`` ...) as missing. `numbers_with_placeholders` reads a
DataFrame's placeholder cells alike, and messages name a row of a file by its line (`shown_rows`). This module
knows nothing of networks.

Errors about a file, a table, a column or a value in it are `DataError` (a `ValueError`). What is worth knowing
but did not stop the work (a column read as numbers, a column left out, categories never seen in training) is a
`DataNote` warning: a table's modules never print. Both are declared here, in a table's first room, and raised by
the rooms above it too (`glassnet.tables`, `glassnet.encoding`).
"""

import contextlib
import csv
import io
import itertools
import os
import re
import warnings
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, cast

import numpy as np
import pandas as pd
from pandas.api.types import is_bool_dtype, is_float_dtype, is_numeric_dtype

DELIMITERS = {",": "comma", "\t": "tab", ";": "semicolon"}
"""The field separators `read_table` tells apart, by name, a comma first on a tie."""
SNIFFED_ROWS = 10
"""The records after the header whose field counts `read_table` compares with the header's to tell the delimiter."""


class DataError(ValueError):
    """A file, table, column or value that cannot be used; the message names which and why."""


class DataNote(UserWarning):
    """Something about a table that did not stop the work but changes it: a column left out, unseen categories."""


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


def shown_rows(table: pd.DataFrame, labels: Sequence[object]) -> str:
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
        if is_number_column(series) or is_bool_dtype(series.dtype) or isinstance(series.dtype, pd.CategoricalDtype):
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
        if name in skip or is_number_column(table[name]) or is_bool_dtype(table[name].dtype):
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


def is_number_column(column: pd.Series) -> bool:
    """Whether ``column`` (n,) holds numbers: a numeric dtype other than bool."""
    return is_numeric_dtype(column.dtype) and not is_bool_dtype(column.dtype)
