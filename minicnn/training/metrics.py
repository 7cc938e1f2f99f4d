"""Classification metrics, computed on the host with NumPy.

Inputs may be NumPy or CuPy arrays (CuPy ones are copied to the host once
with ``backend.to_numpy``). Labels are integers in ``[0, n_classes)``.
"""
import numpy as np

from ..backend import to_numpy
from ..errors import DataError, ShapeError


def predictions(pred):
    """Class labels from ``pred``: labels (N,) as they are, scores (N, C) by argmax."""
    pred = np.asarray(to_numpy(pred))
    if pred.ndim == 2:
        return pred.argmax(axis=1)
    if pred.ndim != 1:
        raise ShapeError(f"predictions must be labels (N,) or class scores (N, C), got shape {pred.shape}")
    return pred


def accuracy(pred, y):
    """Fraction of correct predictions: ``mean(labels(pred) == y)``.

    pred: labels (N,) or class scores (N, C); y: true labels (N,). Returns a float.
    """
    labels = predictions(pred)
    y = np.asarray(to_numpy(y))
    if y.shape != labels.shape:
        raise ShapeError(f"accuracy: {labels.shape[0]} predictions (from shape {np.shape(to_numpy(pred))}) "
                         f"but labels have shape {y.shape}")
    if labels.size == 0:
        raise ShapeError("accuracy: no predictions (N = 0)")
    return float(np.mean(labels == y))


def confusion_matrix(y_true, y_pred, n_classes):
    """Counts ``cm[i, j]`` of examples of true class i predicted as class j.

    y_true: labels (N,); y_pred: labels (N,) or scores (N, C). Returns an
    (n_classes, n_classes) int64 array: rows are true classes, columns
    predicted classes; row sums are the class counts.
    """
    y_true = np.asarray(to_numpy(y_true))
    y_pred = predictions(y_pred)
    if y_true.shape != y_pred.shape or y_true.ndim != 1:
        raise ShapeError(f"confusion_matrix: labels of shape {y_true.shape} and predictions of "
                         f"shape {y_pred.shape} must both be (N,)")
    for name, labels in (("true", y_true), ("predicted", y_pred)):
        invalid = (labels < 0) | (labels >= n_classes) | (labels != np.round(labels))
        if invalid.any():
            raise DataError(f"confusion_matrix: {name} label {labels[invalid][0]} (example "
                            f"{int(np.argmax(invalid))}) is not a class index in [0, {n_classes})")
    flat = y_true.astype(np.int64) * n_classes + y_pred.astype(np.int64)
    return np.bincount(flat, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def normalize_confusion(cm):
    """Row-normalized confusion matrix: ``cm[i, j] / sum_j cm[i, j]``.

    Each row gives the fractions of true class i predicted as each class; a
    class with no examples gets a row of NaN (undefined, drawn blank).
    """
    cm = np.asarray(to_numpy(cm), dtype=np.float64)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ShapeError(f"a confusion matrix is square (C, C), got shape {cm.shape}")
    totals = cm.sum(axis=1, keepdims=True)
    out = np.full_like(cm, np.nan)
    np.divide(cm, totals, out=out, where=totals > 0)
    return out


def per_class_accuracy(cm):
    """Recall of each class: ``cm[i, i] / sum_j cm[i, j]``, shape (C,); NaN for an empty class."""
    return np.diagonal(normalize_confusion(cm)).copy()


__all__ = ["predictions", "accuracy", "confusion_matrix", "normalize_confusion", "per_class_accuracy"]
