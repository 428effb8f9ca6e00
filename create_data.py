"""The door from a checkout into glassnet: ``import create_data`` gives what it gave before the package.

    python create_data.py --rows 2000 --out homes.csv     # the housing table, as a CSV to train on

The library is the ``glassnet`` package (``from glassnet import get_data``); this file holds no
code of its own: it re-exports every public name of the package, the data's among them, and the
data's names the package keeps in their modules, and runs ``glassnet.cli.write_housing``.
"""

from glassnet import *  # noqa: F403  (every name of glassnet.__all__)
from glassnet import __all__ as _package
from glassnet.data import price_bands
from glassnet.encoding import TableEncoding, TargetEncoding, Task
from glassnet.reading import DataError

__all__ = [*_package, "DataError", "TableEncoding", "TargetEncoding", "Task", "price_bands"]

if __name__ == "__main__":
    import sys

    from glassnet.cli import write_housing

    sys.exit(write_housing())
