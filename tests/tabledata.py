"""What the tests of a table's rooms share: a small table of numbers, and a file read with the notes it gave."""

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from glassnet import DataNote, read_table


def read_with_notes(path: Path) -> tuple[pd.DataFrame, list[str]]:
    """The table `read_table` reads from ``path``, and the notes it gave."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DataNote)
        table = read_table(path)
    return table, [str(warning.message) for warning in caught if warning.category is DataNote]


def numbers_table(n: int, seed: int = 0) -> pd.DataFrame:
    """A small regression table: ``size`` (int), ``rooms`` (int), ``price`` (float), the price linear in both."""
    rng = np.random.default_rng(seed)
    size, rooms = rng.integers(40, 200, n), rng.integers(1, 6, n)
    return pd.DataFrame({"size": size, "rooms": rooms, "price": 3.0 * size + 10.0 * rooms + rng.normal(0, 1, n)})
