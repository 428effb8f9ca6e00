"""glassnet.tables: standardizing, reading a user's table as meant (delimiters, number formats, placeholder cells,
missing values, column names), encoding features and targets, splitting rows, and bundle order."""

import json
import shutil
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from pydantic import ValidationError

from glassnet import DataNote, Standardizer, TabularModel, encoding, make_housing, read_table, split_rows, tables
from glassnet.cli import main
from glassnet.encoding import TableEncoding, TargetEncoding
from glassnet.reading import DataError
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


# --- Standardizer ---------------------------------------------------------------------------


def test_standardizer_fits_transforms_and_inverts() -> None:
    values = np.array([[0.0, 10.0], [2.0, 30.0]])
    scaler = Standardizer.fit(values)
    np.testing.assert_array_equal(scaler.mean, [1.0, 20.0])
    np.testing.assert_array_equal(scaler.scale, [1.0, 10.0])
    np.testing.assert_array_equal(scaler.transform(values), [[-1.0, -1.0], [1.0, 1.0]])
    np.testing.assert_array_equal(scaler.transform([[3.0, 0.0]]), [[2.0, -2.0]])
    np.testing.assert_array_equal(scaler.inverse_transform([[2.0, -2.0]]), [[3.0, 0.0]])


def test_standardizer_round_trip_on_random_data() -> None:
    values = np.random.default_rng(0).normal(5.0, 3.0, size=(500, 3))
    scaler = Standardizer.fit(values)
    z = scaler.transform(values)
    assert z.dtype == np.float64
    np.testing.assert_allclose(z.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(z.std(axis=0), 1, rtol=1e-12)
    np.testing.assert_allclose(scaler.inverse_transform(z), values, rtol=1e-12)


def test_standardizer_json_round_trip_is_bit_exact() -> None:
    scaler = Standardizer.fit(np.random.default_rng(1).normal(size=(100, 4)) * [1e-8, 1.0, 1e8, np.pi])
    restored = Standardizer.model_validate_json(scaler.model_dump_json())
    assert restored.mean.tobytes() == scaler.mean.tobytes()
    assert restored.scale.tobytes() == scaler.scale.tobytes()


@given(
    statistics=arrays(
        np.float64,
        st.tuples(st.just(2), st.integers(1, 6)),
        elements=st.floats(allow_nan=False, allow_infinity=False, min_value=-1e300, max_value=1e300),
    )
)
def test_any_standardizer_survives_json_bit_exactly(statistics: np.ndarray) -> None:
    scaler = Standardizer(mean=statistics[0], scale=np.abs(statistics[1]) + 1e-300)
    restored = Standardizer.model_validate_json(scaler.model_dump_json())
    assert restored.mean.tobytes() == scaler.mean.tobytes()
    assert restored.scale.tobytes() == scaler.scale.tobytes()


def test_standardizer_arrays_are_read_only() -> None:
    scaler = Standardizer.fit(np.array([[1.0], [3.0]]))
    with pytest.raises(ValueError, match="read-only"):
        scaler.mean[0] = 5.0


def test_constant_column_warns_and_is_not_divided_by_zero() -> None:
    values = np.array([[1.0, 0.1, 7.0], [2.0, 0.1, 7.0], [3.0, 0.1, 7.0]])
    with pytest.warns(UserWarning, match=r"column\(s\) \[1, 2\] are constant"):
        scaler = Standardizer.fit(values)
    np.testing.assert_array_equal(scaler.scale[1:], [1.0, 1.0])
    z = scaler.transform(values)
    np.testing.assert_array_equal(z[:, 1:], 0.0)


@pytest.mark.parametrize("magnitude", [1e-310, 1e300, 1.0])
def test_standardizing_is_scale_robust(magnitude: float) -> None:
    """A subnormal column's spread underflowed to 0 and it was called constant; huge ones overflowed."""
    steps = np.arange(60.0)[:, None]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scaler = Standardizer.fit(steps * magnitude)
    np.testing.assert_allclose(scaler.transform(steps * magnitude), Standardizer.fit(steps).transform(steps), atol=1e-9)


def test_the_smallest_subnormals_still_spread() -> None:
    """Multiples of 5e-324 carry a few bits only: their z-scores are coarse (within 3%) but not zero."""
    steps = np.arange(60.0)[:, None]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        z = Standardizer.fit(steps * 5e-324).transform(steps * 5e-324)
    np.testing.assert_allclose(z, Standardizer.fit(steps).transform(steps), rtol=0.05, atol=0.05)


def test_ordinary_columns_standardize_as_before() -> None:
    values = np.random.default_rng(2).normal(3.0, 7.0, size=(1_000, 3)) * [1e-3, 1.0, 1e6]
    values = np.asfortranarray(values)  # the layout a table's columns are encoded in
    scaler = Standardizer.fit(values)
    assert scaler.mean.tobytes() == values.mean(axis=0).tobytes()
    assert scaler.scale.tobytes() == values.std(axis=0).tobytes()


def test_varying_columns_do_not_warn() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Standardizer.fit(np.array([[1.0, 2.0], [2.0, 1.0]]))


@pytest.mark.parametrize(
    ("mean", "scale", "message"),
    [
        (np.zeros(2), np.ones(3), r"mean and scale: expected the same length, got 2 and 3"),
        (np.zeros(2), np.array([1.0, 0.0]), r"scale: expected positive numbers, got \[1\.0, 0\.0\]"),
        (np.zeros(2), np.array([1.0, -2.0]), r"scale: expected positive numbers"),
        (np.array([0.0, np.nan]), np.ones(2), r"mean\n.*expected finite numbers"),
        (np.zeros(2), np.array([1.0, np.inf]), r"scale\n.*expected finite numbers"),
        (np.zeros(2, dtype=np.float32), np.ones(2), r"mean\n.*float32"),
        (np.zeros(2, dtype=np.int64), np.ones(2), r"mean\n.*int64"),
        (np.zeros((2, 1)), np.ones(2), r"mean\n.*2-dimensional"),
    ],
)
def test_standardizer_rejects_bad_statistics(mean: np.ndarray, scale: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Standardizer(mean=mean, scale=scale)


def test_standardizer_json_with_null_is_rejected() -> None:
    document = json.loads(Standardizer.fit(np.array([[1.0], [3.0]])).model_dump_json())
    document["scale"]["data"] = [None]  # what the serializer writes for NaN
    with pytest.raises(ValueError, match="expected finite numbers"):
        Standardizer.model_validate_json(json.dumps(document))


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (np.ones(3), r"values: expected a 2-D array \(n, k\), got shape \(3,\)"),
        (np.array([[1.0], [np.nan]]), r"values: expected finite numbers, got NaN or infinity"),
        (np.empty((0, 2)), r"values: expected at least one row, got 0"),
        (np.empty((2, 0)), r"values: expected at least one column, got 0"),
    ],
)
def test_standardizer_fit_rejects_bad_values(values: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Standardizer.fit(values)


def test_standardizer_transform_checks_the_width() -> None:
    scaler = Standardizer.fit(np.array([[1.0, 2.0], [3.0, 5.0]]))
    with pytest.raises(ValueError, match=r"values: expected 2 columns, got 3"):
        scaler.transform(np.ones((4, 3)))
    with pytest.raises(ValueError, match=r"values: expected 2 columns, got 1"):
        scaler.inverse_transform(np.ones((4, 1)))


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


# --- TableEncoding --------------------------------------------------------------------------


@pytest.fixture
def houses() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "area": [50.0, 70.0, 90.0, 110.0],
            "city": ["Oslo", "Bergen", "Oslo", "Tromso"],
            "rooms": [1, 2, 3, 4],
            "garden": [True, False, False, True],
            "style": pd.Categorical(["new", "old", "old", "new"]),
        }
    )


def test_table_encoding_orders_numeric_then_sorted_one_hot(houses: pd.DataFrame) -> None:
    encoding = TableEncoding.fit(houses)
    assert encoding.numeric == ["area", "rooms"]
    assert encoding.categorical == {
        "city": ["Bergen", "Oslo", "Tromso"],
        "garden": ["False", "True"],
        "style": ["new", "old"],
    }
    assert encoding.feature_names == [
        "area",
        "rooms",
        "city=Bergen",
        "city=Oslo",
        "city=Tromso",
        "garden=False",
        "garden=True",
        "style=new",
        "style=old",
    ]
    encoded = encoding.transform(houses)
    assert encoded.shape == (4, 9)
    assert encoded.dtype == np.float64
    np.testing.assert_allclose(encoded.mean(axis=0), 0, atol=1e-12)
    raw = encoding.scaler.inverse_transform(encoded)
    expected = [
        [50, 1, 0, 1, 0, 0, 1, 1, 0],
        [70, 2, 1, 0, 0, 1, 0, 0, 1],
        [90, 3, 0, 1, 0, 1, 0, 0, 1],
        [110, 4, 0, 0, 1, 0, 1, 1, 0],
    ]
    np.testing.assert_allclose(raw, expected, atol=1e-12)


def test_table_encoding_selects_columns_by_name(houses: pd.DataFrame) -> None:
    encoding = TableEncoding.fit(houses)
    shuffled = houses[["style", "garden", "rooms", "city", "area"]].assign(price=[1, 2, 3, 4], note="x")
    np.testing.assert_array_equal(encoding.transform(shuffled), encoding.transform(houses))


def test_table_encoding_json_round_trip_gives_identical_transform(houses: pd.DataFrame) -> None:
    encoding = TableEncoding.fit(houses)
    restored = TableEncoding.model_validate_json(encoding.model_dump_json())
    assert restored.numeric == encoding.numeric
    assert restored.categorical == encoding.categorical
    np.testing.assert_array_equal(restored.transform(houses), encoding.transform(houses))


def test_table_encoding_reads_a_csv_at_prediction(houses: pd.DataFrame, tmp_path: Path) -> None:
    encoding = TableEncoding.fit(houses)
    path = tmp_path / "new.csv"
    houses.iloc[[3, 0]].to_csv(path, index=False)
    np.testing.assert_allclose(encoding.transform(read_table(path)), encoding.transform(houses)[[3, 0]], rtol=1e-12)


def test_table_encoding_rejects_an_unseen_category(houses: pd.DataFrame) -> None:
    encoding = TableEncoding.fit(houses)
    new = houses.assign(city=["Oslo", "Paris", "Lima", "Paris"])
    with pytest.raises(DataError, match=r"column 'city': unseen value\(s\) \['Lima', 'Paris'\]; "):
        encoding.transform(new)
    with pytest.raises(DataError, match=r"known values are \['Bergen', 'Oslo', 'Tromso'\]"):
        encoding.transform(new)


def test_table_encoding_rejects_missing_values_naming_column_and_count(houses: pd.DataFrame) -> None:
    holes = houses.assign(area=[50.0, np.nan, np.nan, 1.0], city=np.array(["Oslo", None, "Oslo", "Oslo"], dtype=object))
    with pytest.raises(
        DataError, match=r"features: missing values in column\(s\) 'area' \(2 of 4 rows: row 1, row 2\), 'city' \(1 "
    ):
        TableEncoding.fit(holes)
    with pytest.raises(DataError, match=r"'area' \(2 of 4 rows: row 1, row 2\)"):
        TableEncoding.fit(houses).transform(holes)


def test_table_encoding_rejects_a_missing_required_column(houses: pd.DataFrame) -> None:
    encoding = TableEncoding.fit(houses)
    with pytest.raises(DataError, match=r"features: missing required column\(s\) \['rooms'\]"):
        encoding.transform(houses.drop(columns="rooms"))


def test_table_encoding_rejects_text_in_a_numeric_column(houses: pd.DataFrame) -> None:
    encoding = TableEncoding.fit(houses)
    with pytest.raises(DataError, match=r"features: expected numbers in column\(s\) \['area'\], got text"):
        encoding.transform(houses.assign(area=["big", "small", "big", "big"]))


def test_table_encoding_rejects_infinite_numbers(houses: pd.DataFrame) -> None:
    with pytest.raises(DataError, match=r"expected finite numbers, got infinity in column 'area' at row 1 \(inf\)"):
        TableEncoding.fit(houses.assign(area=[1.0, np.inf, 2.0, 3.0]))


@pytest.mark.parametrize(
    ("features", "message"),
    [
        (pd.DataFrame(index=range(3)), r"features: expected at least one feature column, got none"),
        (pd.DataFrame({0: [1.0, 2.0]}), r"features: expected text column names, got \[0\]"),
        (
            pd.DataFrame([[1.0, 2.0], [3.0, 4.0]], columns=["a", "a"]),
            r"features: duplicate column name\(s\) \['a'\]; give each column its own name",
        ),
    ],
)
def test_table_encoding_rejects_unusable_tables(features: pd.DataFrame, message: str) -> None:
    with pytest.raises(DataError, match=message):
        TableEncoding.fit(features)


def test_table_encoding_bundle_must_match_its_scaler(houses: pd.DataFrame) -> None:
    document = json.loads(TableEncoding.fit(houses).model_dump_json())
    document["numeric"].append("floors")
    with pytest.raises(ValidationError, match=r"scaler: expected 10 columns, one per encoded feature, got 9"):
        TableEncoding.model_validate(document | {"scaler": TableEncoding.fit(houses).scaler})


def test_unseen_categories_can_encode_as_zeros_with_a_note(houses: pd.DataFrame) -> None:
    encoding = TableEncoding.fit(houses)
    new = houses.assign(city=["Oslo", "Paris", "Lima", "Paris"])
    with pytest.warns(
        DataNote, match=r"column 'city': 3 row\(s\) with value\(s\) unseen in training \['Lima', 'Paris'\]"
    ):
        encoded = encoding.transform(new, unseen="zero")
    raw = encoding.scaler.inverse_transform(encoded)
    np.testing.assert_allclose(raw[:, 2:5], [[0, 1, 0], [0, 0, 0], [0, 0, 0], [0, 0, 0]], atol=1e-12)
    with pytest.raises(ValueError, match=r"unseen: expected one of \['error', 'zero'\], got 'skip'"):
        encoding.transform(new, unseen="skip")  # type: ignore[arg-type]


def test_rows_that_describe_rows_are_left_out_and_small_counts_kept(houses: pd.DataFrame) -> None:
    """rooms runs 1..4 over four rows: too few to call it an index. Over ten rows, or on a shuffled
    subset of a table whose index labels it follows, an exact run is a saved index."""
    assert TableEncoding.fit(houses).numeric == ["area", "rooms"]
    rng = np.random.default_rng(0)
    table = pd.DataFrame(
        {
            "x": rng.normal(size=40),
            "": rng.normal(size=40),
            "Unnamed: 3": rng.normal(size=40),
            "row": np.arange(1, 41),
            "id": [f"user{i}" for i in range(40)],
            "city": rng.choice(["a", "b"], 40),
        }
    )
    subset = table.iloc[rng.permutation(40)[:30]]
    with pytest.warns(DataNote) as notes:
        encoding = TableEncoding.fit(subset)
    assert encoding.columns == ["x", "city"]
    assert [str(note.message).split(" left out")[0] for note in notes] == [
        "column ''",
        "column 'Unnamed: 3'",
        "column 'row'",
        "column 'id'",
    ]
    assert "30 distinct text values in 30 rows" in str(notes[-1].message)
    expected = r"features: expected at least one feature column, got none \(left out: \['row'\]\)"
    with pytest.warns(DataNote, match="'row' left out"), pytest.raises(DataError, match=expected):
        TableEncoding.fit(table[["row"]])


def test_an_encoding_too_large_for_memory_is_refused_before_it_is_built() -> None:
    """200,000 rows of a text column with 90,000 categories (under half the rows, so not an identifier)
    would make a 144 GB one-hot matrix."""
    features = pd.DataFrame({"code": [f"c{i % 90_000}" for i in range(200_000)]})
    expected = (
        r"features: 200,000 rows x 90,000 encoded columns need 134\.1 GiB, more than the 2 GiB allowed; "
        r"the widest text columns are 'code' \(90,000 values\)"
    )
    with pytest.raises(DataError, match=expected):
        TableEncoding.fit(features)


# --- TargetEncoding -------------------------------------------------------------------------


def test_regression_target_round_trips() -> None:
    price = pd.Series([100.0, 250.0, 400.0, 175.5], name="price")
    encoding = TargetEncoding.fit(price, "regression")
    z = encoding.encode(price)
    assert z.shape == (4, 1)
    assert z.dtype == np.float64
    np.testing.assert_allclose(z.mean(), 0, atol=1e-12)
    np.testing.assert_allclose(z.std(), 1, rtol=1e-12)
    np.testing.assert_allclose(encoding.decode(z), price, rtol=1e-14)
    np.testing.assert_array_equal(encoding.decode(z[:, 0]), encoding.decode(z))
    assert encoding.decode(z).shape == (4,)
    restored = TargetEncoding.model_validate_json(encoding.model_dump_json())
    np.testing.assert_array_equal(restored.encode(price), z)


def test_regression_target_must_be_numeric() -> None:
    with pytest.raises(DataError, match=r"target 'grade': regression needs numbers, got .* such as 'A'.*--task"):
        TargetEncoding.fit(pd.Series(["A", "B"], name="grade"), "regression")


def test_regression_target_must_be_finite() -> None:
    with pytest.raises(DataError, match=r"target 'y': expected finite numbers, got infinity"):
        TargetEncoding.fit(pd.Series([1.0, np.inf], name="y"), "regression")


def test_regression_decode_rejects_wide_arrays() -> None:
    encoding = TargetEncoding.fit(pd.Series([1.0, 2.0], name="y"), "regression")
    with pytest.raises(ValueError, match=r"values: expected shape \(n,\) or \(n, 1\), got \(2, 2\)"):
        encoding.decode(np.ones((2, 2)))


def test_binary_text_labels_round_trip() -> None:
    answer = pd.Series(["yes", "no", "no", "yes", "no"], name="sold")
    encoding = TargetEncoding.fit(answer, "binary")
    assert encoding.labels == ["no", "yes"]
    codes = encoding.encode(answer)
    assert codes.dtype == np.int64
    np.testing.assert_array_equal(codes, [1, 0, 0, 1, 0])
    decoded = encoding.decode(codes)
    assert decoded.dtype == object
    assert decoded.tolist() == answer.tolist()
    restored = TargetEncoding.model_validate_json(encoding.model_dump_json())
    assert restored == encoding


def test_integer_labels_sort_numerically_and_decode_to_integers() -> None:
    grade = pd.Series([10, 2, 1, 2, 10], name="grade")
    encoding = TargetEncoding.fit(grade, "multiclass")
    assert encoding.labels == [1, 2, 10]
    np.testing.assert_array_equal(encoding.encode(grade), [2, 1, 0, 1, 2])
    decoded = encoding.decode(np.array([0, 2]))
    assert decoded.dtype == np.int64
    assert decoded.tolist() == [1, 10]
    assert TargetEncoding.model_validate_json(encoding.model_dump_json()) == encoding


@pytest.mark.parametrize(
    ("values", "labels", "dtype"),
    [
        ([0.0, 1.0, 0.5], [0.0, 0.5, 1.0], np.float64),
        ([True, False, True], [False, True], np.bool_),
        (["b", "a", "b"], ["a", "b"], object),
    ],
)
def test_labels_keep_the_kind_of_the_column(values: list[object], labels: list[object], dtype: type) -> None:
    encoding = TargetEncoding.fit(pd.Series(values, name="y"), "multiclass" if len(labels) > 2 else "binary")
    assert encoding.labels == labels
    assert [type(label) for label in encoding.labels] == [type(label) for label in labels]
    restored = TargetEncoding.model_validate_json(encoding.model_dump_json())
    assert restored.labels == labels
    assert [type(label) for label in restored.labels or []] == [type(label) for label in labels]
    decoded = restored.decode(restored.encode(pd.Series(values, name="y")))
    assert decoded.dtype == dtype
    assert decoded.tolist() == values


def test_integral_float_labels_match_integer_values() -> None:
    encoding = TargetEncoding.fit(pd.Series([0.0, 1.0, 0.5], name="y"), "multiclass")
    np.testing.assert_array_equal(encoding.encode(pd.Series([1, 0], name="y")), [2, 0])


def test_text_labels_of_an_older_bundle_still_match_numeric_targets() -> None:
    """Bundles written before labels kept their kind stored 2 and 2.0 as "2"; they load and predict text."""
    older = TargetEncoding.model_validate_json('{"column": "y", "task": "multiclass", "labels": ["1", "2", "10"]}')
    np.testing.assert_array_equal(older.encode(pd.Series([10, 2.0, 1], name="y")), [2, 1, 0])
    assert older.decode(np.array([2, 0])).tolist() == ["10", "1"]


def test_labels_found_only_in_validation_rows_get_an_output() -> None:
    encoding = TargetEncoding.fit(
        pd.Series(["a", "b", "a"], name="y"), "multiclass", validation=pd.Series(["c"], name="other")
    )
    assert encoding.labels == ["a", "b", "c"]
    regression = TargetEncoding.fit(pd.Series([1.0, 3.0], name="y"), "regression", validation=pd.Series([100.0]))
    assert regression.scaler is not None
    assert regression.scaler.mean.tolist() == [2.0]


@pytest.mark.parametrize("labels", ['[1, "a"]', "[NaN, 1.0]"])
def test_mixed_or_non_finite_labels_are_rejected(labels: str) -> None:
    with pytest.raises(ValidationError, match="labels"):
        TargetEncoding.model_validate_json(f'{{"column": "y", "task": "binary", "labels": {labels}}}')


@pytest.mark.parametrize(
    ("values", "task", "message"),
    [
        (["a", "b", "c"], "binary", r"target 'y': binary needs exactly 2 distinct values, found 3"),
        (["a", "a"], "binary", r"target 'y': binary needs exactly 2 distinct values, found 1"),
        ([4, 4, 4], "multiclass", r"target 'y': multiclass needs at least 2 distinct values, found 1"),
        (["a", None, "b"], "binary", r"target: missing values in column\(s\) 'y' \(1 of 3 rows: row 1\)"),
    ],
)
def test_classification_target_errors(values: list[object], task: str, message: str) -> None:
    with pytest.raises(DataError, match=message):
        TargetEncoding.fit(pd.Series(values, name="y"), task)  # type: ignore[arg-type]


def test_target_fit_validates_task_and_name() -> None:
    with pytest.raises(ValueError, match=r"task: expected one of .*, got 'ranking'"):
        TargetEncoding.fit(pd.Series([1.0, 2.0], name="y"), "ranking")  # type: ignore[arg-type]
    with pytest.raises(DataError, match=r"target: expected a named column, got name None"):
        TargetEncoding.fit(pd.Series([1.0, 2.0]), "regression")


def test_unseen_label_is_rejected() -> None:
    encoding = TargetEncoding.fit(pd.Series(["cat", "dog"], name="pet"), "binary")
    with pytest.raises(
        DataError, match=r"target 'pet': unseen value\(s\) \['fox'\]; known values are \['cat', 'dog'\]"
    ):
        encoding.encode(pd.Series(["dog", "fox"], name="pet"))


@pytest.mark.parametrize("codes", [np.array([0, 2]), np.array([-1]), np.array([0.0, 1.0]), np.array([[0, 1]])])
def test_classification_decode_rejects_bad_codes(codes: np.ndarray) -> None:
    encoding = TargetEncoding.fit(pd.Series(["cat", "dog"], name="pet"), "binary")
    with pytest.raises(ValueError, match=r"values: expected integer codes \(n,\) in \[0, 2\)"):
        encoding.decode(codes)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"task": "binary", "labels": ["a", "b", "c"]}, r"binary needs exactly 2 distinct values, found 3"),
        ({"task": "multiclass", "labels": ["a", "a"]}, r"multiclass: expected distinct labels and no scaler"),
        ({"task": "regression", "labels": ["a", "b"]}, r"regression: expected a one-column scaler and no labels"),
    ],
)
def test_target_encoding_bundle_is_validated(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        TargetEncoding.model_validate({"column": "y", **fields})


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


# --- one encoding pass ------------------------------------------------------------------------


def priced_houses() -> pd.DataFrame:
    """40 houses with a text column."""
    houses = make_housing(40, seed=2)
    return houses.assign(city=np.where(houses["bedrooms"] > 2, "north", "south"))


def test_fit_transform_encodes_as_fit_then_transform_in_c_order() -> None:
    houses = priced_houses()
    features = houses.drop(columns="price")
    encoding, X = TableEncoding.fit_transform(features)
    assert encoding.model_dump_json() == TableEncoding.fit(features).model_dump_json()
    assert X.tobytes() == encoding.transform(houses).tobytes()
    assert X.flags.c_contiguous and X.dtype == np.float64
    target, y, held_out = TargetEncoding.fit_transform(
        houses["price"][:30], "regression", validation=houses["price"][30:]
    )
    assert target == TargetEncoding.fit(houses["price"][:30], "regression")
    assert y.tobytes() == target.encode(houses["price"][:30]).tobytes()
    assert held_out is not None and held_out.tobytes() == target.encode(houses["price"][30:]).tobytes()
    labels, codes, none = TargetEncoding.fit_transform(houses["city"], "binary")
    assert codes.tolist() == labels.encode(houses["city"]).tolist() and none is None


def test_a_tabular_model_encodes_and_checks_each_part_of_its_table_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: dict[str, list[object]] = {"_encode": [], "reject_missing": []}
    for function, record in calls.items():
        # each room that calls the function calls it by its own name for it: each of those is recorded
        for room in (tables, encoding):
            if not hasattr(room, function):
                continue
            real = getattr(room, function)

            def counted(*args: Any, _real: Any = real, _record: list[object] = record, **kwargs: Any) -> Any:
                given = kwargs["name"] if "name" in kwargs else args[1]
                _record.append(list(given) if isinstance(given, dict) else given)
                return _real(*args, **kwargs)

            monkeypatch.setattr(room, function, counted)
    houses = priced_houses()
    TabularModel(epochs=2).fit(houses.iloc[:30], "price", validation=houses.iloc[30:])
    assert calls["_encode"] == ["features", "validation"], "each table's features encoded once"
    assert calls["reject_missing"] == [["features", "target"], ["validation"]], "each table checked once, by parts"


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
    frame = _numbers(30).astype(np.float64)
    frame.loc[4, "price"] = np.inf
    with pytest.raises(DataError, match=r"^target: expected finite numbers, got infinity in column 'price' at row 4 "):
        TabularModel(epochs=1).fit(frame, "price")
    frame.loc[[4, 6], "size"] = [np.nan, np.inf]
    with pytest.raises(DataError, match=r"^features: expected finite numbers, got infinity in column 'size' at row 6 "):
        TabularModel(epochs=1).fit(frame, "price")
