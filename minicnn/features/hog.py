"""HOG features of 48x48 faces via scikit-image, batched over all cores and cached.

Defaults (the paper does not state its HOG parameters): 9 unsigned orientations,
8x8-pixel cells and 2x2-cell blocks with L2-Hys block normalisation — the
Dalal-Triggs settings. On a 48x48 face that is a 6x6 grid of cells (about the
size of an eye or a mouth corner) and 5x5 overlapping blocks:
``hog_dim() = 5 * 5 * 2 * 2 * 9 = 900`` features per image.

Features are computed on the images given, so a flipped image gets the HOG of
the flipped image: call ``hog_features`` after ``flip_double``, not before.
Results are cached as ``.npz`` in the data cache folder (``minicnn.data.cache``),
keyed by a hash of the images' bytes and the parameters.
"""
import os
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from ..backend import to_numpy
from ..data import cache
from ..data.messages import Progress
from ..errors import ConfigError, DataError
from ..extras import require

DEFAULTS = {"orientations": 9, "pixels_per_cell": (8, 8), "cells_per_block": (2, 2)}
_CHUNK = 512
_MIN_PARALLEL = 2048
"""Below this many images a process pool costs more than it saves."""


def hog_dim(orientations=9, pixels_per_cell=(8, 8), cells_per_block=(2, 2), image_shape=(48, 48)):
    """Length of one image's HOG vector: blocks_y * blocks_x * cells_per_block^2 * orientations."""
    cells = [s // p for s, p in zip(image_shape, pixels_per_cell)]
    blocks = [c - b + 1 for c, b in zip(cells, cells_per_block)]
    if min(blocks) < 1:
        raise ConfigError(f"HOG cells {tuple(pixels_per_cell)} and blocks {tuple(cells_per_block)} do not fit "
                          f"a {image_shape[0]}x{image_shape[1]} image")
    return blocks[0] * blocks[1] * cells_per_block[0] * cells_per_block[1] * orientations


def hog_features(images, orientations=9, pixels_per_cell=(8, 8), cells_per_block=(2, 2),
                 n_jobs=None, cache_dir=None, progress=True, use_cache=True):
    """HOG of each image: uint8 (N, H, W) -> float32 (N, hog_dim(...)).

    ``n_jobs`` worker processes (default: all cores) each take chunks of
    images; ``cache_dir`` as in ``minicnn.data.cache``. Device arrays are copied
    to the host. For per-batch features of augmented images pass
    ``use_cache=False, progress=False`` (a 128-image batch: about 0.1 s on one busy CPU core).
    """
    images = np.ascontiguousarray(to_numpy(images))
    if images.ndim != 3:
        raise DataError(f"hog_features needs grayscale images (N, H, W), got shape {images.shape}")
    params = {"orientations": int(orientations), "pixels_per_cell": tuple(int(p) for p in pixels_per_cell),
              "cells_per_block": tuple(int(c) for c in cells_per_block)}
    dim = hog_dim(**params, image_shape=images.shape[1:])
    entry = cache.entry_path("hog", cache.array_key(images, **params), cache_dir) if use_cache else None
    if entry is not None:
        cached = cache.load_entry(entry)
        if cached is not None:
            features = cached.get("features")
            if getattr(features, "shape", None) == (len(images), dim) and features.dtype == np.float32:
                return features
            cache.discard_entry(entry, f"it does not hold float32 features ({len(images)}, {dim})")
    features = np.empty((len(images), dim), dtype=np.float32)
    chunks = [slice(s, s + _CHUNK) for s in range(0, len(images), _CHUNK)]
    workers = n_jobs or os.cpu_count() or 1
    bar = Progress("HOG", len(images), enabled=progress and len(images) >= _MIN_PARALLEL)
    if workers == 1 or len(images) < _MIN_PARALLEL:
        for part in chunks:
            features[part] = _hog_chunk(images[part], params)
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = [(part, pool.submit(_hog_chunk, images[part], params)) for part in chunks]
            for part, future in futures:
                features[part] = future.result()
                bar.update(min(part.stop, len(images)))
    bar.close()
    if entry is not None:
        cache.save_entry(entry, {"features": features})
    return features


def _hog_chunk(images, params):
    """float32 (n, D): skimage's HOG (L2-Hys blocks) of each image of a chunk."""
    hog = require("skimage.feature", "HOG features").hog
    return np.stack([hog(image, block_norm="L2-Hys", feature_vector=True, **params)
                     for image in images]).astype(np.float32)
