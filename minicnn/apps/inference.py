"""A trained model together with the preprocessing it was trained with.

A network never sees raw pixels: it sees ``x = pixels / 255 - mean`` (the
training mean image, ``minicnn.data.preprocess``) and, for a hybrid CNN+HOG
model, also the HOG vector of the raw face. A ``Classifier`` bundles a
``Model`` with that mean image and those HOG parameters, so that every user of
a trained model -- ``predict``, ``ensemble``, ``explain`` -- hands it raw
48x48 faces (pixel values 0..255) and gets class probabilities back, each
model applying its own preprocessing.

    clf = Classifier.load("runs/deep/best.npz")
    p = clf.proba(faces)                 # (N, 7) host float64, rows sum to 1

The model runs in evaluation mode (BN running statistics, no dropout).
"""
from pathlib import Path

import numpy as np

from .. import backend
from ..data import CLASS_NAMES, N_CLASSES, load_dataset
from ..data.preprocess import SCALE, FeatureScaler, MeanImage
from ..errors import NonFiniteError, ShapeError


class Classifier:
    """``model`` plus its preprocessing; raw faces (N, H, W) in 0..255 in, probabilities out.

    mean: the training mean image (H, W) in [0, 1] units (``MeanImage.mean``),
    or None for none. hog: the HOG parameters of a hybrid model (a dict for
    ``minicnn.features.hog.hog_features``; None uses its defaults) and
    hog_scaler the ``FeatureScaler`` its HOG was standardized with in
    training (None: used raw). name: a label for tables and figure titles.
    """

    def __init__(self, model, mean=None, hog=None, name="model", class_names=CLASS_NAMES, epoch=None,
                 hog_scaler=None):
        self.model = model.eval()
        self.epoch = epoch
        size = tuple(model.config["input_shape"][1:])
        mean = np.zeros(size, np.float32) if mean is None else np.asarray(backend.to_numpy(mean), np.float32)
        if mean.shape != size:
            raise ShapeError(f"{name}: the mean image has shape {mean.shape} but the model takes "
                             f"{size[0]}x{size[1]} inputs; was the checkpoint written for another model?")
        self.scaler = MeanImage(mean)
        self.hog = dict(hog or {}) if model.is_hybrid else None
        self.hog_scaler = hog_scaler if model.is_hybrid else None
        self.name = name
        n = model.config["n_classes"]
        self.class_names = tuple(class_names) if len(class_names) == n else tuple(f"class {i}" for i in range(n))

    @classmethod
    def load(cls, path, name=None, xp=None):
        """The classifier stored in a minicnn checkpoint ``path`` (DataError if it is not one).

        Reads the checkpoint's ``preprocess["mean"]`` (the training mean image;
        absent: no mean subtraction) and, for a hybrid model,
        ``preprocess_info["hog"]`` (HOG parameters; absent: the HOG defaults) and
        ``preprocess["hog_mean"]``/``["hog_std"]`` (the HOG scaler; absent: raw
        HOG, as hybrids trained before the scaler were), and the trainer's epoch
        count when there is one (an eval-only copy's: the epoch it was copied at).
        """
        from ..training.checkpoint import load_checkpoint

        model, extras = load_checkpoint(path, xp=xp)
        info = extras.get("preprocess_info") or {}
        position = (extras.get("trainer") or {}).get("position")
        epoch = (position or extras.get("source") or {}).get("epoch")
        arrays = extras.get("preprocess") or {}
        return cls(model, mean=arrays.get("mean"), hog=info.get("hog"), name=name or Path(path).stem, epoch=epoch,
                   hog_scaler=FeatureScaler.from_dict(arrays, prefix="hog_"))

    @property
    def input_size(self):
        """(H, W) of the faces the model takes."""
        return tuple(self.model.config["input_shape"][1:])

    # -- pixels <-> network inputs ----------------------------------------------
    @property
    def mean(self):
        """The training mean image (H, W), float32 in [0, 1] units (zeros if the model has none)."""
        return self.scaler.mean

    def preprocess(self, faces):
        """Raw faces (N, H, W) in 0..255 -> images (N, 1, H, W) = faces / 255 - mean, on the model's device."""
        faces = np.asarray(backend.to_numpy(faces), dtype=np.float32)
        if faces.ndim != 3 or faces.shape[1:] != self.mean.shape:
            raise ShapeError(f"{self.name} takes faces of shape (N, {self.mean.shape[0]}, {self.mean.shape[1]}); "
                             f"got {faces.shape}")
        return backend.to_device(self.scaler.transform(faces), self.model.xp, dtype=self.model.dtype)

    def to_pixels(self, images):
        """Inverse of ``preprocess``: images (N, 1, H, W) -> host faces (N, H, W) in 0..255 (not clipped)."""
        x = np.asarray(backend.to_numpy(images), dtype=np.float64)[:, 0]
        return (x + self.mean) / SCALE

    def features(self, faces):
        """HOG vectors (N, hog_dim) of raw faces for a hybrid model, else None (host arrays)."""
        if self.hog is None:
            return None
        from ..features.hog import hog_features

        pixels = np.clip(np.rint(np.asarray(backend.to_numpy(faces), dtype=np.float64)), 0, 255).astype(np.uint8)
        features = hog_features(pixels, **self.hog, use_cache=False, progress=False, n_jobs=1)
        return features if self.hog_scaler is None else self.hog_scaler.transform(features)

    def inputs(self, faces):
        """What ``model`` takes for raw faces: images, or ``(images, features)`` for a hybrid."""
        images = self.preprocess(faces)
        return images if self.hog is None else (images, self.features(faces))

    def inputs_from_images(self, images):
        """Model input for already preprocessed images (N, 1, H, W): adds the HOG of their pixels if hybrid.

        Gradients flow only through the image path: HOG is recomputed from the
        pixels but treated as a constant input.
        """
        if self.hog is None:
            return images
        return images, self.features(np.clip(self.to_pixels(images), 0, 255))

    # -- predictions --------------------------------------------------------------
    def proba(self, faces, batch_size=256):
        """Class probabilities (N, n_classes), host float64, for raw faces (N, H, W).

        Batches are made smaller than ``batch_size`` when the memory
        pre-flight says they do not fit (the probabilities are the same).
        NonFiniteError when the model's outputs are NaN or infinite (weights
        that overflow on these inputs): never a silent ``nan``.
        """
        from ..training.preflight import fit_batch

        batch_size = fit_batch(self.model, batch_size)
        with np.errstate(all="ignore"):          # non-finite outputs are reported below, in one line
            p = np.asarray(backend.to_numpy(self.model.predict_proba(self.inputs(faces), batch_size)),
                           dtype=np.float64)
        bad = ~np.isfinite(p).all(axis=1)
        if bad.any():
            raise NonFiniteError(f"{self.name} gives NaN or infinite class probabilities for {int(bad.sum())} of "
                                 f"{len(p)} face(s): its outputs overflow on them; check the checkpoint "
                                 "(retrain with a lower learning rate)")
        return p


def load_eval_data(source, n_synthetic=700, seed=0):
    """The data set a trained model is measured on: ``"synthetic"`` or a FER-2013 path (``load_dataset``).

    ``"synthetic"`` gives the embedded faces' validation and test splits of
    ``n_synthetic`` images each (the same faces ``load_synthetic`` draws for
    any training size, since each split has its own seed stream) and a token
    training split of one face per class, which evaluation never reads.
    """
    return load_dataset(source, n_train=N_CLASSES, n_val=n_synthetic, n_test=n_synthetic, seed=seed)
