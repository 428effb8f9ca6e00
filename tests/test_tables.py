"""Reading a user's table as meant: number formats, placeholder cells, missing values, column names, bundle order."""

import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from glassnet import TabularModel, tables
from glassnet.cli import main
from glassnet.tables import DataError, DataNote, TableEncoding, TargetEncoding, read_table
from glassnet.tabular import Bundle

FIXTURES = Path(__file__).parent / "fixtures"


def _read(path: Path) -> tuple[pd.DataFrame, list[str]]:
    """The table `read_table` reads from ``path``, and the notes it gave."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DataNote)
        table = read_table(path)
    return table, [str(warning.message) for warning in caught if warning.category is DataNote]


def _numbers(n: int, seed: int = 0) -> pd.DataFrame:
    """A small regression table: ``size`` (int), ``rooms`` (int), ``price`` (float), the price linear in both."""
    rng = np.random.default_rng(seed)
    size, rooms = rng.integers(40, 200, n), rng.integers(1, 6, n)
    return pd.DataFrame({"size": size, "rooms": rooms, "price": 3.0 * size + 10.0 * rooms + rng.normal(0, 1, n)})


# --- 7: a number format per column, decided from the whole column ------------------------------


def test_a_semicolon_file_reads_dots_between_thousands_as_its_decimal_commas_say(tmp_path: Path) -> None:
    """'2.760' (2760) was read as 2.76 beside '950' read as 950, and '2.314,56' became text and was dropped."""
    path = tmp_path / "prices.csv"
    path.write_text("area;price;rooms\n2.760;2.314,56;3\n950;1.000,5;2\n1.200;7;4\n")
    table, notes = _read(path)
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
    table, notes = _read(path)
    assert table["share"].tolist() == [0.846, 0.5, 12.25]
    assert notes == []


def test_a_tab_file_whose_other_column_has_a_decimal_point_reads_commas_as_thousands(tmp_path: Path) -> None:
    path = tmp_path / "sales.tsv"
    path.write_text("sales\tshare\n1,234\t0.5\n950\t0.25\n")
    table, notes = _read(path)
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
    table, notes = _read(path)
    assert table["area"].tolist() == [value, 950]
    assert len(notes) == 1 and notes[0].startswith(f"column 'area': {said}")
    assert "no other column of the file tells which" in notes[0] and "one such cell settles the column" in notes[0]


def test_the_cell_a_note_suggests_settles_the_column(tmp_path: Path) -> None:
    path = tmp_path / "settled.csv"
    path.write_text("area;rooms\n2.7600;3\n950;2\n")  # the note's way of writing 2.76 with a decimal point
    table, notes = _read(path)
    assert table["area"].tolist() == [2.76, 950.0] and notes == []


def test_a_comma_file_keeps_its_decimal_points(tmp_path: Path) -> None:
    path = tmp_path / "points.csv"
    path.write_text('weight,price\n1.250,"1,000"\n2.125,"12,345.5"\n')
    table, notes = _read(path)
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
    table, notes = _read(path)
    assert table["education"].dtype == np.float64
    assert table["education"].isna().tolist() == [i == 3 for i in range(12)]
    assert notes == [
        f"column 'education' read as numbers with 1 missing value(s): {placeholder!r} (line 5) "
        "stand for missing numbers (placeholders)"
    ]


def test_text_columns_stay_text(tmp_path: Path) -> None:
    path = tmp_path / "text.csv"
    path.write_text("city,code,n\nOslo,?,1\n-,7a,2\n?,?,3\n")
    table, notes = _read(path)
    assert table["city"].tolist() == ["Oslo", "-", "?"] and table["code"].tolist() == ["?", "7a", "?"]
    assert notes == []


def test_two_placeholders_no_longer_drop_a_number_column_as_an_identifier(tmp_path: Path) -> None:
    """Two '?' in Boston's rm left the column out 'as an identifier or free text'."""
    table = _numbers(40)
    table["size"] = table["size"].astype(str).where(~table.index.isin([4, 9]), "?")
    path = tmp_path / "homes.csv"
    table.to_csv(path, index=False)
    assert main(["--csv", str(path), "--target", "price", "--epochs", "2", "--missing", "drop"]) == 0
    read, notes = _read(path)
    assert notes == [
        "column 'size' read as numbers with 2 missing value(s): '?' (line 6), '?' (line 11) stand for missing numbers "
        "(placeholders)"
    ]
    model = TabularModel(hidden=(), epochs=2, missing="drop")
    with pytest.warns(DataNote, match=r"left out 2 of 40 rows with missing values .*: line 6, line 11"):
        model.fit(read, "price")
    assert model.features.numeric == ["size", "rooms"]


def test_a_frame_s_placeholder_cells_are_missing_numbers_in_fit_too() -> None:
    frame = _numbers(30)
    frame["size"] = frame["size"].astype(str).where(frame.index != 7, "?")
    note = r"column 'size' read as numbers with 1 missing value\(s\): '\?' \(row 7\)"
    error = r"features: missing values in column\(s\) 'size' \(1 of 30 rows: row 7\)"
    with pytest.warns(DataNote, match=note), pytest.raises(DataError, match=error):
        TabularModel(epochs=2).fit(frame, "price")


# --- 6: missing values: the rows named, and a way forward ---------------------------------------


def _with_gaps() -> pd.DataFrame:
    frame = _numbers(30)
    frame.loc[[3, 8], "size"] = np.nan
    frame.loc[8, "price"] = np.nan
    frame.loc[20, "price"] = np.nan
    return frame


def test_missing_values_name_the_rows_and_the_way_forward() -> None:
    with pytest.raises(DataError) as caught:
        TabularModel(epochs=2).fit(_with_gaps(), "price")
    message = str(caught.value)
    assert "'size' (2 of 30 rows: row 3, row 8)" in message
    assert "--missing drop or TabularModel(missing='drop')" in message


def test_missing_drop_leaves_the_rows_out_with_a_note_counting_them() -> None:
    frame = _with_gaps()
    model = TabularModel(hidden=(), epochs=3, missing="drop")
    with pytest.warns(DataNote, match=r"^frame: left out 3 of 30 rows with missing values .*'size' 2, 'price' 2\)"):
        model.fit(frame, "price")
    complete = frame.dropna()
    twin = TabularModel(hidden=(), epochs=3)
    twin.fit(complete, "price")
    np.testing.assert_array_equal(model.network.params[0].weights, twin.network.params[0].weights)
    assert model.training_rows is not None and list(model.training_rows.index) == list(complete.index)


def test_missing_is_checked() -> None:
    with pytest.raises(ValueError, match=r"missing: expected one of \['drop', 'error'\], got 'fill'"):
        TabularModel(missing="fill")  # type: ignore[arg-type]


def test_a_table_of_only_incomplete_rows_is_refused_when_dropping() -> None:
    frame = pd.DataFrame({"x": [np.nan, 1.0], "y": [1.0, np.nan]})
    with pytest.raises(DataError, match=r"^frame: every one of the 2 rows has a missing value"):
        tables.usable_rows(frame, ["x", "y"], "drop", "frame")


def test_the_command_line_names_the_lines_and_drops_them_when_asked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "gaps.csv"
    _with_gaps().to_csv(path, index=False)
    argv = ["--csv", str(path), "--target", "price", "--epochs", "2", "--hidden", ""]
    assert main(argv) == 1
    error = capsys.readouterr().err
    assert error.startswith(f"error: {path}: missing values in column(s) 'size' (2 of 30 rows: line 5, line 10)")
    assert "'price' (2 of 30 rows: line 10, line 22)" in error and "--missing drop" in error
    assert main([*argv, "--missing", "drop", "--report", str(tmp_path / "report.json")]) == 0
    assert f"note: {path}: left out 3 of 30 rows with missing values" in capsys.readouterr().err


def test_a_resumed_run_keeps_its_missing_setting(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path, checkpoint = tmp_path / "gaps.csv", tmp_path / "run.json"
    _with_gaps().to_csv(path, index=False)
    argv = ["--csv", str(path), "--target", "price", "--epochs", "4", "--hidden", "", "--missing", "drop"]
    assert main([*argv, "--checkpoint", str(checkpoint), "--checkpoint-every", "2"]) == 0
    document = json.loads(checkpoint.read_text())
    assert document["settings"]["missing"] == "drop"
    capsys.readouterr()
    assert main(["--resume", str(checkpoint), "--missing", "error"]) == 1
    assert "--missing error (the checkpoint's run: drop)" in capsys.readouterr().err
    assert main(["--resume", str(checkpoint)]) == 0


def test_help_lists_missing(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "--missing {error,drop}" in capsys.readouterr().out


# --- 15: infinity named by file, column and line -------------------------------------------------


def test_infinity_in_a_table_names_the_file_the_column_and_the_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """It was 'validation: expected finite numbers', though no validation data was given."""
    table = _numbers(30).astype({"rooms": np.float64})
    table.loc[26, "rooms"] = np.inf
    path = tmp_path / "homes.csv"
    table.to_csv(path, index=False)
    assert main(["--csv", str(path), "--target", "price", "--epochs", "2"]) == 1
    assert capsys.readouterr().err == (
        f"error: {path}: expected finite numbers, got infinity in column 'rooms' at line 28 (inf); "
        "replace it or leave those rows out\n"
    )


# --- 13, 18: a column name not found ----------------------------------------------------------


def test_a_header_with_spaces_after_its_commas_is_said_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "spaced.csv"
    path.write_text("id, size, beds, price\n1,2,3,4\n2,3,4,5\n")
    assert main(["--csv", str(path), "--target", "price"]) == 1
    assert capsys.readouterr().err == (
        f"error: {path}: target: no column 'price' (did you mean ' price'?); the columns are 'id', ' size', "
        "' beds', ' price'; 3 of them begin or end with spaces: remove the spaces after the commas of the file's "
        "header, or give the names with their spaces\n"
    )


def test_a_mistyped_column_gets_the_closest_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    frame = _numbers(20).rename(columns={"price": "Sales"})
    with pytest.raises(DataError, match=r"^target: no column 'sales' \(did you mean 'Sales'\?\); the columns are "):
        TabularModel().fit(frame, "sales")
    with pytest.raises(DataError, match=r"^drop: no columns 'rooom' \(did you mean 'rooms'\?\), 'zzz'; "):
        TabularModel().fit(frame, "Sales", drop=["rooom", "zzz"])
    path = tmp_path / "sales.csv"
    frame.to_csv(path, index=False)
    assert main(["--csv", str(path), "--target", "sales"]) == 1
    assert "target: no column 'sales' (did you mean 'Sales'?)" in capsys.readouterr().err


# --- 8: a bundle's lists in the order fitting writes them --------------------------------------


def test_a_bundle_with_reordered_categories_is_refused(tmp_path: Path) -> None:
    """A hand-edited order loaded, and gave each category another's weights (30 of 50 predictions changed)."""
    path = tmp_path / "bundle.json"
    document = json.loads((FIXTURES / "v1" / "bundle-table.json").read_text())
    document["features"]["categorical"]["city"] = ["north", "east", "south"]
    path.write_text(json.dumps(document))
    with pytest.raises(ValueError, match=r"categorical\['city'\]: expected the categories in sorted order"):
        TabularModel.load(path)


def test_a_bundle_with_reordered_labels_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bundle.json"
    document = json.loads((FIXTURES / "v1" / "bundle.json").read_text())
    document["target"]["labels"] = [1, 0, 2]
    path.write_text(json.dumps(document))
    with pytest.raises(ValueError, match=r"labels: expected the labels in sorted order, as fitting writes them"):
        TabularModel.load(path)


@pytest.mark.parametrize("labels", [["1", "2", "10"], ["0.5", "2", "10"], ["a", "b"], [False, True], [-1.5, 2.0]])
def test_labels_in_the_order_fitting_wrote_them_load(labels: list[object]) -> None:
    """Older bundles hold integer labels as text in numeric order ("2" before "10")."""
    TargetEncoding(column="y", task="multiclass", labels=labels)


@pytest.mark.parametrize("labels", [["2", "1", "10"], ["b", "a"], [True, False], [2, 1]])
def test_labels_in_another_order_are_refused(labels: list[object]) -> None:
    with pytest.raises(ValueError, match="expected the labels in sorted order"):
        TargetEncoding(column="y", task="multiclass", labels=labels)


def test_the_stored_bundles_still_load(tmp_path: Path) -> None:
    for name in ("bundle.json", "bundle-table.json"):
        shutil.copy(FIXTURES / "v1" / name, tmp_path / name)
        TabularModel.load(tmp_path / name)
    Bundle.model_validate_json((FIXTURES / "v1" / "bundle.json").read_text())


def test_table_encoding_refuses_unsorted_categories() -> None:
    encoding = TableEncoding.fit(pd.DataFrame({"city": ["b", "a", "c", "a"], "x": [1.0, 2.0, 3.0, 4.0]}))
    document = encoding.model_dump()
    document["categorical"]["city"] = ["a", "c", "b"]
    with pytest.raises(ValueError, match=r"categorical\['city'\]: expected the categories in sorted order"):
        TableEncoding.model_validate(document)
