"""The door from a checkout into glassnet's data: ``import create_data`` as before the package.

    python create_data.py --rows 2000 --out homes.csv     # the housing table, as a CSV to train on

The library is the ``glassnet`` package (``from glassnet import get_data``); this file only
re-exports the names it had when it held them, and runs ``glassnet.cli.write_housing``.
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

if __name__ == "__main__":
    import sys

    from glassnet.cli import write_housing

    sys.exit(write_housing())
