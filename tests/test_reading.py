"""glassnet.reading: reading a user's table as meant: delimiters, number formats with commas, placeholder cells,
names given twice."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tabledata import numbers_table, read_with_notes

from glassnet import DataNote, TabularModel, read_table
from glassnet.cli import main
from glassnet.reading import DataError

# --- 7: a number format per column, decided from the whole column ------------------------------


def test_a_semicolon_file_reads_dots_between_thousands_as_its_decimal_commas_say(tmp_path: Path) -> None:
    """'2.760' (2760) was read as 2.76 beside '950' read as 950, and '2.314,56' became text and was dropped."""
    path = tmp_path / "prices.csv"
    path.write_text("area;price;rooms\n2.760;2.314,56;3\n950;1.000,5;2\n1.200;7;4\n")
    table, notes = read_with_notes(path)
    assert table["area"].tolist() == [2760, 950, 1200]
    assert table["price"].tolist() == [2314.56, 1000.5, 7.0]
    assert notes == []  # the price column settles the file: a decimal comma, dots between thousands


def test_one_column_is_read_one_way(tmp_path: Path) -> None:
    path = tmp_path / "one.csv"
    path.write_text("area;rooms\n2.760;3\n950;2\n2.314,56;4\n")
    assert read_table(path)["area"].tolist() == [2760.0, 950.0, 2314.56]


def test_a_tab_file_with_decimal_commas_reads_them(tmp_path: Path) -> None:
    """'0,846' was read as 846 (a thousands comma), without a word."""
    path = tmp_path / "shares.tsv"
    path.write_text("share\tn\n0,846\t1\n0,5\t2\n12,25\t3\n")
    table, notes = read_with_notes(path)
    assert table["share"].tolist() == [0.846, 0.5, 12.25]
    assert notes == []


def test_a_tab_file_whose_other_column_has_a_decimal_point_reads_commas_as_thousands(tmp_path: Path) -> None:
    path = tmp_path / "sales.tsv"
    path.write_text("sales\tshare\n1,234\t0.5\n950\t0.25\n")
    table, notes = read_with_notes(path)
    assert table["sales"].tolist() == [1234, 950]
    assert notes == []


@pytest.mark.parametrize(
    ("sep", "cell", "value", "said"),
    [
        (";", "2.760", 2760, "'2.760' may be 2760 (a decimal comma, dots between thousands) or 2.76"),
        ("\t", "1,234", 1234, "'1,234' may be 1234 (a decimal point, commas between thousands) or 1.234"),
    ],
    ids=["semicolon", "tab"],
)
def test_a_column_read_two_ways_is_read_as_its_delimiter_says_with_a_note(
    tmp_path: Path, sep: str, cell: str, value: int, said: str
) -> None:
    path = tmp_path / "ambiguous.csv"
    path.write_text(f"area{sep}rooms\n{cell}{sep}3\n950{sep}2\n")
    table, notes = read_with_notes(path)
    assert table["area"].tolist() == [value, 950]
    assert len(notes) == 1 and notes[0].startswith(f"column 'area': {said}")
    assert "no other column of the file tells which" in notes[0] and "one such cell settles the column" in notes[0]


def test_the_cell_a_note_suggests_settles_the_column(tmp_path: Path) -> None:
    path = tmp_path / "settled.csv"
    path.write_text("area;rooms\n2.7600;3\n950;2\n")  # the note's way of writing 2.76 with a decimal point
    table, notes = read_with_notes(path)
    assert table["area"].tolist() == [2.76, 950.0] and notes == []


def test_a_comma_file_keeps_its_decimal_points(tmp_path: Path) -> None:
    path = tmp_path / "points.csv"
    path.write_text('weight,price\n1.250,"1,000"\n2.125,"12,345.5"\n')
    table, notes = read_with_notes(path)
    assert table["weight"].tolist() == [1.25, 2.125] and table["price"].tolist() == [1000.0, 12345.5]
    assert notes == []


# --- 5: a number column with a few placeholder cells -------------------------------------------


@pytest.mark.parametrize("placeholder", ["?", "-", "missing", "none", " ", "NA ", "--", "Missing"])
def test_one_placeholder_leaves_a_number_column_numbers_with_a_missing_value(tmp_path: Path, placeholder: str) -> None:
    """One '?' one-hot encoded a column of numbers, adding a category per value, with no note."""
    path = tmp_path / "education.csv"
    rows = [f"{10 + i % 8},{i}" for i in range(12)]
    rows[3] = f"{placeholder},3"
    path.write_text("education,sales\n" + "\n".join(rows) + "\n")
    table, notes = read_with_notes(path)
    assert table["education"].dtype == np.float64
    assert table["education"].isna().tolist() == [i == 3 for i in range(12)]
    assert notes == [
        f"column 'education' read as numbers with 1 missing value(s): {placeholder!r} (line 5) "
        "stand for missing numbers (placeholders)"
    ]


def test_text_columns_stay_text(tmp_path: Path) -> None:
    path = tmp_path / "text.csv"
    path.write_text("city,code,n\nOslo,?,1\n-,7a,2\n?,?,3\n")
    table, notes = read_with_notes(path)
    assert table["city"].tolist() == ["Oslo", "-", "?"] and table["code"].tolist() == ["?", "7a", "?"]
    assert notes == []


def test_two_placeholders_no_longer_drop_a_number_column_as_an_identifier(tmp_path: Path) -> None:
    """Two '?' in Boston's rm left the column out 'as an identifier or free text'."""
    table = numbers_table(40)
    table["size"] = table["size"].astype(str).where(~table.index.isin([4, 9]), "?")
    path = tmp_path / "homes.csv"
    table.to_csv(path, index=False)
    assert main(["--csv", str(path), "--target", "price", "--epochs", "2", "--missing", "drop"]) == 0
    read, notes = read_with_notes(path)
    assert notes == [
        "column 'size' read as numbers with 2 missing value(s): '?' (line 6), '?' (line 11) stand for missing numbers "
        "(placeholders)"
    ]
    model = TabularModel(hidden=(), epochs=2, missing="drop")
    with pytest.warns(DataNote, match=r"left out 2 of 40 rows with missing values .*: line 6, line 11"):
        model.fit(read, "price")
    assert model.features.numeric == ["size", "rooms"]


# --- read_table -----------------------------------------------------------------------------


def test_read_table_reads_a_csv(tmp_path: Path) -> None:
    path = tmp_path / "houses.csv"
    path.write_text("area,city\n50.5,Oslo\n70,Bergen\n")
    table = read_table(path)
    assert list(table.columns) == ["area", "city"]
    assert table["area"].tolist() == [50.5, 70.0]
    assert table["city"].tolist() == ["Oslo", "Bergen"]
    pd.testing.assert_frame_equal(read_table(str(path)), table)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", r"is empty, expected a header row and data rows"),
        (b"\n\n", r"is empty"),
        (b"a,b\n", r"has a header but no data rows"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe\x00", r"not UTF-8 text \(byte 0 cannot be decoded\)"),
        (
            b"a,b\n1,2\n3,4,5\n",
            r"not well-formed CSV \(read as comma-separated: .*Expected 2 fields in line 3, saw 3\)$",
        ),
        (b'a,b\n"1,2\n', r"not well-formed CSV \(.*EOF inside string"),
        (b"a,b\n1,2,3\n", r"not well-formed CSV \(read as comma-separated: rows have more fields than the header\)"),
    ],
)
def test_read_table_rejects_bad_files(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(DataError, match=r"bad\.csv: " + message) as caught:
        read_table(path)
    assert "\n" not in str(caught.value)


def test_read_table_rejects_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"nowhere\.csv: no such file") as caught:
        read_table(tmp_path / "nowhere.csv")
    assert isinstance(caught.value.__cause__, FileNotFoundError)


def test_read_table_rejects_a_directory(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"is a directory, expected a CSV file"):
        read_table(tmp_path)


@pytest.mark.parametrize("sep", [",", "\t", ";"], ids=["comma", "tab", "semicolon"])
def test_read_table_tells_the_delimiter_from_the_header(tmp_path: Path, sep: str) -> None:
    table = pd.DataFrame({"area": [50.5, 70.0], "city, region": ["Oslo, Norway", "Bergen"], "rooms": [2, 3]})
    path = tmp_path / "houses.txt"
    table.to_csv(path, index=False, sep=sep)
    pd.testing.assert_frame_equal(read_table(path), table)


@pytest.mark.parametrize("sep", ["\t", ";"], ids=["tab", "semicolon"])
def test_the_rows_tell_the_delimiter_when_the_header_splits_alike_at_a_comma(tmp_path: Path, sep: str) -> None:
    """The header alone split as many fields at its comma as at its tab: the file was read as comma-separated,
    and its column 'price (USD, incl. fees)' was not found."""
    path = tmp_path / "houses.txt"
    path.write_text(f"size{sep}price (USD, incl. fees)\n1000{sep}150000\n2000{sep}300000\n")
    table = read_table(path)
    assert list(table.columns) == ["size", "price (USD, incl. fees)"]
    assert table["price (USD, incl. fees)"].tolist() == [150_000, 300_000]


def test_a_comma_file_with_quoted_delimiters_reads_as_pandas_reads_it(tmp_path: Path) -> None:
    path = tmp_path / "quoted.csv"
    path.write_text('"a;b",note,"c\td"\n1,"x; y, z",2\n3,"tab\there",4\n')
    pd.testing.assert_frame_equal(read_table(path), pd.read_csv(path))
    assert list(read_table(path).columns) == ["a;b", "note", "c\td"]


def test_a_single_column_file_reads(tmp_path: Path) -> None:
    path = tmp_path / "one.csv"
    path.write_text("price\n1.5\n2.5\n")
    assert read_table(path)["price"].tolist() == [1.5, 2.5]


def test_read_table_refuses_a_name_given_twice(tmp_path: Path) -> None:
    path = tmp_path / "twice.csv"
    path.write_text("price,size,price,,\n1,2,3,4,5\n")
    with pytest.raises(
        DataError, match=r"twice\.csv: duplicate column name\(s\) \['price'\]; give each column its own name"
    ):
        read_table(path)


@pytest.mark.parametrize(
    ("sep", "values", "numbers"),
    [
        (",", ['"1,000"', '"12,345.5"', "7", '"-2,000"'], [1000.0, 12345.5, 7.0, -2000.0]),
        ("\t", ["1,000", "12,345.5", "7", "-2,000"], [1000.0, 12345.5, 7.0, -2000.0]),
        (";", ["1,5", "12,25", "7", "-2,0"], [1.5, 12.25, 7.0, -2.0]),
    ],
    ids=["comma: thousands", "tab: thousands", "semicolon: decimal comma"],
)
def test_numbers_written_with_commas_are_numbers(
    tmp_path: Path, sep: str, values: list[str], numbers: list[float]
) -> None:
    path = tmp_path / "numbers.csv"
    path.write_text(f"size{sep}city\n" + "".join(f"{value}{sep}Oslo\n" for value in values))
    assert read_table(path)["size"].tolist() == numbers


@pytest.mark.parametrize("values", [['"1,000"', "many"], ['"1,00"', "2"], ['"1,000,0"', "2"]])
def test_text_that_is_not_all_numbers_with_commas_stays_text(tmp_path: Path, values: list[str]) -> None:
    path = tmp_path / "text.csv"
    path.write_text("size,n\n" + "".join(f"{value},1\n" for value in values))
    assert read_table(path)["size"].tolist() == [value.strip('"') for value in values]
