"""The fields room (`glassnet.fields`): the array aliases, defined once, and the float64 array fields of records."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from pydantic import TypeAdapter
from pydantic_numpy.typing import Np1DArrayFp64, Np2DArrayFp64

from glassnet.fields import Float64Matrix, Float64Vector

PACKAGE = Path(__file__).resolve().parent.parent / "glassnet"


def array_aliases(source: str) -> list[str]:
    """The names a module's source binds at its top to a NumPy array type (``X = npt.NDArray[...]``)."""
    return [
        target.id
        for node in ast.parse(source).body
        if isinstance(node, ast.Assign) and "NDArray[" in ast.unparse(node.value)
        for target in node.targets
        if isinstance(target, ast.Name)
    ]


def test_every_array_alias_is_defined_once_in_the_fields_room() -> None:
    """``FloatArray`` and ``BoolArray`` are the fields room's: every other module imports them."""
    defining = {
        path.relative_to(PACKAGE).as_posix(): array_aliases(path.read_text()) for path in sorted(PACKAGE.rglob("*.py"))
    }
    assert {module: names for module, names in defining.items() if names} == {"fields.py": ["FloatArray", "BoolArray"]}


def test_an_alias_bound_outside_the_fields_room_is_found() -> None:
    assert array_aliases("import numpy as np\nBoolArray = npt.NDArray[np.bool_]\nx = 1\n") == ["BoolArray"]


@pytest.mark.parametrize(
    "array",
    [
        np.array([0.1, -2.5e-300, 1e308]),
        np.arange(12.0).reshape(3, 4) / 7.0,
        (np.arange(12.0).reshape(3, 4) / 7.0)[:, ::2],  # a view, not contiguous
        np.zeros((2, 0)),
    ],
    ids=["vector", "matrix", "strided view", "empty"],
)
def test_array_fields_write_the_json_pydantic_numpy_writes(array: npt.NDArray[np.float64]) -> None:
    """glassnet writes its float64 array fields itself, faster; the JSON is pydantic-numpy's, to the byte, and
    reads back to the same bits."""
    ours = TypeAdapter(Float64Vector if array.ndim == 1 else Float64Matrix)
    theirs = TypeAdapter(Np1DArrayFp64 if array.ndim == 1 else Np2DArrayFp64)
    written = ours.dump_json(array)
    assert written == theirs.dump_json(array)
    assert ours.validate_json(written).tobytes() == np.ascontiguousarray(array).tobytes()
