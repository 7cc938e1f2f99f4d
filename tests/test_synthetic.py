"""The embedded synthetic faces: shape, balance, determinism, and a sample grid."""
import numpy as np

from minicnn.data import CLASS_NAMES, load_synthetic, save_sample_grid


def test_splits_have_the_fer_shapes_and_balanced_classes():
    ds = load_synthetic(n_train=75, n_val=16, n_test=9, seed=3)
    for split, n in ((ds.train, 75), (ds.val, 16), (ds.test, 9)):
        assert split.images.shape == (n, 48, 48) and split.images.dtype == np.uint8
        assert split.labels.dtype == np.int64 and len(split) == n
        counts = split.class_counts()
        assert counts.max() - counts.min() <= 1
    assert ds.class_names == CLASS_NAMES and "synthetic" in ds.source


def test_same_seed_same_faces_and_another_seed_other_faces():
    a, b = load_synthetic(28, 7, 7, seed=0), load_synthetic(28, 7, 7, seed=0)
    np.testing.assert_array_equal(a.train.images, b.train.images)
    np.testing.assert_array_equal(a.test.labels, b.test.labels)
    assert not np.array_equal(a.train.images, load_synthetic(28, 7, 7, seed=1).train.images)


def test_test_split_does_not_depend_on_the_training_size():
    np.testing.assert_array_equal(load_synthetic(14, 7, 7).test.images, load_synthetic(70, 7, 7).test.images)


def test_faces_use_the_grey_range_and_differ_between_classes():
    ds = load_synthetic(n_train=700, n_val=7, n_test=7)
    images, labels = ds.train.images.astype(np.float32), ds.train.labels
    assert images.std() > 20 and images.min() < 60 and images.max() > 200
    class_means = np.stack([images[labels == c].mean(axis=0) for c in range(7)])
    mouth = class_means[:, 30:40, 14:34].reshape(7, -1)  # the mouth region tells expressions apart
    distances = np.linalg.norm(mouth[:, None] - mouth[None], axis=-1)
    assert distances[~np.eye(7, dtype=bool)].min() > 1.0


def test_a_linear_classifier_on_pixels_beats_chance_but_is_far_from_perfect():
    # Ridge regression onto one-hot labels: learnable, but pose and lighting keep it
    # well below what a CNN reaches (about 0.9 after a few epochs of a small CNN).
    ds = load_synthetic(n_train=1400, n_val=7, n_test=700, seed=0)
    x = np.c_[ds.train.images.reshape(1400, -1) / 255.0, np.ones(1400)]
    t = np.c_[ds.test.images.reshape(700, -1) / 255.0, np.ones(700)]
    w = np.linalg.solve(x.T @ x + np.eye(x.shape[1]), x.T @ np.eye(7)[ds.train.labels])
    accuracy = np.mean((t @ w).argmax(axis=1) == ds.test.labels)
    assert 0.3 < accuracy < 0.8


def test_sample_grid_writes_a_png(tmp_path):
    path = save_sample_grid(tmp_path / "grid.png", per_class=3)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
