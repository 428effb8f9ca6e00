"""Train a glassnet network from the command line, on the housing data or your own table.

    python train.py                                  # the linear 4-10-25-1 net on 10,000 houses
    python train.py --task multiclass --activation relu --optimizer adam
    python train.py --csv homes.csv --target price --drop id --patience 10 --save model.json
    python train.py --model model.json --predict new_homes.csv --output priced.csv
    python train.py --epochs 5000 --gradients --checkpoint run.json   # killed? go on:
    python train.py --resume run.json

Installed (``pip install .``), the same command is ``glassnet``. This is the only package that parses
arguments or prints: `glassnet.tabular.TabularModel` does the work and returns values, raises errors and
warns notes; here they become tables on standard output, notes on standard error and, for bad input, one
line on standard error with exit status 1.

Its rooms: `glassnet.cli.options` (the parser and the table of options), `glassnet.cli.resume` (a resumed
run's options reconciled with its checkpoint), `glassnet.cli.report` (what is printed and written) and
`glassnet.cli.run` (reading the data, training with the callbacks that print, write checkpoints and stop,
predicting, and the exit status).
"""

from glassnet.cli.options import (
    COMMAND_LINE_OPTIONS,
    DEFAULTS,
    OPTIONS,
    OUTPUT_OPTIONS,
    RUN_OPTIONS,
    build_parser,
    parse_args,
    shown_default,
)
from glassnet.cli.report import significant
from glassnet.cli.resume import FOLDER
from glassnet.cli.run import INTERRUPTED, READER_GONE, BetweenEpochs, main, one_blas_thread, write_housing

__all__ = [
    "COMMAND_LINE_OPTIONS",
    "DEFAULTS",
    "FOLDER",
    "INTERRUPTED",
    "OPTIONS",
    "OUTPUT_OPTIONS",
    "READER_GONE",
    "RUN_OPTIONS",
    "BetweenEpochs",
    "build_parser",
    "main",
    "one_blas_thread",
    "parse_args",
    "shown_default",
    "significant",
    "write_housing",
]
