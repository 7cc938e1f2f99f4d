"""DeepDream / class visualization: gradient ascent raises its target, reproducibly."""
import numpy as np
import pytest

from minicnn.errors import ConfigError
from minicnn.viz import deepdream as dd
from minicnn.viz.resample import blur, resize, resize_adjoint
from viz_models import tiny_classifier

FAST = dict(steps=6, octaves=2)


@pytest.mark.parametrize("start", ["noise", "face"])
def test_dreaming_on_a_class_raises_that_class_score(rng, start, xp):
    clf = tiny_classifier(size=16, xp=xp)
    faces = None if start == "noise" else rng.uniform(40, 220, (3, 16, 16))
    d = dd.dream(clf, faces, "scores", [0, 3, 5], n=3, **FAST)
    before = dd.target_values(clf, d.start, "scores", [0, 3, 5])
    after = dd.target_values(clf, d.image, "scores", [0, 3, 5])
    assert (after > before).all()
    assert d.image.shape == (3, 16, 16) and d.image.min() >= 0 and d.image.max() <= 255
    assert d.values.shape == (2 * 6, 3)


@pytest.mark.parametrize("channels", [[1, 2], None])
def test_dreaming_on_a_layer_raises_its_channel_mean_or_its_energy(rng, channels):
    clf = tiny_classifier(size=16)
    faces = rng.uniform(40, 220, (2, 16, 16))
    d = dd.dream(clf, faces, "relu2", channels, **FAST)
    assert (dd.target_values(clf, d.image, "relu2", channels)
            > dd.target_values(clf, faces, "relu2", channels)).all()


def test_a_dream_is_reproducible_by_seed():
    clf = tiny_classifier(size=16)
    a, b = (dd.dream(clf, None, "scores", 2, seed=7, **FAST) for _ in range(2))
    c = dd.dream(clf, None, "scores", 2, seed=8, **FAST)
    np.testing.assert_array_equal(a.image, b.image)
    assert not np.array_equal(a.image, c.image)


def test_bad_targets_are_refused_with_the_range():
    clf = tiny_classifier(size=16)
    with pytest.raises(ConfigError, match="out of range for scores"):
        dd.dream(clf, None, "scores", 7, **FAST)
    with pytest.raises(ConfigError, match="needs a class"):
        dd.dream(clf, None, "scores", None, **FAST)


def test_the_octave_resize_adjoint_is_the_transpose_of_the_resize(rng):
    z, g = rng.standard_normal((2, 1, 9, 11)), rng.standard_normal((2, 1, 16, 16))
    assert np.isclose((resize(z, (16, 16)) * g).sum(), (z * resize_adjoint(g, (9, 11))).sum())
    np.testing.assert_allclose(blur(np.full((1, 1, 7, 7), 3.0), 1.0), 3.0)
