"""HOG features: shape from the parameters, flips computed not copied, pool = serial, cache."""
import numpy as np
import pytest
from skimage.feature import hog

from minicnn.data import load_synthetic
from minicnn.data.preprocess import flip_double
from minicnn.errors import ConfigError, DataError
from minicnn.features.hog import hog_dim, hog_features


@pytest.fixture(scope="module")
def faces():
    return load_synthetic(n_train=14, n_val=7, n_test=7, seed=4).train


@pytest.mark.parametrize("params, dim", [
    ({}, 900),
    ({"pixels_per_cell": (6, 6), "cells_per_block": (3, 3), "orientations": 12}, 6 * 6 * 9 * 12),
    ({"pixels_per_cell": (16, 16), "cells_per_block": (1, 1)}, 3 * 3 * 9),
])
def test_shape_matches_hog_dim_and_skimage(faces, tmp_path, params, dim):
    features = hog_features(faces.images, cache_dir=tmp_path, progress=False, **params)
    assert features.shape == (14, dim) == (14, hog_dim(**params)) and features.dtype == np.float32
    full = {"orientations": 9, "pixels_per_cell": (8, 8), "cells_per_block": (2, 2), **params}
    np.testing.assert_allclose(features[3], hog(faces.images[3], block_norm="L2-Hys", **full), rtol=1e-5, atol=1e-6)


def test_a_flipped_image_gets_the_hog_of_the_flipped_image(faces, tmp_path):
    doubled, _ = flip_double(faces.images, faces.labels)
    features = hog_features(doubled, cache_dir=tmp_path, progress=False)
    np.testing.assert_allclose(features[14:], hog_features(faces.images[:, :, ::-1].copy(), use_cache=False,
                                                           progress=False), rtol=1e-6)
    assert not np.allclose(features[14:], features[:14])


def test_the_process_pool_gives_the_serial_result(monkeypatch):
    import minicnn.features.hog as hogmod
    monkeypatch.setattr(hogmod, "_MIN_PARALLEL", 1)
    monkeypatch.setattr(hogmod, "_CHUNK", 5)
    images = load_synthetic(n_train=12, n_val=7, n_test=7, seed=5).train.images
    pooled = hog_features(images, n_jobs=2, use_cache=False, progress=False)
    np.testing.assert_array_equal(pooled, hog_features(images, n_jobs=1, use_cache=False, progress=False))


def test_a_second_call_reads_the_cache_keyed_by_content_and_parameters(faces, tmp_path):
    first = hog_features(faces.images, cache_dir=tmp_path, progress=False)
    assert len(list(tmp_path.glob("hog-*.npz"))) == 1
    np.testing.assert_array_equal(hog_features(faces.images, cache_dir=tmp_path, progress=False), first)
    assert len(list(tmp_path.glob("hog-*.npz"))) == 1
    hog_features(faces.images, orientations=6, cache_dir=tmp_path, progress=False)
    changed = faces.images.copy()
    changed[0, 0, 0] ^= 1
    hog_features(changed, cache_dir=tmp_path, progress=False)
    assert len(list(tmp_path.glob("hog-*.npz"))) == 3


def test_bad_shapes_and_parameters_are_clear_errors(faces):
    with pytest.raises(DataError, match=r"\(N, H, W\)"):
        hog_features(faces.images[0], use_cache=False)
    with pytest.raises(ConfigError, match="do not fit a 48x48 image"):
        hog_dim(pixels_per_cell=(32, 32), cells_per_block=(2, 2))
