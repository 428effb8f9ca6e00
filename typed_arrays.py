"""Float64 array fields for Pydantic models that are safe to read from untrusted JSON.

These are pydantic-numpy's strict float64 types with one guard in front. A value
must be a NumPy array (or, from Python, a list or tuple), or, from JSON, the form
pydantic-numpy writes: ``{"data_type": "float64", "data": [...], "shape": [...]}``.
Without the guard pydantic-numpy would load any file a path names, build an array
of whatever dtype a document asks for (a 300-byte file can ask for gigabytes), and
fail on malformed documents with errors that are not ``ValueError``.

``network.py`` and ``create_data.py`` both store arrays in models and must not
import each other, so the guarded types live here, once.
"""

from typing import Annotated

import numpy as np
from pydantic import BeforeValidator, ValidationInfo
from pydantic_numpy.typing import Np1DArrayFp64, Np2DArrayFp64

_ARRAY_KEYS = {"data_type", "data", "shape"}
_EXPECTED = 'expected an array, in JSON {"data_type": "float64", "data": [...], "shape": [...]}'


def _plain_array(value: object, info: ValidationInfo) -> object:
    """Let through arrays, Python sequences, and JSON float64 array documents; refuse the rest."""
    if isinstance(value, np.ndarray) or (info.mode == "python" and isinstance(value, list | tuple)):
        return value
    if not isinstance(value, dict) or not set(value) <= _ARRAY_KEYS:
        raise ValueError(f"{_EXPECTED}, got {type(value).__name__}")
    if value.get("data_type") != "float64" or not isinstance(value.get("data"), list):
        raise ValueError(f"{_EXPECTED}, got data_type {value.get('data_type')!r}")
    shape = value.get("shape")
    if shape is not None and not (
        isinstance(shape, list) and all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape)
    ):
        raise ValueError(f"{_EXPECTED}, got shape {shape!r}")
    return value


Float64Vector = Annotated[Np1DArrayFp64, BeforeValidator(_plain_array)]
"""A 1-D float64 array field."""

Float64Matrix = Annotated[Np2DArrayFp64, BeforeValidator(_plain_array)]
"""A 2-D float64 array field."""
