"""How far a row of a table travels: the project functions it passes before training's first matrix product.

    python bench/row_path.py            # both ways in: the command line on a CSV file, and TabularModel.fit
    python bench/row_path.py --chain    # and each function, in the order it is first called

``sys.setprofile`` watches every call of a function of the ``glassnet`` package from the way in
(``glassnet --csv table.csv --target y``, or ``TabularModel().fit(frame, "y")``) until the first call
into the training step (``glassnet/step.py``, where every matrix product is) from a `TrainingRun`: a
forward pass made before training, to show predictions, is on the way, not the end of it. It prints
how many distinct functions were called, how many of them were given the table's rows as a table (a
DataFrame, a Series or `glassnet.tables.CheckedRows` among their arguments: marked ``[rows]`` in the
chain; once encoded, rows are arrays, as the network's parameters are), and how many times each check of the
rows ran: the column names (``reject_duplicates``), the missing values (``reject_missing``), infinity
(``reject_infinite``), the frame itself (``check_frame``, once ``tabular._check_frame``) and finiteness:
the calls of ``np.isfinite`` from the package, of rows and of parameters alike (a NumPy ufunc, which a
profiler does not see, so it is wrapped while watching; ``--chain`` names their callers).

The table: 40 rows of the housing data (numbers) and a text column, the target ``y``.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import io
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from glassnet import TabularModel, cli, make_housing  # noqa: E402  (the repository folder must be on the path first)
from glassnet.tables import CheckedRows  # noqa: E402

PACKAGE = str(ROOT / "glassnet")
STEP = str(ROOT / "glassnet" / "step.py")
TRAINING = str(ROOT / "glassnet" / "training.py")
DATA = (pd.DataFrame, pd.Series, CheckedRows)
CHECKS = ("reject_duplicates", "reject_missing", "reject_infinite", "check_frame")
"""The checks of a table's rows (`glassnet.tables`, `glassnet.tabular`) whose runs are counted, with finiteness."""


def table() -> pd.DataFrame:
    """40 rows: the housing data's numbers, a text column and the target ``y`` (the price)."""
    houses = make_housing(40, seed=3).rename(columns={"price": "y"})
    houses.insert(1, "street", np.where(np.arange(40) % 3 == 0, "oak", "elm"))
    return houses


class RowPath:
    """The project functions called until the first call into the training step, in order, with their counts."""

    def __init__(self) -> None:
        self.calls: collections.Counter[str] = collections.Counter()
        self.finite: collections.Counter[str] = collections.Counter()
        self.given_rows: set[str] = set()
        """The functions given rows as an argument: a DataFrame, a Series or an array."""
        self.reached = False

    def __call__(self, frame: FrameType, event: str, arg: Any) -> None:
        if event != "call":
            return
        file = frame.f_code.co_filename
        if file == STEP and _training(frame):
            self.reached = True
            sys.setprofile(None)
        elif file.startswith(PACKAGE) and not frame.f_code.co_name.startswith("<"):
            self.calls[_name(frame)] += 1
            code = frame.f_code
            arguments = code.co_varnames[: code.co_argcount + code.co_kwonlyargcount]
            if any(isinstance(frame.f_locals.get(name), DATA) for name in arguments):
                self.given_rows.add(_name(frame))

    def _isfinite(self, *args: Any, **kwargs: Any) -> Any:
        caller = sys._getframe(1)
        if not self.reached and caller.f_code.co_filename.startswith(PACKAGE):
            self.finite[_name(caller)] += 1
        return ISFINITE(*args, **kwargs)

    @contextlib.contextmanager
    def watching(self) -> Iterator[None]:
        np.isfinite = self._isfinite  # type: ignore[assignment]
        sys.setprofile(self)
        try:
            yield
        finally:
            sys.setprofile(None)
            np.isfinite = ISFINITE
        if not self.reached:
            raise RuntimeError("the run never reached the training step")

    def checks(self) -> dict[str, int]:
        """How many times each of `CHECKS` ran, and finiteness (``np.isfinite``)."""
        ran = {
            check: sum(n for name, n in self.calls.items() if name.rsplit(".", 1)[-1].lstrip("_") == check)
            for check in CHECKS
        }
        return {**ran, "np.isfinite": sum(self.finite.values())}


ISFINITE = np.isfinite


def _training(frame: FrameType | None) -> bool:
    """Whether ``frame`` runs inside a `TrainingRun` (a forward pass before training, to predict, is not training)."""
    while frame is not None:
        if frame.f_code.co_filename == TRAINING:
            return True
        frame = frame.f_back
    return False


def _name(frame: FrameType) -> str:
    """``module.function`` of the package function that ``frame`` runs."""
    return f"{Path(frame.f_code.co_filename).stem}.{frame.f_code.co_qualname}"


def command_line(folder: Path) -> RowPath:
    """The path of a row from ``glassnet --csv table.csv --target y`` (one epoch)."""
    csv = folder / "table.csv"
    table().to_csv(csv, index=False)
    path = RowPath()
    with path.watching():
        status = cli.main(["--csv", str(csv), "--target", "y", "--epochs", "1"], out=io.StringIO())
    if status != 0:
        raise RuntimeError(f"glassnet --csv {csv} --target y: exit status {status}")
    return path


def library() -> RowPath:
    """The path of a row from ``TabularModel().fit(frame, "y")`` (one epoch)."""
    frame = table()
    path = RowPath()
    with path.watching():
        TabularModel(epochs=1).fit(frame, "y")
    return path


WAYS_IN: dict[str, Callable[[Path], RowPath]] = {
    "glassnet --csv table.csv --target y": command_line,
    'TabularModel().fit(frame, "y")': lambda folder: library(),
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chain", action="store_true", help="list each function, in the order first called")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the notes of a table (a column left out) say nothing of the path
        for way, run in WAYS_IN.items():
            path = run(Path(folder))
            checks = ", ".join(f"{name} {n}" for name, n in path.checks().items())
            print(
                f"{way}: {len(path.calls)} project functions before the first product, {len(path.given_rows)} of them "
                f"given rows; checks run: {checks}"
            )
            if args.chain:
                for name, n in path.calls.items():
                    rows = " [rows]" if name in path.given_rows else ""
                    print(f"    {name}{rows}" + (f" (x{n})" if n > 1 else ""))
                finite = ", ".join(f"{name}" + (f" (x{n})" if n > 1 else "") for name, n in path.finite.items())
                print(f"    np.isfinite called by: {finite}")


if __name__ == "__main__":
    main()
