"""Online augmentation: shapes kept, seeded, and each transform doing what it says."""
import numpy as np
import pytest

from minicnn.backend import default_rng, to_numpy
from minicnn.data.augment import Augmenter
from minicnn.errors import ConfigError, ShapeError


@pytest.fixture
def batch(xp, rng):
    n, c, h, w = rng.integers(2, 9), rng.integers(1, 3), 48, 48
    return xp.asarray(rng.random((n, c, h, w), dtype=np.float32))


def test_output_keeps_shape_dtype_and_backend(xp, batch):
    out = Augmenter()(batch, default_rng(0, xp))
    assert out.shape == batch.shape and out.dtype == batch.dtype and type(out) is type(batch)


def test_same_seed_gives_the_same_batch_and_another_seed_another(xp, batch):
    aug = Augmenter()
    a = to_numpy(aug(batch, default_rng(3, xp)))
    np.testing.assert_array_equal(a, to_numpy(aug(batch, default_rng(3, xp))))
    assert not np.allclose(a, to_numpy(aug(batch, default_rng(4, xp))))


def test_all_off_is_the_identity(xp, batch):
    out = Augmenter(flip=False, shift=0, rotation=0, scale=0)(batch, default_rng(0, xp))
    np.testing.assert_allclose(to_numpy(out), to_numpy(batch), atol=1e-5)


def test_flip_alone_mirrors_each_image_or_leaves_it(xp, batch):
    out = to_numpy(Augmenter(flip=True, shift=0, rotation=0, scale=0)(batch, default_rng(1, xp)))
    x = to_numpy(batch)
    for o, i in zip(out, x):
        assert np.allclose(o, i, atol=1e-5) or np.allclose(o, i[..., ::-1], atol=1e-5)


def test_a_shift_moves_content_and_repeats_the_edges(rng):
    image = rng.random((1, 1, 48, 48), dtype=np.float32)

    class FixedDraws:  # draws giving no flip, no rotation, no zoom, shift +4.8 px right and 0 down
        def random(self, size, dtype=np.float64):
            return np.array([[0.9, 0.5, 0.5, 1.0, 0.5]], dtype)

    out = Augmenter(flip=True, shift=0.1, rotation=10, scale=0.1)(image, FixedDraws())[0, 0]
    x = image[0, 0]
    # output column j samples input column j - 4.8: 0.8 of column j - 5 plus 0.2 of column j - 4
    np.testing.assert_allclose(out[:, 5:], 0.8 * x[:, :43] + 0.2 * x[:, 1:44], atol=1e-5)
    np.testing.assert_allclose(out[:, 0], x[:, 0], atol=1e-5)  # left of the image: the edge column


def test_a_rotation_by_90_degrees_matches_rot90(rng):
    image = rng.random((1, 1, 48, 48), dtype=np.float32)

    class FixedDraws:  # no flip, +90 degrees, no zoom, no shift
        def random(self, size, dtype=np.float64):
            return np.array([[0.9, 1.0, 0.5, 0.5, 0.5]], dtype)

    out = Augmenter(flip=True, shift=0.1, rotation=90, scale=0.1)(image, FixedDraws())[0, 0]
    rotated = [np.rot90(image[0, 0], k) for k in (1, -1)]
    assert min(np.abs(out - r).max() for r in rotated) < 1e-4


def test_config_round_trip_and_bad_options():
    aug = Augmenter(flip=False, shift=0.05, rotation=5, scale=0.2)
    assert Augmenter.from_config(aug.to_dict()).to_dict() == aug.to_dict()
    assert Augmenter.from_config(None) is None
    with pytest.raises(ConfigError, match="unknown augment option"):
        Augmenter.from_config({"shear": 3})
    with pytest.raises(ConfigError, match="shift"):
        Augmenter(shift=0.7)
    with pytest.raises(ShapeError, match=r"\(N, C, H, W\)"):
        Augmenter()(np.zeros((48, 48), np.float32), np.random.default_rng(0))
