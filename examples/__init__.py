"""Short scripts that train glassnet on the problems classic from-scratch networks are shown on.

Run them from the repository root, as modules (they import ``glassnet``, and share ``examples.plotting``)::

    python -m examples.xor          # XOR: softmax and sigmoid heads, full batch and online
    python -m examples.iris         # Iris: softmax head, minibatches, Xavier and He initialization
    python -m examples.two_moons --plot moons.png   # two moons: L2 and a decision boundary

Each prints what it measured and ends with a line ``accuracy: ...``; each ``main`` returns it.
"""
