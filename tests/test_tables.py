"""glassnet.tables: a table's rows checked once where they come in (placeholder cells in a DataFrame, missing
values, infinity, column names not found, rows checked in some columns), and split."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tabledata import numbers_table

from glassnet import DataNote, TabularModel, split_rows, tables
from glassnet.cli import main
from glassnet.encoding import TableEncoding, TargetEncoding
from glassnet.reading import DataError

# --- 5: placeholder cells in a DataFrame ----------------------------------------------------


def test_a_frame_s_placeholder_cells_are_missing_numbers_in_fit_too() -> None:
    frame = numbers_table(30)
    frame["size"] = frame["size"].astype(str).where(frame.index != 7, "?")
    note = r"column 'size' read as numbers with 1 missing value\(s\): '\?' \(row 7\)"
    error = r"features: missing values in column\(s\) 'size' \(1 of 30 rows: row 7\)"
    with pytest.warns(DataNote, match=note), pytest.raises(DataError, match=error):
        TabularModel(epochs=2).fit(frame, "price")


# --- 6: missing values: the rows named, and a way forward ---------------------------------------


def _with_gaps() -> pd.DataFrame:
    frame = numbers_table(30)
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
    table = numbers_table(30).astype({"rooms": np.float64})
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
    frame = numbers_table(20).rename(columns={"price": "Sales"})
    with pytest.raises(DataError, match=r"^target: no column 'sales' \(did you mean 'Sales'\?\); the columns are "):
        TabularModel().fit(frame, "sales")
    with pytest.raises(DataError, match=r"^drop: no columns 'rooom' \(did you mean 'rooms'\?\), 'zzz'; "):
        TabularModel().fit(frame, "Sales", drop=["rooom", "zzz"])
    path = tmp_path / "sales.csv"
    frame.to_csv(path, index=False)
    assert main(["--csv", str(path), "--target", "sales"]) == 1
    assert "target: no column 'sales' (did you mean 'Sales'?)" in capsys.readouterr().err


# --- split_rows -----------------------------------------------------------------------------


def test_split_rows_partitions_shuffled_rows() -> None:
    train, test = split_rows(100, 0.25, seed=3)
    assert len(train) == 75
    assert len(test) == 25
    assert train.dtype == test.dtype == np.int64
    np.testing.assert_array_equal(np.sort(np.concatenate([train, test])), np.arange(100))
    assert not np.array_equal(np.concatenate([train, test]), np.arange(100))
    train_again, test_again = split_rows(100, 0.25, seed=3)
    np.testing.assert_array_equal(train_again, train)
    np.testing.assert_array_equal(test_again, test)
    assert not np.array_equal(split_rows(100, 0.25, seed=4)[1], test)


@pytest.mark.parametrize(
    ("n_rows", "test_fraction", "message"),
    [
        (10, 0.0, r"test_fraction: expected a number strictly between 0 and 1, got 0\.0"),
        (10, 1.0, r"test_fraction: expected a number strictly between 0 and 1, got 1\.0"),
        (10, 1.5, r"test_fraction: expected a number strictly between 0 and 1, got 1\.5"),
        (10, float("nan"), r"test_fraction: expected a number strictly between 0 and 1, got nan"),
        (10, 0.01, r"test_fraction: expected a fraction leaving both parts non-empty, got 0\.01 of 10 rows"),
        (2, 0.9, r"test_fraction: expected a fraction leaving both parts non-empty, got 0\.9 of 2 rows"),
        (0, 0.5, r"n_rows: expected a positive integer, got 0"),
    ],
)
def test_split_rows_rejects_bad_arguments(n_rows: int, test_fraction: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        split_rows(n_rows, test_fraction, seed=0)


# --- checked rows --------------------------------------------------------------------------


def test_rows_checked_in_some_columns_are_checked_in_the_others_where_they_are_used() -> None:
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [1.0, np.nan, 2.0], "y": [1.0, np.inf, 3.0]})
    rows = tables.usable_rows(frame, ["a"], "error", "frame")
    with pytest.raises(DataError, match=r"^features: missing values in column\(s\) 'b' \(1 of 3 rows: row 1\)"):
        TableEncoding.fit(rows.select(["a", "b"]))
    with pytest.raises(DataError, match=r"^target 'y': expected finite numbers, got infinity in column 'y' at row 1"):
        TargetEncoding.fit(rows.select(["y"]), "regression")
    with pytest.raises(DataError, match=r"^validation: missing values in column\(s\) 'b' \(1 of 3 rows: row 1\)"):
        TableEncoding.fit(frame[["a"]].assign(b=[1.0, 2.0, 3.0])).transform(rows, name="validation")


def test_a_table_s_rows_are_refused_naming_the_part_at_fault() -> None:
    frame = numbers_table(30).astype(np.float64)
    frame.loc[4, "price"] = np.inf
    with pytest.raises(DataError, match=r"^target: expected finite numbers, got infinity in column 'price' at row 4 "):
        TabularModel(epochs=1).fit(frame, "price")
    frame.loc[[4, 6], "size"] = [np.nan, np.inf]
    with pytest.raises(DataError, match=r"^features: expected finite numbers, got infinity in column 'size' at row 6 "):
        TabularModel(epochs=1).fit(frame, "price")
