"""glassnet.encoding: standardizing, encoding features and targets in one pass, and bundle order."""

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

from glassnet import DataNote, Standardizer, TabularModel, encoding, make_housing, read_table, tables
from glassnet.bundles import Bundle
from glassnet.encoding import TableEncoding, TargetEncoding
from glassnet.reading import DataError

FIXTURES = Path(__file__).parent / "fixtures"


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
    with pytest.raises(ValueError, match="version"):  # only reading a file upgrades it (glassnet.upgrades)
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
