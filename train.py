"""The door from a checkout into glassnet's command line: ``python train.py`` is ``glassnet``.

    python train.py --help

Everything happens in ``glassnet.cli``; ``train.main`` is kept for code written against a checkout.
"""

import sys

from glassnet.cli import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
