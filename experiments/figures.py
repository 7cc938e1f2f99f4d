"""The paper's figures, redrawn from a run's metrics: training curves and the confusion matrix.

``curves``: training and validation accuracy (left) and loss (right) against
iterations, like the paper's figures 2, 5 and 6, with the paper's validation
accuracy as a dashed line. ``confusion``: the row-normalized test confusion
matrix with class names and the fraction in each cell, like its figures 3 and 4.
Reference lines are drawn only for runs on FER-2013.
Both read only the metrics dict (see ``outputs``), so they can be redrawn later.
"""
import numpy as np

from minicnn.metrics import normalize_confusion

from . import paper


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _title(metrics):
    title = f"{paper.MODEL_TITLES.get(metrics['model'], metrics['model'])} — run {metrics['run_id']}"
    return title + (" (REDUCED)" if metrics["reduced"] else "")


def curves(path, metrics):
    """Write the accuracy and loss curves of ``metrics["history"]`` against iterations to ``path``."""
    plt = _pyplot()
    h = metrics["history"]
    its = np.asarray(h["iterations"], dtype=float)
    fig, (acc_ax, loss_ax) = plt.subplots(1, 2, figsize=(11, 4))
    train_label = "training (fixed subset, at most 2,000 images)"
    acc_ax.plot(its, h["train_acc"], "o-", ms=3, color="C0", label=train_label)
    acc_ax.plot(its, h["val_acc"], "o-", ms=3, color="C1", label="validation")
    best = metrics.get("best_epoch")
    if best:
        acc_ax.axvline(its[best - 1], color="grey", lw=0.8, ls=":", label=f"best epoch {best}")
    references = (("paper", "--"), ("tf", "-.")) if metrics["data"]["kind"] == "fer2013" else ()
    for source, style in references:
        value = (paper.validation_target(metrics["model"]) if source == "paper"
                 else paper.reference(metrics["model"], "tf").get("val"))
        if value is not None:
            acc_ax.axhline(value, color="black" if source == "paper" else "purple", lw=0.8, ls=style,
                           label=f"{'paper' if source == 'paper' else 'TF re-impl.'} validation {100 * value:.1f}%")
    acc_ax.set(xlabel="iteration", ylabel="accuracy", ylim=(0, 1), title="accuracy")
    acc_ax.legend(fontsize=8, loc="lower right")
    iter_loss = np.asarray(h["iter_loss"], dtype=float)
    if iter_loss.size:
        loss_ax.plot(np.arange(1, iter_loss.size + 1), iter_loss, lw=0.5, alpha=0.35, color="C2",
                     label="minibatch (training mode, with L2)")
    loss_ax.plot(its, h["train_loss"], "o-", ms=3, color="C0", label=train_label)
    loss_ax.plot(its, h["val_loss"], "o-", ms=3, color="C1", label="validation")
    loss_ax.set(xlabel="iteration", ylabel="softmax loss", title="loss")
    loss_ax.legend(fontsize=8, loc="upper right")
    for ax in (acc_ax, loss_ax):
        ax.grid(alpha=0.3)
    fig.suptitle(_title(metrics), fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def confusion(path, metrics, split="test"):
    """Write the row-normalized confusion matrix of ``split`` with class names to ``path``."""
    plt = _pyplot()
    cm = normalize_confusion(np.asarray(metrics[split]["confusion_matrix"]))
    names = list(metrics[split]["per_class_accuracy"]) or list(paper.CLASS_NAMES)
    fig, ax = plt.subplots(figsize=(6.2, 5.4))
    image = ax.imshow(np.nan_to_num(cm), cmap="Blues", vmin=0, vmax=1)
    for i in range(cm.shape[0]):
        for j in range(cm.shape[1]):
            if not np.isnan(cm[i, j]):
                ax.text(j, i, f"{cm[i, j]:.2f}", ha="center", va="center", fontsize=8,
                        color="white" if cm[i, j] > 0.5 else "black")
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right")
    ax.set_yticks(range(len(names)), names)
    ax.set(xlabel="predicted class", ylabel="true class")
    fig.colorbar(image, ax=ax, fraction=0.046)
    ax.set_title(f"{_title(metrics)}\n{split} accuracy {100 * metrics[split]['accuracy']:.1f}% "
                 f"(rows sum to 1)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
