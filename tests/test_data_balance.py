"""Class weights and balanced sampling for the imbalanced FER-2013 classes."""
import numpy as np
import pytest

from minicnn.data.balance import balanced_indices, class_weights
from minicnn.errors import DataError


def test_class_weights_are_inverse_frequency_with_mean_one():
    labels = np.repeat(np.arange(7), [10, 1, 10, 20, 10, 5, 10])
    w = class_weights(labels)
    assert w.shape == (7,) and w.dtype == np.float32
    np.testing.assert_allclose(w.mean(), 1.0, rtol=1e-6)
    np.testing.assert_allclose(w * np.bincount(labels), (w * np.bincount(labels))[0], rtol=1e-5)


def test_absent_classes_get_zero_weight_and_bad_labels_an_error():
    w = class_weights(np.array([0, 0, 3]))
    assert w[1] == 0 and w[0] > 0 and w[3] > w[0]
    np.testing.assert_allclose(w[w > 0].mean(), 1.0, rtol=1e-6)
    with pytest.raises(DataError, match="outside 0..6"):
        class_weights(np.array([0, 9]))


def test_balanced_indices_draw_every_class_about_equally_and_are_seeded():
    labels = np.repeat(np.arange(7), [400, 10, 400, 700, 480, 300, 500])
    idx = balanced_indices(labels, np.random.default_rng(0), n=70000)
    counts = np.bincount(labels[idx], minlength=7)
    assert np.all(np.abs(counts - 10000) < 500)
    assert np.unique(idx[labels[idx] == 1]).size == 10
    np.testing.assert_array_equal(idx, balanced_indices(labels, np.random.default_rng(0), n=70000))
    assert len(balanced_indices(labels, np.random.default_rng(1))) == len(labels)
