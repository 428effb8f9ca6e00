"""Which rows are wrong: `RowReport`, what training said about every row of a table, in the table's own terms.

`TabularModel.row_report` makes one from the `RowMeasures` a run kept (``keep_rows=True``): one entry per
row under the frame's own index labels, with the given target, the model's prediction, the measures, a
score, a rank and whether the row is a suspect. This module knows nothing of networks or of how the
measures were taken: it is given them.

The score and the cutoff, with their reasons (figures: ``python bench/rows.py --seeds 10``):

- **Measures: every network's that measured the rows, averaged** (`RowPart.averaged`). A classifier
  that chooses has each candidate measure every row (`glassnet.selection.choose`; a regression its winner
  alone, whose residuals a shifted target stands out in), the relu candidate in two
  runs (`glassnet.selection.MEASURE_RUNS`), each run one network of the average. One network sees what it
  can fit: the linear one alone ranked flipped labels 0.03 to 0.09 below cleanlab's best anchor on iris,
  digits and a generated table, whose classes a relu network fits; a relu network alone memorizes a
  small table and flags few of its wrong labels. Averaged, the three ranked at 0.918 precision@k against
  the best anchor's 0.852 (cleanlab on 5-fold logistic-regression probabilities), within 0.01 of the best
  anchor on every table.
- **Score: the row's loss averaged over the recorded epochs** (regression: its root, in the target's
  units). A network that can memorize ends up fitting wrong labels too, so its final loss hides them
  (a relu network's ranked flipped labels at 0.67 precision); averaged over training, a wrong label
  stays costly through the epochs before it is memorized.
- **Suspect, for a classifier: a mean margin below 0** (`SUSPECT_MARGIN`): averaged over the recorded
  epochs (and the networks), the logit for the given label fell short of another label's. It needs no
  count of wrong rows, and flags about as many rows as are wrong (F1 0.865 against cleanlab with
  logistic regression's 0.769).
- **Suspect, for a regression: a root mean loss beyond `OUTLIER_SPREAD` times the rows' typical one**,
  measured robustly (the median root mean loss over 0.6745, the standard deviation of a normal error
  that has that median): rows the network missed by far more than it missed the rest.

Rows held out for patience are scored alike, by the network that never trained on them; they are marked
``held_out``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd
from tabulate import tabulate

from glassnet.reading import DataError
from glassnet.records import RowMeasures, pyplot

if TYPE_CHECKING:
    from matplotlib.axes import Axes

SUSPECT_MARGIN = 0.0
"""A classifier's row is a suspect when its mean margin (the given label's logit less the largest other,
averaged over the recorded epochs) is below this: the network, on average, put another label first."""
OUTLIER_SPREAD = 3.0
"""A regression row is a suspect when its root mean loss exceeds this many robust standard deviations of
the rows' errors: a normal error goes that far on 0.3% of rows."""
NORMAL_MEDIAN = 0.6745
"""The median of the absolute value of a standard normal: the typical error is the median over this."""
MEASURES = ("mean_loss", "loss_std", "mean_margin", "last_loss")
"""The measures of `RowMeasures` a report holds for each row, in its units."""


def unique_labels(index: pd.Index, name: str) -> None:
    """Refuse an ``index`` whose labels repeat, naming them: a report gives each row under its own label."""
    repeated = index[index.duplicated()].unique()
    if len(repeated):
        shown = ", ".join(map(repr, repeated[:5])) + (", ..." if len(repeated) > 5 else "")
        raise DataError(
            f"{name}: expected one row per index label to report rows under, got the label(s) {shown} on more than "
            "one row; give each row its own label (frame.reset_index(drop=True) numbers them 0, 1, ...)"
        )


@dataclass(frozen=True)
class RowPart:
    """Rows measured alike: their feature columns and given targets (the table's own values), the model's
    predictions, their `RowMeasures` from each network that measured them (one, or each candidate of a
    model that chose), and whether the network never trained on them (``held_out``)."""

    rows: pd.DataFrame
    given: pd.Series
    predicted: np.ndarray
    measures: tuple[RowMeasures, ...]
    held_out: bool

    def averaged(self, name: str) -> np.ndarray:
        """(n,) the measure ``name`` (a `RowMeasures` field, or ``loss_std``) averaged over the networks."""
        averaged: np.ndarray = np.mean([getattr(measures, name) for measures in self.measures], axis=0)
        return averaged


@dataclass(frozen=True, repr=False)
class RowReport:
    """What training said about every row of a table, in its own terms: one row per row, most suspect first.

    Make one with `TabularModel.row_report`. ``frame`` holds, under the table's index labels, the row's
    feature columns and given target (its own values), then ``prediction``, the measures (``mean_loss``,
    ``loss_std``, ``mean_margin`` for a classifier, ``last_loss``: a classifier's in nats, a regression's
    squared errors in the target's units squared), ``confidence`` (a classifier's ``exp(-mean_loss)``, the
    geometric mean of the probability given to the row's label) or ``error`` (a regression's root mean loss,
    in the target's units), ``score``, ``rank`` (1: most suspect), ``suspect``, ``held_out`` and ``reason``
    (words for a suspect, else empty). See the module's notes for the score and the cutoff.
    """

    frame: pd.DataFrame
    target: str
    task: Literal["regression", "binary", "multiclass"]
    epochs: int
    networks: int = 1
    """How many networks measured the rows (each candidate of a model that chose); the measures are their
    averages."""

    @classmethod
    def of(
        cls, target: str, task: Literal["regression", "binary", "multiclass"], parts: list[RowPart], scale: float
    ) -> RowReport:
        """The report of ``parts`` (training rows, then rows held out) of a ``task`` model of ``target``;
        ``scale`` is a regression target's standard deviation, by which its losses come back to its units."""
        frames = []
        for part in parts:
            columns: dict[str, object] = {target: part.given.to_numpy(), "prediction": part.predicted}
            mean_loss = part.averaged("mean_loss")
            if task == "regression":
                columns |= {
                    "mean_loss": mean_loss * scale**2,
                    "loss_std": part.averaged("loss_std") * scale**2,
                    "last_loss": part.averaged("last_loss") * scale**2,
                    "error": np.sqrt(mean_loss) * scale,
                }
            else:
                columns |= {
                    "mean_loss": mean_loss,
                    "loss_std": part.averaged("loss_std"),
                    "mean_margin": part.averaged("mean_margin"),
                    "last_loss": part.averaged("last_loss"),
                    "confidence": np.exp(-mean_loss),
                }
            measured = pd.DataFrame(columns, index=part.rows.index)
            measured["held_out"] = part.held_out
            frames.append(part.rows.drop(columns=target, errors="ignore").join(measured))
        frame = pd.concat(frames)
        regression, typical = task == "regression", math.nan
        frame["score"] = frame["error"] if regression else frame["mean_loss"]
        if regression:
            typical = float(frame["error"].median()) / NORMAL_MEDIAN
            frame["suspect"] = frame["error"] > OUTLIER_SPREAD * typical
        else:
            frame["suspect"] = frame["mean_margin"] < SUSPECT_MARGIN
        frame = frame.iloc[np.argsort(-frame["score"].to_numpy(), kind="stable")]
        frame["rank"] = np.arange(1, len(frame) + 1)
        epochs, networks = parts[0].measures[0].epochs, len(parts[0].measures)
        frame["reason"] = [
            _reason(row, target, epochs, networks, typical if regression else math.nan) if row["suspect"] else ""
            for _, row in frame.iterrows()
        ]
        last = ["score", "rank", "suspect", "held_out", "reason"]
        frame = frame[[*(name for name in frame.columns if name not in last), *last]]
        return cls(frame, target, task, epochs, networks)

    def ranking(self) -> pd.Index:
        """Every row's index label, most suspect first."""
        return self.frame.index

    def suspects(self) -> pd.DataFrame:
        """The flagged rows, most suspect first, with the ``reason`` in words (the columns of `to_frame`)."""
        return self.frame[self.frame["suspect"]].copy()

    def to_frame(self) -> pd.DataFrame:
        """Every row, most suspect first: the table's own columns, then the prediction, the measures, ``score``,
        ``rank``, ``suspect``, ``held_out`` and ``reason``; the order a CSV of the report has."""
        return self.frame.copy()

    def table(self, n: int = 10) -> str:
        """The ``n`` most suspect rows beside their given targets and predictions, as text."""
        shown = self.frame.head(n)
        columns = [self.target, "prediction", "score", "suspect", "held_out"]
        headers = ["rank", "row", "given " + self.target, "prediction", self._score_name(), "suspect", "held out"]
        rows = [
            (rank, label, *values)
            for rank, label, values in zip(
                shown["rank"], shown.index, shown[columns].itertuples(index=False), strict=True
            )
        ]
        return tabulate(rows, headers=headers, tablefmt="simple", floatfmt=".4g")

    def _score_name(self) -> str:
        return "RMS error" if self.task == "regression" else "mean loss"

    def __repr__(self) -> str:
        held_out = int(self.frame["held_out"].sum())
        first = ", ".join(map(repr, self.frame.index[:3]))
        by = "" if self.networks == 1 else f" of {self.networks} networks"
        return (
            f"RowReport({self.target!r}: {len(self.frame):,} rows ({held_out:,} held out) over {self.epochs} recorded "
            f"epochs{by}, {int(self.frame['suspect'].sum()):,} suspects; most suspect {first})"
        )

    def plot(self, ax: Axes | None = None) -> Axes:
        """The map of the rows (dataset cartography): each row's variability (the standard deviation of its loss
        over the recorded epochs) against its mean confidence (a classifier's ``confidence``; a regression's
        ``error``, in the target's units), the suspects marked. Draws on ``ax`` or a new figure's axes.

        Needs matplotlib (`glassnet.records.pyplot`).
        """
        plt = pyplot("RowReport.plot")

        axes = plt.subplots(figsize=(6, 4.5))[1] if ax is None else ax
        regression = self.task == "regression"
        height = "error" if regression else "confidence"
        others, suspects = self.frame[~self.frame["suspect"]], self.frame[self.frame["suspect"]]
        axes.scatter(others["loss_std"], others[height], s=12, alpha=0.4, label=f"other rows ({len(others):,})")
        axes.scatter(
            suspects["loss_std"], suspects[height], s=24, marker="x", color="tab:red",
            label=f"suspects ({len(suspects):,})",
        )  # fmt: skip
        axes.set(
            xlabel="variability: std of the row's loss over the recorded epochs",
            ylabel=f"RMS error ({self.target})" if regression else "confidence: exp(-mean loss)",
            title=f"rows of {self.target!r} over {self.epochs} recorded epochs",
        )
        axes.legend()
        return axes


def _plain(value: object) -> object:
    """A NumPy scalar as the Python value it holds (``'a'``, not ``np.str_('a')``), for words."""
    return value.item() if isinstance(value, np.generic) else value


def _reason(row: pd.Series, target: str, epochs: int, networks: int, typical: float) -> str:
    """Why ``row`` is a suspect, in words; ``networks``: how many measured it."""
    who = "the network" if networks == 1 else f"the {networks} networks"
    if math.isnan(typical):
        return (
            f"given {_plain(row[target])!r}, but over {epochs} recorded epochs {who} put another label ahead "
            f"of it by {-row['mean_margin']:.3g} logits on average; it predicts {_plain(row['prediction'])!r}"
        )
    return (
        f"given {row[target]:.6g}, but {who} missed it by {row['error']:.3g} (root mean square over {epochs} "
        f"recorded epochs), {row['error'] / typical:.1f} times the rows' typical {typical:.3g}; it predicts "
        f"{row['prediction']:.6g}"
    )
