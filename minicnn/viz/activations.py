"""Activation maps: what each conv layer responds to in one face, and how that changes in training.

``activation_maps(model, X, layer)`` runs the network (evaluation mode) up to
``layer`` and returns its maps (N, K, h, w). The figures show, for one face,
the maps of every conv block (the ReLU output after each conv), one figure per
layer, and -- from the checkpoints of one run -- the first layer's maps of the
same face at several epochs, one row per epoch. Each row is drawn on its own
colour scale (a colorbar per row) and its title gives the fraction of exactly
zero activations, the sparsity that the paper saw grow as training proceeds.
"""
import numpy as np

from ..backend import to_numpy
from ..errors import ConfigError
from .figures import Panel, face_panel, panel_grid


def conv_activation_layers(model):
    """The ReLU after each conv layer (the conv blocks' activations), input to output."""
    names, after_conv = [], False
    for layer in model.layers:
        if layer.kind == "conv":
            after_conv = True
        elif after_conv and layer.kind in ("relu", "leaky_relu"):
            names.append(layer.name)
            after_conv = False
    if not names:
        raise ConfigError("this model has no conv layers: there are no activation maps to show")
    return names


def activation_maps(model, X, layer):
    """Output of ``layer`` for ``X`` in evaluation mode: host float64 (N, K, h, w)."""
    maps = np.asarray(to_numpy(model.forward_to(X, layer)), dtype=np.float64)
    if maps.ndim != 4:
        raise ConfigError(f"layer {layer!r} outputs {maps.shape[1:]}, not maps; choose one of "
                          f"{', '.join(conv_activation_layers(model))}")
    return maps


def sparsity(maps):
    """Fraction of activations that are exactly zero (host or device maps)."""
    return float(np.mean(np.asarray(to_numpy(maps)) == 0))


def _map_panels(maps, label):
    """Panels for maps (K, h, w) on one shared colour scale, without colorbars."""
    lo, hi = float(maps.min()), float(maps.max())
    hi = hi if hi > lo else lo + 1.0
    return [Panel(m, title=f"{label}[{i}]", cmap="viridis", vmin=lo, vmax=hi, colorbar=False)
            for i, m in enumerate(maps)]


def _with_colorbar(row):
    """The row, its last panel carrying the (shared) colorbar."""
    row[-1].colorbar, row[-1].label = True, "activation"
    return row


def activations_figure(clf, face, layer, max_maps=32, ncols=8):
    """The face (H, W) and the first ``max_maps`` maps of ``layer`` for it, on one colour scale."""
    face = to_numpy(face)
    maps = activation_maps(clf.model, clf.inputs(np.asarray(face)[None]), layer)[0]
    shown = _map_panels(maps[:max_maps], layer)
    ncols = min(ncols, len(shown))
    rows = [[face_panel(face, "input face", colorbar=True)] + [None] * (ncols - 1)]
    rows += [_with_colorbar(shown[i:i + ncols]) for i in range(0, len(shown), ncols)]
    return panel_grid(rows, panel_inches=1.3, suptitle=(
        f"{layer}: {len(shown)} of {maps.shape[0]} maps ({maps.shape[1]}x{maps.shape[2]}), "
        f"{sparsity(maps):.0%} zeros"))


def epochs_figure(classifiers, face, layer=None, max_maps=8):
    """One row per (epoch, Classifier): the face's first ``max_maps`` maps of ``layer`` at that epoch.

    classifiers: a list of ``(epoch, Classifier)`` from the checkpoints of one
    run; layer: default the first conv block's ReLU. The same channels appear
    in every row (a channel keeps its identity through training).
    """
    name = layer or conv_activation_layers(classifiers[0][1].model)[0]
    face = to_numpy(face)
    rows = []
    for epoch, clf in classifiers:
        maps = activation_maps(clf.model, clf.inputs(np.asarray(face)[None]), name)[0]
        first = face_panel(face, f"epoch {epoch}: {sparsity(maps):.0%} zeros")
        rows.append(_with_colorbar([first] + _map_panels(maps[:max_maps], name)))
    return panel_grid(rows, panel_inches=1.3,
                      suptitle=f"{name} maps of one face through training (row title: fraction of zeros)")
