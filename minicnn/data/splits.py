"""The data containers every loader returns: a ``Split`` and a ``FERDataset``.

A split holds ``images`` uint8 (N, 48, 48) (row-major grayscale faces) and
``labels`` int64 (N,) in 0..6, the FER-2013 classes in ``CLASS_NAMES`` order.
"""
import hashlib
from dataclasses import dataclass

import numpy as np

from ..backend import to_numpy
from ..errors import DataError

CLASS_NAMES = ("Angry", "Disgust", "Fear", "Happy", "Sad", "Surprise", "Neutral")
"""The 7 FER-2013 expressions; a label is an index into this tuple."""

N_CLASSES = len(CLASS_NAMES)
IMAGE_SHAPE = (48, 48)
SPLIT_NAMES = ("train", "val", "test")


@dataclass
class Split:
    """One split: ``images`` uint8 (N, H, W) and ``labels`` int64 (N,), kept on the host.

    Device arrays given to it are copied to the host.
    """

    images: np.ndarray
    labels: np.ndarray

    def __post_init__(self):
        self.images = np.ascontiguousarray(to_numpy(self.images), dtype=np.uint8)
        self.labels = np.ascontiguousarray(to_numpy(self.labels), dtype=np.int64)
        if self.images.ndim != 3 or len(self.images) != len(self.labels):
            raise DataError(f"a split needs images (N, H, W) and labels (N,), got "
                            f"{self.images.shape} and {self.labels.shape}")

    def __len__(self):
        return len(self.labels)

    def class_counts(self, n_classes=N_CLASSES):
        """Images per class, int64 (n_classes,)."""
        return np.bincount(self.labels, minlength=n_classes)

    def take(self, indices):
        """The split restricted to ``indices`` (in that order; host or device indices)."""
        indices = to_numpy(indices)
        return Split(self.images[indices], self.labels[indices])

    def subset(self, n, seed=0):
        """A stratified random subset of ``n`` images (class proportions kept).

        Each class gets ``n * count_c / N`` images rounded by largest remainder,
        drawn without replacement by ``numpy.random.default_rng(seed)``; the
        result keeps the split's original order. ``n >= len(self)`` returns self.
        """
        if n >= len(self):
            return self
        if n < 1:
            raise DataError(f"a subset needs at least 1 image, got n={n}")
        counts = self.class_counts(max(N_CLASSES, int(self.labels.max()) + 1))
        exact = n * counts / len(self)
        quota = np.floor(exact).astype(np.int64)
        short = n - quota.sum()
        quota[np.argsort(quota - exact, kind="stable")[:short]] += 1
        order = np.random.default_rng(seed).permutation(len(self))
        by_class = order[np.argsort(self.labels[order], kind="stable")]
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        chosen = np.concatenate([by_class[s:s + q] for s, q in zip(starts, quota)])
        return self.take(np.sort(chosen))


@dataclass
class FERDataset:
    """Three splits plus where they came from.

    ``source`` is one line naming the file and how val/test were formed;
    ``path`` the file or folder read (None for data made in memory);
    ``from_cache`` says whether the arrays were read from the parsed-array cache.
    """

    train: Split
    val: Split
    test: Split
    source: str
    class_names: tuple = CLASS_NAMES
    from_cache: bool = False
    path: object = None

    def splits(self):
        """``{"train": Split, "val": Split, "test": Split}``."""
        return {name: getattr(self, name) for name in SPLIT_NAMES}

    def summary(self):
        """Multi-line text: split sizes and per-class counts."""
        width = max(len(c) for c in self.class_names)
        lines = [self.source, f"{'split':<6} {'total':>6}  " + " ".join(f"{c:>{width}}" for c in self.class_names)]
        for name, split in self.splits().items():
            counts = split.class_counts(len(self.class_names))
            lines.append(f"{name:<6} {len(split):>6}  " + " ".join(f"{c:>{width}}" for c in counts))
        return "\n".join(lines)


def fingerprint(dataset):
    """``"sha256:<hex>"`` of the decoded data: every split's size, images (uint8) and labels (int64), in order.

    It depends only on the arrays, so the CSV, zip and tar layouts of the same
    faces give the same fingerprint, and any changed pixel, label or order a different one.
    """
    h = hashlib.sha256()
    for name, split in dataset.splits().items():
        images = np.ascontiguousarray(split.images, dtype=np.uint8)
        h.update(f"{name}:{images.shape}".encode())
        h.update(images.data)
        h.update(np.ascontiguousarray(split.labels, dtype="<i8").data)
    return "sha256:" + h.hexdigest()


def check_splits(splits, where):
    """Raise DataError if any of the three splits is empty or a label is out of range."""
    for name in SPLIT_NAMES:
        split = splits[name]
        if len(split) == 0:
            raise DataError(f"{where}: the {name} split is empty; FER-2013 needs train, val "
                            "and test images (Usage Training/PublicTest/PrivateTest or train/ and test/ folders)")
        bad = (split.labels < 0) | (split.labels >= N_CLASSES)
        if bad.any():
            raise DataError(f"{where}: label {split.labels[bad][0]} in the {name} split is outside 0..{N_CLASSES - 1}")
