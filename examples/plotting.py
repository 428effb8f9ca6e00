"""The decision-boundary plot shared by the examples and the notebook."""

import numpy as np
import numpy.typing as npt
from matplotlib.axes import Axes

from glassnet import Network


def plot_decision_boundary(
    axes: Axes,
    net: Network,
    X: npt.NDArray[np.float64],
    labels: npt.NDArray[np.int64],
    *,
    title: str = "",
    resolution: int = 200,
) -> None:
    """Shade the plane by the class ``net`` predicts and scatter the points ``X`` (n, 2) by ``labels`` (n,).

    The network is evaluated on a ``resolution`` x ``resolution`` grid covering
    the points plus a margin; the boundary is where the shading changes.
    """
    margin = 0.5
    low, high = X.min(axis=0) - margin, X.max(axis=0) + margin
    grid_x, grid_y = np.meshgrid(np.linspace(low[0], high[0], resolution), np.linspace(low[1], high[1], resolution))
    grid_labels = net.predict(np.column_stack([grid_x.ravel(), grid_y.ravel()])).reshape(grid_x.shape)
    n_classes = max(2, net.layer_sizes[-1])
    class_edges = np.arange(n_classes + 1) - 0.5
    axes.contourf(grid_x, grid_y, grid_labels, levels=class_edges, cmap="coolwarm", alpha=0.35)
    axes.scatter(
        X[:, 0],
        X[:, 1],
        c=labels,
        cmap="coolwarm",
        vmin=0,
        vmax=n_classes - 1,
        s=14,
        edgecolors="black",
        linewidths=0.3,
    )
    axes.set(xlabel="$x_1$", ylabel="$x_2$", title=title)
    axes.set_aspect("equal")
