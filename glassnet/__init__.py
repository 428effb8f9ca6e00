"""glassnet: a typed, NumPy-only dense network whose every gradient can be seen.

    from glassnet import Network, TabularModel, get_data

Every public name of the library is an attribute of this package (``__all__`` lists them).
The scikit-learn estimators are imported on first use, since they subclass scikit-learn's
and so need it installed; nothing else here needs an optional package.
"""

from typing import TYPE_CHECKING, Any

from glassnet.export import from_torch, to_onnx, to_torch
from glassnet.network import (
    ACTIVATIONS,
    HEADS,
    LEAKY_RELU_SLOPE,
    OPTIMIZERS,
    SGD,
    Activation,
    ActivationFunction,
    Adam,
    AdamState,
    ArrayFingerprint,
    ArrayMaker,
    DataFingerprint,
    Diagnosis,
    EpochRecord,
    Finding,
    GradientCheckReport,
    GradientRecord,
    Head,
    HeadFunction,
    Init,
    LayerBuffers,
    LayerGradients,
    LayerParams,
    Momentum,
    MomentumState,
    Network,
    NetworkDocument,
    Optimizer,
    OptimizerName,
    RandomState,
    StepBuffers,
    TrainingCheckpoint,
    TrainingDiverged,
    TrainingHistory,
    TrainingRun,
    TrainingSettings,
    gradient_check,
    register_activation,
)
from glassnet.tables import (
    FEATURES,
    TARGET,
    TRUE_COEFFICIENTS,
    DataError,
    DataNote,
    Standardizer,
    TableEncoding,
    TargetEncoding,
    Task,
    get_data,
    make_housing,
    price_bands,
    read_table,
    split_rows,
)
from glassnet.tabular import Bundle, NotFittedError, TabularCheckpoint, TabularModel

if TYPE_CHECKING:
    from glassnet.sklearn import GlassnetClassifier as GlassnetClassifier
    from glassnet.sklearn import GlassnetRegressor as GlassnetRegressor

_ON_FIRST_USE = {"GlassnetClassifier": "glassnet.sklearn", "GlassnetRegressor": "glassnet.sklearn"}


def __getattr__(name: str) -> Any:
    """The scikit-learn estimators, imported when first asked for (they need scikit-learn)."""
    if name not in _ON_FIRST_USE:
        raise AttributeError(f"module 'glassnet' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_ON_FIRST_USE[name]), name)


__all__ = [  # the estimators are left out: `from glassnet import *` must not need scikit-learn
    "ACTIVATIONS",
    "FEATURES",
    "HEADS",
    "LEAKY_RELU_SLOPE",
    "OPTIMIZERS",
    "SGD",
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
    "Finding",
    "GradientCheckReport",
    "GradientRecord",
    "Head",
    "HeadFunction",
    "Init",
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
