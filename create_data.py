"""The door from a checkout into glassnet's data: ``import create_data`` as before the package.

The library is the ``glassnet`` package (``from glassnet import get_data``); this file only
re-exports the names it had when it held them, for code written against a checkout.
"""

from glassnet import (
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

__all__ = [
    "FEATURES",
    "TARGET",
    "TRUE_COEFFICIENTS",
    "DataError",
    "DataNote",
    "Standardizer",
    "TableEncoding",
    "TargetEncoding",
    "Task",
    "get_data",
    "make_housing",
    "price_bands",
    "read_table",
    "split_rows",
]
