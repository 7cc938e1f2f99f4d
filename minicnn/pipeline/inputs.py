"""The network inputs of a run: mean image, flips, HOG features, augmentation.

Images become ``x = pixels / 255 - mean`` with the mean image of the
(unflipped) training split. Flips (``FLIP_MODES``):

- "random": the Trainer mirrors each training image with probability 1/2,
  drawn per epoch; a hybrid's mirrored image takes the HOG of the mirror image
  (computed once for the whole training set, ``flip_side``);
- "double": the training set is the images plus all their mirror images, each
  with its own HOG;
- "none": no mirror images.

HOG features are computed from the raw pixels (``minicnn.features.hog``,
cached on disk), then standardized per feature with the training split's mean
and standard deviation (``FeatureScaler``), so they enter the first affine
layer at the scale of the conv features; the scaler is stored with the model.
"""
import numpy as np

from ..data.preprocess import FeatureScaler, MeanImage, flip_double

MEAN_IMAGE = "x = pixels / 255 - mean image of the training set"


class Inputs:
    """The inputs of every split, made once from a ``FERDataset``.

    ``X(split)`` is the model input: images (N, 1, 48, 48) float32, or
    ``(images, hog)`` for a hybrid (``hog`` parameters given). ``y(split)``
    the labels. ``flip_side`` the HOG of the mirrored training images (random
    flips of a hybrid) or None. ``preprocess`` and ``preprocess_info`` go into
    every checkpoint, so a trained model carries its own preprocessing.
    """

    def __init__(self, dataset, hog, flips, progress=False):
        self.mean = MeanImage().fit(dataset.train.images)
        self.hog_params = None if hog is None else dict(hog)
        self.flips = flips
        self._progress = progress
        raw = {name: split.images for name, split in dataset.splits().items()}
        self.labels = {name: split.labels for name, split in dataset.splits().items()}
        if flips == "double":
            raw["train"], self.labels["train"] = flip_double(raw["train"], self.labels["train"])
        self.images = {name: self.mean.transform(images) for name, images in raw.items()}
        self.features = {name: self._hog(images) for name, images in raw.items()}
        self.flip_side = None
        if flips == "random" and self.hog_params is not None:
            self.flip_side = self._hog(np.ascontiguousarray(raw["train"][..., ::-1]))
        self.hog_scaler = None
        if self.hog_params is not None:
            self.hog_scaler = FeatureScaler().fit(self.features["train"])
            self.features = {name: self.hog_scaler.transform(f) for name, f in self.features.items()}
            if self.flip_side is not None:
                self.flip_side = self.hog_scaler.transform(self.flip_side)

    def _hog(self, images):
        if self.hog_params is None:
            return None
        from ..features.hog import hog_features
        return hog_features(images, progress=self._progress, **self.hog_params)

    @property
    def hog_dim(self):
        """Length of the HOG vector of a hybrid, else None."""
        return None if self.hog_params is None else int(self.features["train"].shape[1])

    def X(self, split):
        """The model input of ``split``: images, or (images, HOG) for a hybrid."""
        return self.images[split] if self.hog_params is None else (self.images[split], self.features[split])

    def y(self, split):
        return self.labels[split]

    def data(self, split):
        """``(X, y)`` of ``split``."""
        return self.X(split), self.y(split)

    @property
    def preprocess(self):
        """Arrays a checkpoint keeps: the mean image, and the HOG scaler's ``hog_mean``/``hog_std``."""
        arrays = self.mean.to_dict()
        if self.hog_scaler is not None:
            arrays.update(self.hog_scaler.to_dict(prefix="hog_"))
        return arrays

    def preprocess_info(self, **extra):
        """What a checkpoint needs to prepare new faces the same way (and ``extra`` facts of the run)."""
        return {"mean_image": MEAN_IMAGE, "hog": self.hog_params, "flips": self.flips, **extra}
