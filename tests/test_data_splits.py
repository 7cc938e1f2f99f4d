"""Split and FERDataset containers: dtypes, stratified subsets, summary."""
import numpy as np
import pytest

from minicnn.data import CLASS_NAMES, Split, load_synthetic
from minicnn.errors import DataError


def test_split_converts_to_uint8_images_and_int64_labels(rng):
    split = Split(rng.integers(0, 256, (5, 48, 48)), [0, 1, 2, 3, 4])
    assert split.images.dtype == np.uint8 and split.labels.dtype == np.int64 and len(split) == 5


def test_split_rejects_mismatched_images_and_labels():
    with pytest.raises(DataError, match=r"\(4, 48, 48\) and \(3,\)"):
        Split(np.zeros((4, 48, 48)), np.zeros(3))


def test_subset_keeps_class_proportions_is_seeded_and_keeps_order():
    labels = np.repeat(np.arange(7), [100, 10, 100, 200, 120, 80, 130])
    split = Split(np.zeros((len(labels), 48, 48)), labels)
    split.images[:, 0, 0] = np.arange(len(labels)) % 256
    part = split.subset(74, seed=1)
    assert len(part) == 74
    np.testing.assert_array_equal(part.class_counts(), [10, 1, 10, 20, 12, 8, 13])
    np.testing.assert_array_equal(part.images, split.subset(74, seed=1).images)
    assert not np.array_equal(part.images, split.subset(74, seed=2).images)
    assert np.all(np.diff(part.labels) >= 0)  # original order kept (labels were sorted)
    assert split.subset(10_000) is split


def test_dataset_summary_lists_every_split_and_class():
    text = load_synthetic(14, 7, 7).summary()
    assert all(name in text for name in CLASS_NAMES)
    assert "train      14" in text and "test        7" in text
