"""Mean-image subtraction (fit on training data only) and flip doubling."""
import numpy as np
import pytest

from minicnn.backend import to_numpy
from minicnn.data.preprocess import MeanImage, flip_double
from minicnn.errors import ShapeError


def test_mean_is_fitted_on_training_images_only_and_applied_to_every_split(rng):
    train = rng.integers(0, 256, (20, 48, 48), dtype=np.uint8)
    test = rng.integers(0, 256, (5, 48, 48), dtype=np.uint8)
    mean = MeanImage().fit(train)
    np.testing.assert_allclose(mean.mean, train.mean(axis=0) / 255, atol=1e-6)
    out = mean.transform(test)
    assert out.shape == (5, 1, 48, 48) and out.dtype == np.float32
    np.testing.assert_allclose(out[:, 0], test / 255 - train.mean(axis=0) / 255, atol=1e-6)
    np.testing.assert_allclose(mean.transform(train).mean(axis=0), 0, atol=1e-6)


def test_mean_survives_a_round_trip_through_a_dict(rng):
    images = rng.integers(0, 256, (7, 48, 48), dtype=np.uint8)
    mean = MeanImage().fit(images)
    again = MeanImage.from_dict({k: np.array(v) for k, v in mean.to_dict().items()})
    np.testing.assert_array_equal(again.transform(images), mean.transform(images))


def test_transform_runs_on_the_backend_of_its_input(xp, rng):
    images = rng.integers(0, 256, (4, 48, 48), dtype=np.uint8)
    mean = MeanImage().fit(images)
    out = mean.transform(xp.asarray(images))
    assert type(out) is type(xp.asarray(images[:1].astype(np.float32)))
    np.testing.assert_allclose(to_numpy(out), mean.transform(images), atol=1e-6)


def test_transform_before_fit_or_of_another_size_is_an_error(rng):
    with pytest.raises(ShapeError, match="before fit"):
        MeanImage().transform(np.zeros((1, 48, 48), np.uint8))
    with pytest.raises(ShapeError, match=r"needs images \(N, 48, 48\), got \(2, 32, 32\)"):
        MeanImage().fit(np.zeros((3, 48, 48), np.uint8)).transform(np.zeros((2, 32, 32), np.uint8))


def test_flip_double_appends_mirrors_and_repeats_labels(xp, rng):
    images = xp.asarray(rng.integers(0, 256, (6, 48, 48), dtype=np.uint8))
    labels = xp.asarray(rng.integers(0, 7, 6))
    doubled, doubled_labels = flip_double(images, labels)
    assert doubled.shape == (12, 48, 48)
    np.testing.assert_array_equal(to_numpy(doubled[:6]), to_numpy(images))
    np.testing.assert_array_equal(to_numpy(doubled[6:]), to_numpy(images)[:, :, ::-1])
    np.testing.assert_array_equal(to_numpy(doubled_labels), np.tile(to_numpy(labels), 2))
