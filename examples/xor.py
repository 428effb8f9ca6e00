"""XOR: the smallest problem a network needs a hidden layer for.

    python -m examples.xor

No straight line separates {(0, 1), (1, 0)} from {(0, 0), (1, 1)}, so a network
without a hidden layer gets at most 3 of the 4 points right. A 2-8-k tanh network
gets all 4, with either classification head and either way of stepping:

- softmax head (2 outputs, cross-entropy) or sigmoid head (1 output, binary cross-entropy);
- full batch (one update per epoch) or online, ``batch_size=1`` (one update per point,
  in a fresh random order every epoch).
"""

from dataclasses import dataclass
from typing import Literal

import numpy as np

from glassnet import Network

XOR_INPUTS = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_LABELS = np.array([0, 1, 1, 0])
HIDDEN_UNITS = 8


@dataclass(frozen=True)
class Variant:
    """One way of training the XOR network."""

    head: Literal["sigmoid", "softmax"]
    batch_size: int | None
    epochs: int
    learning_rate: float

    @property
    def name(self) -> str:
        """E.g. ``"softmax head, online"``."""
        stepping = "full batch" if self.batch_size is None else "online"
        return f"{self.head} head, {stepping}"


VARIANTS = (
    Variant("softmax", batch_size=None, epochs=1000, learning_rate=0.5),
    Variant("sigmoid", batch_size=None, epochs=1000, learning_rate=0.5),
    Variant("softmax", batch_size=1, epochs=500, learning_rate=0.1),
    Variant("sigmoid", batch_size=1, epochs=500, learning_rate=0.1),
)


def train(variant: Variant, *, seed: int = 0) -> Network:
    """A 2-8-k tanh network fitted to the four XOR points as ``variant`` says."""
    n_outputs = 2 if variant.head == "softmax" else 1
    net = Network([2, HIDDEN_UNITS, n_outputs], activation="tanh", head=variant.head, seed=seed)
    net.fit(
        XOR_INPUTS,
        XOR_LABELS,
        epochs=variant.epochs,
        learning_rate=variant.learning_rate,
        batch_size=variant.batch_size,
        record_every=variant.epochs,
    )
    return net


def main() -> dict[str, float]:
    """Train every variant, print its predictions, and return its accuracy by name."""
    without_hidden = Network([2, 1], head="sigmoid", seed=0)
    without_hidden.fit(XOR_INPUTS, XOR_LABELS, epochs=1000, learning_rate=0.5)
    print(f"for contrast, no hidden layer: accuracy {without_hidden.score(XOR_INPUTS, XOR_LABELS):.3f}")

    accuracies: dict[str, float] = {}
    for variant in VARIANTS:
        net = train(variant)
        accuracies[variant.name] = net.score(XOR_INPUTS, XOR_LABELS)
        print(
            f"{variant.name:<24} predicts {net.predict(XOR_INPUTS).tolist()} "
            f"for {XOR_LABELS.tolist()}: accuracy {accuracies[variant.name]:.3f}"
        )
    print(f"accuracy: {min(accuracies.values()):.3f}")
    return accuracies


if __name__ == "__main__":
    main()
