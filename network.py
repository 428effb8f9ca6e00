"""The door from a checkout into glassnet: ``import network`` gives what it gave before the package.

The library is the ``glassnet`` package (``from glassnet import Network``); this file holds no
code of its own and re-exports every public name of the package, the network's among them, for
code written against a checkout.
"""

from glassnet import *  # noqa: F403  (every name of glassnet.__all__)
from glassnet import __all__ as __all__
