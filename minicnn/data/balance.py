"""Class imbalance options (FER-2013 train: 436 Disgust against 7,215 Happy).

Two remedies, both optional: weight the loss by ``class_weights`` or draw
batches with ``balanced_indices`` so every class is equally likely.
"""
import numpy as np

from ..backend import to_numpy
from ..errors import DataError
from .splits import N_CLASSES


def class_weights(labels, n_classes=N_CLASSES):
    """Inverse-frequency weights float32 (n_classes,) on the host, normalised to mean 1 over present classes.

    w_c = (N / (K * count_c)) / mean_over_present(N / (K * count_c)); absent classes get 0.
    ``labels`` may live on any backend (device labels are read once).
    """
    counts = np.bincount(np.asarray(to_numpy(labels), dtype=np.int64), minlength=n_classes).astype(np.float64)
    if len(counts) > n_classes:
        raise DataError(f"class_weights: a label is {len(counts) - 1}, outside 0..{n_classes - 1}")
    present = counts > 0
    if not present.any():
        raise DataError("class_weights needs at least one label")
    inverse = np.where(present, 1.0 / np.maximum(counts, 1), 0.0)
    return (inverse / inverse[present].mean()).astype(np.float32)


def balanced_indices(labels, rng, n=None):
    """``n`` (default len(labels)) indices drawn with replacement so each present class is equally likely.

    Each draw picks a present class uniformly, then one of its examples uniformly,
    both from the numpy Generator ``rng``. Returns host int64 (n,); ``labels`` may live on any backend.
    """
    labels = np.asarray(to_numpy(labels), dtype=np.int64)
    n = len(labels) if n is None else n
    order = np.argsort(labels, kind="stable")
    counts = np.bincount(labels)
    present = np.flatnonzero(counts)
    starts = np.cumsum(counts) - counts
    classes = present[rng.integers(len(present), size=n)]
    offsets = np.floor(rng.random(n) * counts[classes]).astype(np.int64)
    return order[starts[classes] + offsets]
