"""Fingerprints: what a checkpoint remembers of the data it trained on, and how data given later
differs from it, in words."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Self, TypeVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from glassnet.fields import FloatArray


class Fingerprint(BaseModel):
    """What tells a piece of data from any other: its size (in a subclass's fields) and a SHA-256 of its content."""

    model_config = ConfigDict(frozen=True)

    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")

    def size(self) -> str:
        """The size in words, as a message names it: ``"shape (50, 4)"``."""
        raise NotImplementedError

    def size_difference(self, other: Self, name: str) -> str | None:
        """How the size of ``other`` (given now, as ``name``) differs from this one's (recorded), or ``None``."""
        raise NotImplementedError

    def difference(self, other: Self, name: str) -> str | None:
        """How ``other`` (given now, as ``name``) differs from this one (recorded), or ``None``."""
        if (size := self.size_difference(other, name)) is not None:
            return size
        return None if other.sha256 == self.sha256 else f"{name} has the checkpoint's {self.size()} but other values"


class ArrayFingerprint(Fingerprint):
    """An array's shape and the SHA-256 of its float64 bytes."""

    shape: tuple[int, ...]

    @classmethod
    def of(cls, array: FloatArray) -> Self:
        """The fingerprint of a validated float64 array."""
        return cls(shape=array.shape, sha256=hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest())

    def size(self) -> str:
        return f"shape {self.shape}"

    def size_difference(self, other: Self, name: str) -> str | None:
        return (
            None if other.shape == self.shape else f"{name} has shape {other.shape}, the checkpoint's had {self.shape}"
        )


FingerprintT = TypeVar("FingerprintT", bound=Fingerprint)


def fingerprint_differences(pairs: Iterable[tuple[str, FingerprintT | None, FingerprintT | None]]) -> list[str]:
    """What differs between data recorded and data given now, in words, for ``(name, recorded, given)`` pairs.

    Either may be absent (no validation data, say): one absent and not the other is a difference.
    """
    found: list[str] = []
    for name, recorded, given in pairs:
        if recorded is None or given is None:
            if recorded is not given:
                found.append(
                    f"{name} is {'missing' if given is None else 'given'}; the checkpoint's run had "
                    f"{'none' if recorded is None else 'one'}"
                )
        elif (difference := recorded.difference(given, name)) is not None:
            found.append(difference)
    return found
