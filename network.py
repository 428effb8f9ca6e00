"""The door from a checkout into glassnet: ``import network`` gives what it gave before the package.

The library is the ``glassnet`` package (``from glassnet import Network``); this file holds no
code of its own and re-exports every public name of the package, the network's among them, and
the network's names the package keeps in their modules, for code written against a checkout.
"""

from glassnet import *  # noqa: F403  (every name of glassnet.__all__)
from glassnet import __all__ as _package
from glassnet.buffers import ArrayMaker, LayerBuffers, StepBuffers
from glassnet.checkpoints import DataFingerprint, RandomState, TrainingCheckpoint
from glassnet.fingerprints import ArrayFingerprint
from glassnet.functions import HEADS, ActivationFunction, HeadFunction
from glassnet.network import NetworkDocument
from glassnet.optim import AdamState, MomentumState

__all__ = [  # the package's names, then the network's kept in their modules
    *_package,
    "ArrayMaker",
    "LayerBuffers",
    "StepBuffers",
    "DataFingerprint",
    "RandomState",
    "TrainingCheckpoint",
    "ArrayFingerprint",
    "HEADS",
    "ActivationFunction",
    "HeadFunction",
    "NetworkDocument",
    "AdamState",
    "MomentumState",
]
