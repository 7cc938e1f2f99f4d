"""Every host-side helper (data preparation, figures) takes device arrays as well as host ones.

Each test hands the same values once as host arrays and once as arrays of the
backend under test (``xp``) and expects the same result.
"""
import numpy as np
import pytest

from minicnn.backend import to_device, to_numpy
from minicnn.data.balance import balanced_indices, class_weights
from minicnn.data.preprocess import MeanImage
from minicnn.data.splits import Split
from minicnn.viz import activations, classes, curves, deepdream, gradcam, saliency
from viz_models import tiny_classifier


@pytest.fixture
def faces(rng):
    return rng.uniform(0, 255, (3, 16, 16))


def test_mean_image_fits_on_device_images(xp, rng):
    images = rng.integers(0, 256, (6, 48, 48), dtype=np.uint8)
    np.testing.assert_allclose(MeanImage().fit(to_device(images, xp)).mean, MeanImage().fit(images).mean, atol=1e-6)


def test_class_weights_balanced_indices_and_splits_take_device_labels(xp, rng):
    labels = rng.integers(0, 7, 50)
    np.testing.assert_array_equal(class_weights(to_device(labels, xp)), class_weights(labels))
    np.testing.assert_array_equal(balanced_indices(to_device(labels, xp), np.random.default_rng(0)),
                                  balanced_indices(labels, np.random.default_rng(0)))
    images = rng.integers(0, 256, (50, 4, 4), dtype=np.uint8)
    split = Split(to_device(images, xp), to_device(labels, xp)).take(to_device(np.arange(5), xp))
    assert isinstance(split.images, np.ndarray) and split.labels.tolist() == labels[:5].tolist()


def test_saliency_and_gradcam_panels_and_figures_take_device_faces_and_classes(xp, faces):
    clf = tiny_classifier(size=16)
    picked = np.array([0, 3, 6])
    for panels in (saliency.saliency_panels, gradcam.gradcam_panels):
        host, device = panels(clf, faces, picked), panels(clf, to_device(faces, xp), to_device(picked, xp))
        for a, b in zip(np.ravel(host), np.ravel(device)):
            np.testing.assert_allclose(b.scaled(), a.scaled(), rtol=1e-5, atol=1e-6)
    for figure in (saliency.saliency_figure, gradcam.gradcam_figure):
        assert figure(clf, to_device(faces[0], xp), classes=to_device(picked, xp)).axes


def test_activation_figures_and_sparsity_take_device_arrays(xp, faces):
    clf = tiny_classifier(size=16)
    assert activations.activations_figure(clf, to_device(faces[0], xp), "relu1").axes
    assert activations.epochs_figure([(1, clf)], to_device(faces[0], xp)).axes
    assert activations.sparsity(to_device(np.array([0.0, 1.0, 0.0, 2.0]), xp)) == 0.5


def test_class_figures_take_device_labels_and_probabilities(xp, faces, rng):
    clf = tiny_classifier(size=16)
    labels = np.array([0, 0, 1])
    proba = clf.proba(faces)
    right, wrong = classes.pick_examples(to_device(labels, xp), to_device(proba.argmax(axis=1), xp), 0, k=2)
    np.testing.assert_array_equal(np.concatenate([right, wrong]), np.flatnonzero(labels == 0))
    fig = classes.class_figure(clf, "saliency", to_device(faces, xp), to_device(labels, xp), to_device(proba, xp), 0)
    assert fig.axes


def test_dreams_start_from_device_faces_and_device_channels(xp, faces):
    clf = tiny_classifier(size=16)
    host = deepdream.dream(clf, start=faces[:2], channels=np.array([1, 2]), steps=2, octaves=1)
    device = deepdream.dream(clf, start=to_device(faces[:2], xp), channels=to_device(np.array([1, 2]), xp),
                             steps=2, octaves=1)
    np.testing.assert_allclose(device.image, host.image, rtol=1e-4, atol=1e-3)


def test_a_confusion_matrix_on_the_device_is_plotted(xp, tmp_path):
    cm = to_device(np.array([[3, 1], [0, 2]]), xp)
    assert curves.plot_confusion(cm, ["a", "b"], tmp_path / "cm.png").exists()
    assert to_numpy(cm).sum() == 6
