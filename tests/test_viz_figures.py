"""Filters, activation maps (also across epochs) and the panel-grid figures they are drawn in."""
import numpy as np
import pytest
from PIL import Image

from minicnn.backend import to_numpy
from minicnn.errors import ConfigError
from minicnn.apps.inference import Classifier
from minicnn.viz import activations, filters
from minicnn.viz.figures import Panel, panel_grid, save_figure
from viz_models import tiny_classifier, tiny_model


def colorbars(fig):
    """The colorbar axes of a figure (a panel's own colorbar is an inset of the panel)."""
    every = fig.axes + [child for ax in fig.axes for child in ax.child_axes]
    return [ax for ax in every if hasattr(ax, "_colorbar")]


def test_a_shared_scale_grid_has_one_colorbar_and_a_title(tmp_path, rng):
    panels = [Panel(rng.standard_normal((3, 3)), title=f"f{i}") for i in range(5)]
    fig = panel_grid(panels, shared=True, suptitle="five", shared_label="weight")
    assert len(colorbars(fig)) == 1 and fig._suptitle.get_text() == "five"
    path = save_figure(fig, tmp_path / "sub" / "grid.png")
    assert Image.open(path).format == "PNG"


def test_the_filter_grid_shows_every_first_layer_filter_on_one_scale():
    model = tiny_model(size=16)
    images, layer = filters.filter_images(model)
    np.testing.assert_allclose(images, to_numpy(model.params["conv1.W"][:, 0]))
    fig = filters.filters_figure(model)
    assert layer == "conv1" and len([ax for ax in fig.axes if ax.images]) == 3 and len(colorbars(fig)) == 1
    with pytest.raises(ConfigError, match="not a conv layer"):
        filters.filter_images(model, "fc1")


def test_activation_maps_of_every_conv_block_for_one_face(rng):
    clf = tiny_classifier(size=16)
    assert activations.conv_activation_layers(clf.model) == ["relu1", "relu2"]
    face = rng.uniform(0, 255, (16, 16))
    maps = activations.activation_maps(clf.model, clf.inputs(face[None]), "relu2")
    assert maps.shape == (1, 4, 16, 16) and (maps >= 0).all()
    fig = activations.activations_figure(clf, face, "relu2")
    assert "relu2: 4 of 4 maps" in fig._suptitle.get_text() and colorbars(fig)


def test_the_epochs_figure_has_a_row_per_checkpoint_with_its_sparsity(rng):
    runs = [(e, Classifier(tiny_model(size=16, seed=e))) for e in (1, 5, 9)]
    fig = activations.epochs_figure(runs, rng.uniform(0, 255, (16, 16)), max_maps=2)
    titles = [ax.get_title() for ax in fig.axes if ax.get_title().startswith("epoch")]
    assert [t.split(":")[0] for t in titles] == ["epoch 1", "epoch 5", "epoch 9"]
    assert all(t.endswith("% zeros") for t in titles) and len(colorbars(fig)) == 3  # one per row
