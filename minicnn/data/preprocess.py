"""The paper's preprocessing: training-set mean image subtraction and flip doubling.

Pixels are scaled to [0, 1] before the mean is subtracted, so network inputs
lie in about [-1, 1]:

    x = images / 255 - mean,    mean = (1/N_train) sum_n train_images[n] / 255

(the paper subtracts the mean image; the 1/255 scale is our choice, so the
weight initialisation and learning rates see inputs of order 1). The mean is
fitted on the training split only and stored with the model (``to_dict``), so
prediction on new images subtracts the same mean.
"""
import numpy as np

from ..backend import DEFAULT_DTYPE, to_numpy, xp_of
from ..errors import ShapeError

SCALE = 1.0 / 255.0


class MeanImage:
    """Subtracts the training mean image. ``mean``: float32 (H, W), in [0, 1] units."""

    def __init__(self, mean=None):
        self.mean = None if mean is None else np.asarray(to_numpy(mean), dtype=np.float32)

    def fit(self, images):
        """Fit on training images uint8 (N, H, W), NumPy or CuPy (summed where they live); returns self."""
        if images.ndim != 3 or len(images) == 0:
            raise ShapeError(f"MeanImage.fit needs training images (N, H, W) with N >= 1, got {tuple(images.shape)}")
        mean = images.mean(axis=0, dtype=xp_of(images).float64) * SCALE
        self.mean = np.asarray(to_numpy(mean), dtype=np.float32)
        return self

    def transform(self, images):
        """uint8 (N, H, W) or (N, 1, H, W), NumPy or CuPy -> float32 (N, 1, H, W) = images/255 - mean."""
        if self.mean is None:
            raise ShapeError("MeanImage.transform called before fit (or from_dict)")
        xp = xp_of(images)
        if images.ndim == 4 and images.shape[1] == 1:
            images = images[:, 0]
        if images.ndim != 3 or images.shape[1:] != self.mean.shape:
            raise ShapeError(f"MeanImage.transform needs images (N, {self.mean.shape[0]}, {self.mean.shape[1]}), "
                             f"got {tuple(images.shape)}")
        mean = xp.asarray(self.mean)
        out = images.astype(DEFAULT_DTYPE) * DEFAULT_DTYPE(SCALE) - mean
        return out[:, None, :, :]

    def to_dict(self):
        """``{"mean": float32 (H, W)}``: store it in a checkpoint."""
        return {"mean": self.mean}

    @classmethod
    def from_dict(cls, state):
        """Rebuild from ``to_dict()`` output."""
        return cls(state["mean"])


class FeatureScaler:
    """Standardizes feature vectors with the training set's statistics: z = (f - mean) / std, per feature.

    ``mean``, ``std``: float32 (D,). A feature constant over the training set
    (std below ``MIN_STD``) is only centred. The hybrid models standardize
    their HOG input this way, so it enters the first affine layer at the
    scale of the conv features (He-initialized weights expect inputs of order
    1, and raw HOG values after L2-Hys lie in [0, 0.2]).
    """

    MIN_STD = 1e-6

    def __init__(self, mean=None, std=None):
        self.mean = None if mean is None else np.asarray(mean, dtype=np.float32)
        self.std = None if std is None else np.asarray(std, dtype=np.float32)

    def fit(self, features):
        """Fit on training features (N, D), host or device; returns self."""
        f = np.asarray(to_numpy(features), dtype=np.float64)
        if f.ndim != 2 or len(f) == 0:
            raise ShapeError(f"FeatureScaler.fit needs training features (N, D) with N >= 1, got {f.shape}")
        std = f.std(axis=0)
        self.mean = f.mean(axis=0).astype(np.float32)
        self.std = np.where(std < self.MIN_STD, 1.0, std).astype(np.float32)
        return self

    def transform(self, features):
        """(N, D) features, NumPy or CuPy -> float32 (N, D) standardized, on the same device."""
        if self.mean is None:
            raise ShapeError("FeatureScaler.transform called before fit (or from_dict)")
        if features.ndim != 2 or features.shape[1] != self.mean.shape[0]:
            raise ShapeError(f"FeatureScaler.transform needs features (N, {self.mean.shape[0]}), "
                             f"got {tuple(features.shape)}")
        xp = xp_of(features)
        return (features.astype(DEFAULT_DTYPE) - xp.asarray(self.mean)) / xp.asarray(self.std)

    def to_dict(self, prefix=""):
        """``{prefix+"mean": ..., prefix+"std": ...}``: store it in a checkpoint."""
        return {f"{prefix}mean": self.mean, f"{prefix}std": self.std}

    @classmethod
    def from_dict(cls, state, prefix=""):
        """Rebuild from ``to_dict(prefix)`` output, or None when ``state`` holds none."""
        if f"{prefix}mean" not in state:
            return None
        return cls(state[f"{prefix}mean"], state[f"{prefix}std"])


def flip_double(images, labels):
    """The training set plus its horizontal mirror images (the paper's extension).

    images (N, ..., W), labels (N,) -> images (2N, ..., W) with rows N..2N-1 the
    originals flipped left-right (last axis), labels repeated.
    """
    xp = xp_of(images)
    if len(images) != len(labels):
        raise ShapeError(f"flip_double: {len(images)} images but {len(labels)} labels")
    return xp.concatenate([images, images[..., ::-1]]), xp.concatenate([labels, labels])
