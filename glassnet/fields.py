"""float64 arrays: the one `FloatArray` alias (and `BoolArray`, for the masks beside them), the check
that turns an argument into one (`float_array`), and the array fields Pydantic records store
(`Float64Vector`, `Float64Matrix`), guarded so that JSON from anywhere is safe to read.

``float_array`` raises ``TypeError`` for what is not an array of numbers (text, a dict
inside an array, a sparse or masked array) and ``ValueError`` for complex numbers; its
messages name the argument, what was expected and what was given.
"""

from __future__ import annotations

from typing import Annotated

import numpy as np
import numpy.typing as npt
from pydantic import BeforeValidator, PlainSerializer, ValidationInfo
from pydantic_numpy.typing import Np1DArrayFp64, Np2DArrayFp64

FloatArray = npt.NDArray[np.float64]
"""A float64 array of any shape."""
BoolArray = npt.NDArray[np.bool_]
"""A bool array of any shape: which units block, which are alive."""


def float_array(value: object, name: str) -> FloatArray:
    """``value`` (bools, integers, floats, or an object array of numbers) as a float64 array.

    Refused: sparse matrices and masked arrays (whose structure or mask would be lost),
    text and other objects (``TypeError``), complex numbers (``ValueError``). Converting
    before any other check means a value beyond float64's range (a long double) becomes
    infinity here and is rejected as non-finite by the caller, not met later as NaN.
    """
    module = type(value).__module__
    if module.startswith("scipy.sparse"):
        raise TypeError(
            f"{name}: expected a dense array, got a sparse {type(value).__name__}; "
            "sparse input is not supported: convert it with .toarray()"
        )
    if isinstance(value, np.ma.MaskedArray):
        raise TypeError(
            f"{name}: expected a plain array, got a masked array; its mask would be ignored: "
            "drop or fill the masked entries (.filled(...)) first"
        )
    try:
        array = np.asarray(value)
    except (ValueError, TypeError):
        raise TypeError(f"{name}: expected a numeric array, got a ragged or mixed sequence") from None
    if array.dtype.kind == "c":
        raise ValueError(f"{name}: expected real numbers, got complex values (Complex data not supported)")
    if array.dtype.kind == "O":
        text = [item for item in array.flat if isinstance(item, str | bytes)]
        if text:  # NumPy would read "1" as 1.0: text is never a number here
            raise TypeError(f"{name}: expected an array of numbers, got text in an object array, such as {text[0]!r}")
        try:
            return array.astype(np.float64)
        except (TypeError, ValueError) as error:
            raise TypeError(f"{name}: expected an array of numbers, got an object array of others: {error}") from None
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name}: expected a numeric array, got dtype {array.dtype}")
    with np.errstate(over="ignore"):
        return array.astype(np.float64, copy=False)


_ARRAY_KEYS = {"data_type", "data", "shape"}
_EXPECTED_ARRAY = 'expected an array, in JSON {"data_type": "float64", "data": [...], "shape": [...]}'


def _plain_array(value: object, info: ValidationInfo) -> object:
    """Let through arrays, Python sequences, and JSON float64 array documents; refuse the rest.

    Without this guard pydantic-numpy would load any file a path names, build an array of
    whatever dtype a document asks for (a 300-byte file can ask for gigabytes), and fail on
    malformed documents with errors that are not ``ValueError``.
    """
    if isinstance(value, np.ndarray) or (info.mode == "python" and isinstance(value, list | tuple)):
        return value
    if not isinstance(value, dict) or not set(value) <= _ARRAY_KEYS:
        raise ValueError(f"{_EXPECTED_ARRAY}, got {type(value).__name__}")
    if value.get("data_type") != "float64" or not isinstance(value.get("data"), list):
        raise ValueError(f"{_EXPECTED_ARRAY}, got data_type {value.get('data_type')!r}")
    shape = value.get("shape")
    if shape is not None and not (
        isinstance(shape, list) and all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape)
    ):
        raise ValueError(f"{_EXPECTED_ARRAY}, got shape {shape!r}")
    return value


def _array_document(array: FloatArray) -> dict[str, object]:
    """A float64 array's JSON document, as pydantic-numpy writes it, made without its copies and dtype lookups
    (a checkpoint writes a dozen arrays every few epochs)."""
    return {"data_type": "float64", "data": array.tolist(), "shape": list(array.shape)}


Float64Vector = Annotated[
    Np1DArrayFp64, BeforeValidator(_plain_array), PlainSerializer(_array_document, when_used="json")
]
"""A 1-D float64 array field of a Pydantic record."""

Float64Matrix = Annotated[
    Np2DArrayFp64, BeforeValidator(_plain_array), PlainSerializer(_array_document, when_used="json")
]
"""A 2-D float64 array field of a Pydantic record."""
