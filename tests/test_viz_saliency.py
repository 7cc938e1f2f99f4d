"""Saliency maps are |d class score / d input pixel|, checked against finite differences."""
import numpy as np
import pytest

from minicnn.backend import to_numpy
from minicnn.viz.saliency import saliency, saliency_figure
from viz_models import tiny_classifier, tiny_model


def scores(model, x):
    return np.asarray(to_numpy(model.loss(x, train=False)), dtype=np.float64)


@pytest.mark.parametrize("cls", [0, 4])
def test_saliency_equals_centred_finite_differences_of_the_class_score(rng, cls):
    model = tiny_model(size=8, dtype=np.float64)
    x = rng.standard_normal((1, 1, 8, 8))
    eps = 1e-5
    numeric = np.zeros((8, 8))
    for i in range(8):
        for j in range(8):
            up, down = x.copy(), x.copy()
            up[0, 0, i, j] += eps
            down[0, 0, i, j] -= eps
            numeric[i, j] = (scores(model, up)[0, cls] - scores(model, down)[0, cls]) / (2 * eps)
    np.testing.assert_allclose(saliency(model, x, cls)[0], np.abs(numeric), rtol=1e-5, atol=1e-8)


def test_saliency_takes_one_class_per_image_and_runs_in_evaluation_mode(rng):
    model = tiny_model(size=8, dtype=np.float64).train()
    x = rng.standard_normal((3, 1, 8, 8))
    maps = saliency(model, x, np.array([0, 1, 2]))
    assert maps.shape == (3, 8, 8) and (maps >= 0).all()
    for n, c in enumerate([0, 1, 2]):  # each row alone gives the same map: BN used running statistics
        np.testing.assert_allclose(maps[n], saliency(model, x[n:n + 1], c)[0], rtol=1e-10)


def test_saliency_figure_shows_the_face_and_one_map_per_class(tmp_path, rng):
    clf = tiny_classifier(size=16)
    fig = saliency_figure(clf, rng.uniform(0, 255, (16, 16)), classes=[3, 5])
    images = [ax for ax in fig.axes if ax.images]
    assert len(images) == 3
    assert [ax.get_title() for ax in images][1].startswith("Happy (p=")
