"""Training curves and confusion matrices as PNG files.

    from .curves import plot_history, plot_confusion
    plot_history(trainer.history, "runs/demo/curves.png", title="shallow")
    plot_confusion(cm, CLASS_NAMES, "runs/demo/confusion.png")

Figures are built with ``matplotlib.figure.Figure`` and the Agg canvas (no
pyplot global state, no display needed). matplotlib is imported on first use;
without it a MiniCNNError says how to install it.
"""
from pathlib import Path

import numpy as np

from ..backend import to_numpy
from ..extras import require
from ..training.metrics import normalize_confusion


def matplotlib_figure_classes():
    """(Figure, FigureCanvasAgg), or a MissingExtra naming the extra to install."""
    return (require("matplotlib.figure", "plots").Figure,
            require("matplotlib.backends.backend_agg", "plots").FigureCanvasAgg)


def _save(fig, canvas_cls, path):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    canvas_cls(fig)
    fig.savefig(path, dpi=120)
    return path


def _smooth(values, window):
    """Trailing moving average of ``values`` over ``window`` points (shorter at the start)."""
    values = np.asarray(values, dtype=np.float64)
    if len(values) == 0 or window <= 1:
        return values
    csum = np.concatenate([[0.0], np.cumsum(values)])
    idx = np.arange(1, len(values) + 1)
    start = np.maximum(0, idx - window)
    return (csum[idx] - csum[start]) / (idx - start)


def plot_history(history, path, title=None):
    """Two panels from a Trainer history: loss per iteration, and accuracy per epoch.

    Left: every minibatch loss (light), its moving average, and the per-epoch
    training-subset and validation losses at the iteration each epoch ended.
    Right: training and validation accuracy against iterations (the paper's
    plot), the best validation epoch starred, epochs on the top axis.
    Returns the path written.
    """
    Figure, Canvas = matplotlib_figure_classes()
    fig = Figure(figsize=(11, 4.2), layout="constrained")
    ax_loss, ax_acc = fig.subplots(1, 2)
    it_loss = np.asarray(history.get("iter_loss", []), dtype=np.float64)
    ends = np.asarray(history.get("iterations", []), dtype=np.float64)
    if len(it_loss):
        x = np.arange(1, len(it_loss) + 1)
        window = max(1, len(it_loss) // 50)
        ax_loss.plot(x, it_loss, color="tab:blue", alpha=0.25 if window > 1 else 1.0, lw=0.8,
                     label="minibatch loss (train mode, with L2)")
        if window > 1:
            ax_loss.plot(x, _smooth(it_loss, window), color="tab:blue", lw=1.6,
                         label=f"moving average ({window} it.)")
    for key, color, label in (("train_loss", "tab:orange", "train (eval mode)"),
                              ("val_loss", "tab:green", "validation")):
        values = [np.nan if v is None else v for v in history.get(key, [])]
        if len(values) and not np.all(np.isnan(values)):
            ax_loss.plot(ends[:len(values)], values, "o-", color=color, ms=3.5, lw=1.2, label=label)
    ax_loss.set(title="loss", xlabel="iteration", ylabel="cross-entropy loss")
    ax_loss.grid(alpha=0.3)
    if ax_loss.lines:
        ax_loss.legend(fontsize=8)

    for key, color, label in (("train_acc", "tab:orange", "train"), ("val_acc", "tab:green", "validation")):
        values = [np.nan if v is None else v for v in history.get(key, [])]
        if len(values) and not np.all(np.isnan(values)):
            ax_acc.plot(ends[:len(values)], np.asarray(values) * 100, "o-", color=color, ms=3.5, lw=1.2,
                        label=label)
    val = [np.nan if v is None else v for v in history.get("val_acc", [])]
    if len(val) and not np.all(np.isnan(val)):
        best = int(np.nanargmax(val))
        ax_acc.plot(ends[best], val[best] * 100, "*", color="tab:red", ms=13,
                    label=f"best val {val[best] * 100:.1f}% (epoch {best + 1})")
    ax_acc.set(title="accuracy", xlabel="iteration", ylabel="accuracy (%)")
    ax_acc.grid(alpha=0.3)
    if len(ends):
        top = ax_acc.secondary_xaxis("top")
        ticks = np.linspace(0, len(ends) - 1, min(len(ends), 8)).round().astype(int)
        top.set_xticks(ends[ticks], [str(i + 1) for i in ticks])
        top.set_xlabel("epoch", fontsize=8)
    if ax_acc.lines:
        ax_acc.legend(fontsize=8, loc="lower right")
    if title:
        fig.suptitle(title)
    return _save(fig, Canvas, path)


def plot_confusion(cm, class_names, path, title=None, normalize=True):
    """A confusion matrix as a heat map: rows are true classes, columns predictions.

    With ``normalize`` each row is shown as percentages of that class (the
    diagonal is the per-class accuracy) and each cell is annotated with the
    percentage and the count; a colorbar gives the scale. Returns the path written.
    """
    Figure, Canvas = matplotlib_figure_classes()
    cm = np.asarray(to_numpy(cm))
    n = cm.shape[0]
    names = list(class_names) if len(class_names) == n else [str(i) for i in range(n)]
    shown = normalize_confusion(cm) * 100 if normalize else cm.astype(np.float64)
    size = 1.0 + 0.75 * n
    fig = Figure(figsize=(size + 1.4, size), layout="constrained")
    ax = fig.subplots()
    image = ax.imshow(shown, cmap="Blues", vmin=0, vmax=100 if normalize else None)
    cbar = fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    cbar.set_label("% of the true class" if normalize else "images")
    high = np.nanmax(shown) if np.isfinite(shown).any() else 0
    for i in range(n):
        for j in range(n):
            if np.isnan(shown[i, j]):
                continue
            text = f"{shown[i, j]:.0f}%\n{int(cm[i, j])}" if normalize else f"{int(cm[i, j])}"
            ax.text(j, i, text, ha="center", va="center", fontsize=7,
                    color="white" if shown[i, j] > 0.6 * high else "black")
    ax.set_xticks(range(n), names, rotation=45, ha="right")
    ax.set_yticks(range(n), names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    total = cm.sum()
    acc = np.trace(cm) / total * 100 if total else float("nan")
    ax.set_title((f"{title}\n" if title else "") + f"accuracy {acc:.1f}% of {int(total)} images", fontsize=10)
    return _save(fig, Canvas, path)
