"""glassnet: a typed, NumPy-only dense network whose every gradient can be seen.

    from glassnet import Network, TabularModel, get_data

Every public name of the library is an attribute of this package, and ``__all__`` lists them
all but the scikit-learn estimators: those subclass scikit-learn's, so they are imported on
first use, and ``from glassnet import *`` works without scikit-learn. Nothing else here needs
an optional package.

The modules, from the bottom up (each imports only those before it):

- ``rules``, ``fields``: argument rules and the ``Settings`` base; float64 arrays and their record fields
- ``fingerprints``, ``files``: what a checkpoint knows of its data; atomic files, locks, validated reading
- ``buffers``, ``functions``, ``optim``: step buffers, activation and head tables, optimizers
- ``diagnosis``, ``records``: the typed records, and what a history says about itself
- ``step``: one training step, forward and backward, in the order of the math
- ``network``: the network a user holds: its checks, its calls, persistence, the gradient check
- ``settings``, ``epochs``: a run's settings and its epochs
- ``checkpoints``: the checkpoint format, its history log, and the files a run writes in the background
- ``training``: the run: the epoch loop, patience, divergence
- ``tables``, ``data``: reading and encoding tables; the housing data
- ``rows``: `RowReport`, what training said about every row of a table
- ``tabular``: `TabularModel` and its bundle
- ``cli``: the command line; ``export``, ``sklearn``: the bridges to PyTorch, ONNX and scikit-learn
"""

import importlib
from typing import TYPE_CHECKING, Any

from glassnet.buffers import ArrayMaker, LayerBuffers, StepBuffers
from glassnet.checkpoints import DataFingerprint, RandomState, TrainingCheckpoint
from glassnet.data import FEATURES, TARGET, TRUE_COEFFICIENTS, get_data, make_housing, price_bands
from glassnet.diagnosis import Diagnosis, Finding
from glassnet.export import from_torch, to_onnx, to_torch
from glassnet.fingerprints import ArrayFingerprint
from glassnet.functions import (
    ACTIVATIONS,
    HEADS,
    LEAKY_RELU_SLOPE,
    Activation,
    ActivationFunction,
    Head,
    HeadFunction,
    register_activation,
)
from glassnet.network import Init, Network, NetworkDocument, gradient_check
from glassnet.optim import OPTIMIZERS, SGD, Adam, AdamState, Momentum, MomentumState, Optimizer, OptimizerName
from glassnet.records import (
    EpochRecord,
    FeatureEffect,
    FeatureEffects,
    GradientCheckReport,
    GradientRecord,
    InputScales,
    LayerGradients,
    LayerParams,
    RowMeasures,
    TrainingHistory,
)
from glassnet.rows import RowReport
from glassnet.settings import TrainingOptions, TrainingSettings
from glassnet.tables import (
    DataError,
    DataNote,
    Standardizer,
    TableEncoding,
    TargetEncoding,
    Task,
    read_table,
    split_rows,
)
from glassnet.tabular import TABULAR_TRAINING, Bundle, NotFittedError, TabularCheckpoint, TabularModel
from glassnet.training import TrainingDiverged, TrainingRun

if TYPE_CHECKING:
    from glassnet.sklearn import GlassnetClassifier as GlassnetClassifier
    from glassnet.sklearn import GlassnetRegressor as GlassnetRegressor

_ON_FIRST_USE = {"GlassnetClassifier": "glassnet.sklearn", "GlassnetRegressor": "glassnet.sklearn"}


def __getattr__(name: str) -> Any:
    """The scikit-learn estimators, imported when first asked for (they need scikit-learn)."""
    if name not in _ON_FIRST_USE:
        raise AttributeError(f"module 'glassnet' has no attribute {name!r}")
    return getattr(importlib.import_module(_ON_FIRST_USE[name]), name)


__all__ = [
    "ACTIVATIONS",
    "FEATURES",
    "HEADS",
    "LEAKY_RELU_SLOPE",
    "OPTIMIZERS",
    "SGD",
    "TABULAR_TRAINING",
    "TARGET",
    "TRUE_COEFFICIENTS",
    "Activation",
    "ActivationFunction",
    "Adam",
    "AdamState",
    "ArrayFingerprint",
    "ArrayMaker",
    "Bundle",
    "DataError",
    "DataFingerprint",
    "DataNote",
    "Diagnosis",
    "EpochRecord",
    "FeatureEffect",
    "FeatureEffects",
    "Finding",
    "GradientCheckReport",
    "GradientRecord",
    "Head",
    "HeadFunction",
    "Init",
    "InputScales",
    "LayerBuffers",
    "LayerGradients",
    "LayerParams",
    "Momentum",
    "MomentumState",
    "Network",
    "NetworkDocument",
    "NotFittedError",
    "Optimizer",
    "OptimizerName",
    "RandomState",
    "RowMeasures",
    "RowReport",
    "Standardizer",
    "StepBuffers",
    "TableEncoding",
    "TabularCheckpoint",
    "TabularModel",
    "TargetEncoding",
    "Task",
    "TrainingCheckpoint",
    "TrainingDiverged",
    "TrainingHistory",
    "TrainingOptions",
    "TrainingRun",
    "TrainingSettings",
    "from_torch",
    "get_data",
    "gradient_check",
    "make_housing",
    "price_bands",
    "read_table",
    "register_activation",
    "split_rows",
    "to_onnx",
    "to_torch",
]
