"""The housing data: a generated table whose truth is known, so what a network learns can be checked.

The prices follow a linear formula, so a linear network's weights can be compared with it::

    price = 150 size_sqft + 50,000 bedrooms - 1,000 age_years - 2,000 distance_km
            + Normal(0, noise)

with size uniform on [500, 4000) sqft, bedrooms an integer 1..5, age an integer 0..49
years and distance uniform on [0, 30) km; prices are in dollars. `make_housing` gives the
table in these raw units, `get_data` the arrays a network trains on.
"""

from typing import Literal

import numpy as np
import pandas as pd

from glassnet.encoding import Standardizer, Task, check_task
from glassnet.rules import non_negative_int, non_negative_number, positive_int

FEATURES: tuple[str, ...] = ("size_sqft", "bedrooms", "age_years", "distance_km")
TARGET = "price"
TRUE_COEFFICIENTS: dict[str, float] = {
    "size_sqft": 150.0,
    "bedrooms": 50_000.0,
    "age_years": -1_000.0,
    "distance_km": -2_000.0,
}
HOUSES = 10_000
"""How many houses the table has unless told otherwise: enough that the default network's test
error comes within 3% of the noise (README)."""
NOISE = 10_000.0
"""The standard deviation of the price noise, in dollars, unless told otherwise."""


def make_housing(n_samples: int = HOUSES, *, seed: int = 0, noise: float = NOISE) -> pd.DataFrame:
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
    housing[TARGET] = noiseless_price(housing) + rng.normal(0.0, noise, n_samples)
    return housing


def noiseless_price(houses: pd.DataFrame) -> np.ndarray:
    """The noiseless price of each house (n,), float64 dollars, from the columns ``FEATURES``.

    A fixed sequence of elementwise products and sums, feature by feature in ``FEATURES``'
    order: IEEE arithmetic that every CPU computes to the same bits. A matrix product would
    leave the order of the additions to BLAS, whose kernels differ from CPU to CPU, and so
    would the data, its fingerprints and every checkpoint trained on it.
    """
    total = np.zeros(len(houses))
    for name in FEATURES:
        total += TRUE_COEFFICIENTS[name] * houses[name].to_numpy(dtype=np.float64)
    return total


def get_data(n_samples: int = HOUSES, *, seed: int = 0, task: Task = "regression") -> tuple[np.ndarray, np.ndarray]:
    """Housing data ready for a network (noise `NOISE` dollars).

    Returns
    -------
    X : (n_samples, 4) float64, each feature z-scored.
    y : regression: (n_samples, 1) float64 z-scored price; binary: (n_samples,) int64,
        1 where price is above the median; multiclass: (n_samples,) int64 price tertile
        0, 1 or 2 (cut at the 1/3 and 2/3 quantiles).
    """
    task = check_task(task)
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
