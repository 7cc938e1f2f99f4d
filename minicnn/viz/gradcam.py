"""Grad-CAM (Selvaraju et al. 2017): where in the image a conv layer found evidence for a class.

For a conv layer's activations A (K, h, w) and the class score s_c::

    alpha_k = (1 / (h w)) sum_ij  d s_c / d A[k, i, j]      (spatial mean of the gradient)
    cam     = ReLU( sum_k alpha_k A[k] )                    (h, w)

then resized bilinearly to the input size (48x48) and laid over the face.
The layer defaults to the last ReLU with spatial output (the last conv
block's activations; for a pooled block, the map before the pool, at twice
its resolution); any layer with (K, h, w) output can be named. Evaluation
mode; for hybrid models the HOG input is held fixed.
"""
import numpy as np

from ..backend import to_numpy, xp_of
from ..errors import ConfigError
from .figures import Panel, face_panel, panel_grid
from .resample import resize


def spatial_layers(model):
    """Names of the layers whose per-example output is a stack of maps (K, h, w)."""
    return [name for name, shape in model.output_shapes().items() if len(shape) == 3]


def default_layer(model):
    """The last ReLU with spatial output (else the last spatial layer): Grad-CAM's usual target."""
    spatial = spatial_layers(model)
    if not spatial:
        raise ConfigError("this model has no conv layers: Grad-CAM needs a layer with (K, h, w) maps")
    relus = [n for n in spatial if model.layer(n).kind == "relu"]
    return (relus or spatial)[-1]


def check_spatial(model, layer):
    """``layer`` if its output is (K, h, w) maps, else a ConfigError listing those that are."""
    model.layer(layer)
    if layer not in spatial_layers(model):
        raise ConfigError(f"layer {layer!r} has no spatial maps (output {model.output_shapes()[layer]}); "
                          f"choose one of {', '.join(spatial_layers(model))}")
    return layer


def gradcam(model, X, classes, layer=None):
    """Grad-CAM maps for ``classes``: host float64 (N, H, W) >= 0, at the input resolution.

    X: what ``model`` takes; classes: one index or an array (N,); layer: the
    name of a layer with spatial output (default ``default_layer(model)``).
    """
    layer = check_spatial(model, layer or default_layer(model))
    result = model.class_gradients(X, classes, taps=(layer,))
    acts, grads = result.activations[layer], result.grads[layer]
    xp = xp_of(acts)
    alpha = grads.mean(axis=(2, 3))                               # (N, K)
    cam = xp.maximum((alpha[:, :, None, None] * acts).sum(axis=1), 0)  # (N, h, w)
    h, w = model.config["input_shape"][1:]
    return np.asarray(to_numpy(resize(cam, (h, w))), dtype=np.float64)


def gradcam_panels(clf, faces, classes, layer=None):
    """For raw faces (N, H, W): overlay Panels of Grad-CAM for ``classes`` on each face (host or device)."""
    faces, classes = to_numpy(faces), to_numpy(classes)
    layer = layer or default_layer(clf.model)
    maps = gradcam(clf.model, clf.inputs(faces), classes, layer)
    classes = np.broadcast_to(np.asarray(classes), (len(faces),))
    return [Panel(f, title=f"Grad-CAM {layer}: {clf.class_names[c]}", overlay=m, label="class evidence")
            for f, m, c in zip(faces, maps, classes)]


def gradcam_figure(clf, face, classes=None, layer=None, title=""):
    """One face (H, W) with its Grad-CAM for each class in ``classes`` (default: all)."""
    classes = (list(range(len(clf.class_names))) if classes is None
               else [int(c) for c in np.atleast_1d(to_numpy(classes))])
    faces = np.repeat(np.asarray(to_numpy(face))[None], len(classes), axis=0)
    panels = gradcam_panels(clf, faces, np.asarray(classes), layer)
    proba = clf.proba(faces[:1])[0]
    for panel, c in zip(panels, classes):
        panel.title = f"{clf.class_names[c]} (p={proba[c]:.2f})"
    row = [face_panel(face, title="input face", colorbar=True)] + panels
    return panel_grid(row, ncols=min(len(row), 4),
                      suptitle=title or f"Grad-CAM on {layer or default_layer(clf.model)}")
