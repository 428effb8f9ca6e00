"""glassnet.data: the housing table, its arrays, and the formula behind them."""

import numpy as np
import pandas as pd
import pytest

from glassnet import (
    FEATURES,
    TARGET,
    TRUE_COEFFICIENTS,
    get_data,
    make_housing,
)

COEFFICIENTS = np.array([TRUE_COEFFICIENTS[name] for name in FEATURES])


# --- make_housing ---------------------------------------------------------------------------


def test_housing_columns_dtypes_and_ranges() -> None:
    housing = make_housing(5_000, seed=3)
    assert list(housing.columns) == [*FEATURES, TARGET]
    assert housing.shape == (5_000, 5)
    assert housing.dtypes.to_dict() == {
        "size_sqft": np.float64,
        "bedrooms": np.int64,
        "age_years": np.int64,
        "distance_km": np.float64,
        "price": np.float64,
    }
    assert housing["size_sqft"].between(500, 4000, inclusive="left").all()
    assert housing["distance_km"].between(0, 30, inclusive="left").all()
    assert set(housing["bedrooms"]) == {1, 2, 3, 4, 5}
    assert set(housing["age_years"]) == set(range(50))


def test_true_coefficients_match_the_formula() -> None:
    assert TRUE_COEFFICIENTS == {"size_sqft": 150, "bedrooms": 50_000, "age_years": -1_000, "distance_km": -2_000}


def test_housing_is_reproducible_by_seed() -> None:
    pd.testing.assert_frame_equal(make_housing(200, seed=7), make_housing(200, seed=7))
    assert not make_housing(200, seed=7).equals(make_housing(200, seed=8))


def test_noiseless_price_is_the_exact_formula() -> None:
    housing = make_housing(2_000, seed=1, noise=0.0)
    design = np.column_stack([housing[list(FEATURES)].to_numpy(dtype=np.float64), np.ones(len(housing))])
    solution, *_ = np.linalg.lstsq(design, housing[TARGET].to_numpy(), rcond=None)
    np.testing.assert_allclose(solution[:4], COEFFICIENTS, rtol=1e-6)
    assert abs(solution[4]) < 1e-4  # no intercept in the formula


@pytest.mark.parametrize("noise", [500.0, 10_000.0])
def test_noise_is_the_residual_standard_deviation(noise: float) -> None:
    housing = make_housing(20_000, seed=2, noise=noise)
    residual = housing[TARGET].to_numpy() - housing[list(FEATURES)].to_numpy(dtype=np.float64) @ COEFFICIENTS
    assert residual.std() == pytest.approx(noise, rel=0.03)
    assert abs(residual.mean()) < 0.05 * noise


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"n_samples": 0}, ValueError, r"n_samples: expected a positive integer, got 0"),
        ({"n_samples": -5}, ValueError, r"n_samples: expected a positive integer, got -5"),
        ({"n_samples": True}, TypeError, r"n_samples: expected a positive integer, got True"),
        ({"n_samples": 2.5}, TypeError, r"n_samples: expected a positive integer, got 2\.5"),
        ({"n_samples": "10"}, TypeError, r"n_samples: expected a positive integer, got '10'"),
        ({"seed": -1}, ValueError, r"seed: expected an integer >= 0, got -1"),
        ({"noise": -1.0}, ValueError, r"noise: expected a finite number >= 0, got -1\.0"),
        ({"noise": float("nan")}, ValueError, r"noise: expected a finite number >= 0, got nan"),
        ({"noise": float("inf")}, ValueError, r"noise: expected a finite number >= 0, got inf"),
        ({"noise": "loud"}, TypeError, r"noise: expected a finite number >= 0, got 'loud'"),
    ],
)
def test_make_housing_rejects_bad_arguments(kwargs: dict[str, object], error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        make_housing(**kwargs)  # type: ignore[arg-type]


# --- get_data -------------------------------------------------------------------------------


def test_regression_data_is_z_scored() -> None:
    X, y = get_data(3_000, seed=4)
    assert X.shape == (3_000, 4)
    assert y.shape == (3_000, 1)
    assert X.dtype == y.dtype == np.float64
    np.testing.assert_allclose(X.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(X.std(axis=0), 1, rtol=1e-12)
    price = make_housing(3_000, seed=4)[TARGET].to_numpy()
    np.testing.assert_allclose(y[:, 0], (price - price.mean()) / price.std(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("n_samples", [3_000, 3_001])
def test_binary_labels_are_price_above_the_median(n_samples: int) -> None:
    X, y = get_data(n_samples, seed=5, task="binary")
    price = make_housing(n_samples, seed=5)[TARGET].to_numpy()
    assert X.shape == (n_samples, 4)
    assert y.shape == (n_samples,)
    assert y.dtype == np.int64
    assert y.sum() == n_samples // 2  # distinct prices: strictly above the median is half, rounded down
    np.testing.assert_array_equal(y, price > np.median(price))


def test_multiclass_labels_are_price_tertiles() -> None:
    _, y = get_data(3_000, seed=6, task="multiclass")
    price = make_housing(3_000, seed=6)[TARGET].to_numpy()
    assert y.dtype == np.int64
    np.testing.assert_array_equal(np.bincount(y), [1_000, 1_000, 1_000])
    assert price[y == 0].max() < price[y == 1].min() <= price[y == 1].max() < price[y == 2].min()


def test_get_data_rejects_an_unknown_task() -> None:
    with pytest.raises(ValueError, match=r"task: expected one of \['binary', 'multiclass', 'regression'\], got 'rank'"):
        get_data(10, task="rank")  # type: ignore[arg-type]


def test_get_data_validates_n_samples() -> None:
    with pytest.raises(ValueError, match=r"n_samples: expected a positive integer, got 0"):
        get_data(0)
