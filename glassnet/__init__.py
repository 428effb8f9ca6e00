"""glassnet: a typed, NumPy-only dense network whose every gradient can be seen.

    from glassnet import Network, TabularModel, get_data

The names a user needs (those the README, the guides, the notebook, the examples and the
contract use) are attributes of this package, and ``__all__`` lists them all but the
scikit-learn estimators: those subclass scikit-learn's, so they are imported on first use, and
``from glassnet import *`` works without scikit-learn. Every other name stays in the module
that defines it (``glassnet.buffers.StepBuffers``); asked of the package, a name it used to
export still comes, with a ``DeprecationWarning`` that says where it lives. Nothing else here
needs an optional package.

The modules, from the bottom up (each imports only those before it):

- ``rules``, ``fields``: argument rules and the ``Settings`` base; float64 arrays and their record fields
- ``fingerprints``, ``files``: what a checkpoint knows of its data; atomic files, locks, validated reading
- ``buffers``, ``health``: step buffers; unit health, counted from what a step leaves in them
- ``functions``, ``optim``: activation and head tables, optimizers
- ``diagnosis``, ``records``: the typed records, and what a history says about itself
- ``layout``, ``step``: where each layer sits in the flat vectors; one training step, forward and backward,
  in the order of the math
- ``network``: the network a user holds: the checks of its inputs, its calls, persistence, the gradient check
- ``settings``, ``epochs``: a run's settings and its epochs
- ``checkpoints``: the checkpoint format, its history log, and the files a run writes in the background
- ``training``: the run: the epoch loop, patience, divergence
- ``callbacks``: what happens around a training (printing, checkpoints, stopping), as objects given to ``fit``
- ``reading``, ``tables``, ``encoding``: a table read from a file; its rows checked once and split; its columns
  encoded as a network's inputs and targets
- ``data``: the housing data
- ``selection``: choosing a table's network on its training rows (`Selection`, `Candidate`)
- ``rows``: `RowReport`, what training said about every row of a table
- ``bundles``: a table model's files, the bundle and the tabular checkpoint
- ``tabular``: `TabularModel`
- ``cli``: the command line (``cli.options``, ``cli.resume``, ``cli.report``, ``cli.run``); ``export``, ``sklearn``:
  the bridges to PyTorch, ONNX and scikit-learn
"""

import importlib
import warnings
from typing import TYPE_CHECKING, Any

from glassnet.callbacks import Callback
from glassnet.data import FEATURES, TARGET, TRUE_COEFFICIENTS, get_data, make_housing
from glassnet.diagnosis import Diagnosis, Finding
from glassnet.encoding import Standardizer
from glassnet.export import from_torch, to_onnx, to_torch
from glassnet.functions import ACTIVATIONS, Activation, Head, register_activation
from glassnet.network import Network, gradient_check
from glassnet.optim import SGD, Adam, Momentum, Optimizer
from glassnet.reading import DataNote, read_table
from glassnet.records import (
    EpochRecord,
    FeatureEffect,
    FeatureEffects,
    GradientCheckReport,
    GradientRecord,
    LayerGradients,
    LayerParams,
    RowMeasures,
    TrainingHistory,
)
from glassnet.rows import RowReport
from glassnet.selection import Candidate, CandidateScore, Selection
from glassnet.settings import TrainingSettings
from glassnet.tables import split_rows
from glassnet.tabular import TabularModel, WriteCheckpoints
from glassnet.training import TrainingDiverged, TrainingRun

if TYPE_CHECKING:
    from glassnet.sklearn import GlassnetClassifier as GlassnetClassifier
    from glassnet.sklearn import GlassnetRegressor as GlassnetRegressor

_ON_FIRST_USE = {"GlassnetClassifier": "glassnet.sklearn", "GlassnetRegressor": "glassnet.sklearn"}

_MOVED = {
    **dict.fromkeys(("ArrayMaker", "LayerBuffers", "StepBuffers"), "glassnet.buffers"),
    **dict.fromkeys(("Bundle", "TabularCheckpoint"), "glassnet.bundles"),
    **dict.fromkeys(("DataFingerprint", "RandomState", "TrainingCheckpoint"), "glassnet.checkpoints"),
    "price_bands": "glassnet.data",
    **dict.fromkeys(("TableEncoding", "TargetEncoding", "Task"), "glassnet.encoding"),
    "ArrayFingerprint": "glassnet.fingerprints",
    **dict.fromkeys(("HEADS", "LEAKY_RELU_SLOPE", "ActivationFunction", "HeadFunction"), "glassnet.functions"),
    **dict.fromkeys(("Init", "NetworkDocument"), "glassnet.network"),
    **dict.fromkeys(("OPTIMIZERS", "AdamState", "MomentumState", "OptimizerName"), "glassnet.optim"),
    "DataError": "glassnet.reading",
    "InputScales": "glassnet.records",
    "TrainingOptions": "glassnet.settings",
    **dict.fromkeys(("TABULAR_TRAINING", "NotFittedError"), "glassnet.tabular"),
}
"""The names the package exported and no longer does, each with the module that holds it: what a user rarely needs
(the step's buffers, the file formats and their parts, the optimizers' states, the tables' encodings)."""


def __getattr__(name: str) -> Any:
    """The scikit-learn estimators, imported when first asked for (they need scikit-learn); a name of ``_MOVED``
    from its module, with a warning that says which."""
    if name in _MOVED:
        module = _MOVED[name]
        warnings.warn(
            f"glassnet.{name}: import it from {module} (from {module} import {name}); "
            "the package exports only the names in glassnet.__all__",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(importlib.import_module(module), name)
    if name not in _ON_FIRST_USE:
        raise AttributeError(f"module 'glassnet' has no attribute {name!r}")
    return getattr(importlib.import_module(_ON_FIRST_USE[name]), name)


__all__ = [
    "ACTIVATIONS",
    "FEATURES",
    "SGD",
    "TARGET",
    "TRUE_COEFFICIENTS",
    "Activation",
    "Adam",
    "Callback",
    "Candidate",
    "CandidateScore",
    "DataNote",
    "Diagnosis",
    "EpochRecord",
    "FeatureEffect",
    "FeatureEffects",
    "Finding",
    "GradientCheckReport",
    "GradientRecord",
    "Head",
    "LayerGradients",
    "LayerParams",
    "Momentum",
    "Network",
    "Optimizer",
    "RowMeasures",
    "RowReport",
    "Selection",
    "Standardizer",
    "TabularModel",
    "TrainingDiverged",
    "TrainingHistory",
    "TrainingRun",
    "TrainingSettings",
    "WriteCheckpoints",
    "from_torch",
    "get_data",
    "gradient_check",
    "make_housing",
    "read_table",
    "register_activation",
    "split_rows",
    "to_onnx",
    "to_torch",
]
