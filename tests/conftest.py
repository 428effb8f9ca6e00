"""What every test process shares: BLAS, OpenMP and MKL compute in one thread.

Set here, before any test module imports NumPy, so that it holds in each pytest-xdist worker
and in every process a test starts (the notebook's kernel, the command line, the benchmark's
children), all of which inherit the environment. The suite runs a worker per core beside those
processes, and an OpenBLAS thread that waits for work spins on a core: with two BLAS threads
per process the cores were oversubscribed, and on a 2-core machine the suite took 108 s
instead of 64 (the notebook 51 s instead of 11, the quick benchmark 36 s instead of 17). A
variable the caller has set is left as it is.
"""

import json
import os

for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(variable, "1")


# --------------------------------------------------------------------------- #
# The data the stored checkpoints trained on (tests/fixtures)
# --------------------------------------------------------------------------- #

from pathlib import Path  # noqa: E402  (after the environment is set, before NumPy)
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def housing_arrays() -> tuple[np.ndarray, np.ndarray]:
    """What the stored run checkpoints trained on: ``get_data(80, seed=4)``, (80, 4) and (80, 1), as the code of
    their day computed it on an AVX2 machine. Its BLAS product gave the prices' last bits; the housing data is
    the same on every machine since, and differs from these in the last bits."""
    arrays = json.loads((FIXTURES / "housing-80-seed-4.json").read_text())
    return np.array(arrays["X"]), np.array(arrays["y"])


@pytest.fixture(scope="session")
def housing_csv() -> Path:
    """What the stored command-line checkpoints trained on: ``make_housing(500, seed=0)`` as computed then (see
    `housing_arrays`), to give to ``--csv`` when resuming them."""
    return FIXTURES / "housing-500-seed-0.csv"


# --------------------------------------------------------------------------- #
# How many times the checks of a table's rows run
# --------------------------------------------------------------------------- #


@pytest.fixture
def row_checks(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """How many times each check of a table's rows runs from now on: its column names (``reject_duplicates``),
    missing values (``reject_missing``), infinity (``reject_infinite``) and the frame itself (``check_frame``,
    where the model calls it)."""
    from glassnet import encoding, reading, tables, tabular

    counts = {"reject_duplicates": 0, "reject_missing": 0, "reject_infinite": 0, "check_frame": 0}
    for name in counts:
        # each module that calls a check calls it by its own name for it: each of those is counted
        for module in (tabular,) if name == "check_frame" else (reading, tables, encoding):
            if not hasattr(module, name):
                continue
            real = getattr(module, name)

            def counted(*args: object, _name: str = name, _real: Any = real, **kwargs: object) -> object:
                counts[_name] += 1
                return _real(*args, **kwargs)

            monkeypatch.setattr(module, name, counted)
    return counts
