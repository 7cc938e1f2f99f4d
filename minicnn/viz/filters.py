"""First-layer filters as an image grid (what the paper shows in its figures).

A conv layer's weights W (F, C, k, k) are F small images; for a one-channel
(grayscale) input each filter is shown as it is, k x k, on one shared grey
scale (black = most negative weight, white = most positive) so filters can be
compared; for C > 1 input channels the channel average is shown.
"""
import numpy as np

from ..backend import to_numpy
from ..errors import ConfigError
from .figures import Panel, panel_grid


def conv_layers(model):
    """Names of the conv layers, input to output."""
    return [layer.name for layer in model.layers if layer.kind == "conv"]


def filter_images(model, layer=None):
    """The filters of conv ``layer`` (default: the first) as host float64 (F, k, k)."""
    names = conv_layers(model)
    if not names:
        raise ConfigError("this model has no conv layer: there are no filters to show")
    layer = layer or names[0]
    if layer not in names:
        raise ConfigError(f"{layer!r} is not a conv layer; conv layers: {', '.join(names)}")
    w = np.asarray(to_numpy(model.layer(layer).params["W"]), dtype=np.float64)
    return w.mean(axis=1), layer


def filters_figure(model, layer=None, max_filters=64, title=""):
    """A grid of at most ``max_filters`` filters of conv ``layer`` on one shared scale with a colorbar."""
    images, layer = filter_images(model, layer)
    shown = images[:max_filters]
    k = images.shape[-1]
    panels = [Panel(f, title=f"{layer}[{i}]") for i, f in enumerate(shown)]
    ncols = int(np.ceil(np.sqrt(len(panels))))
    return panel_grid(panels, ncols=ncols, shared=True, shared_label="weight", panel_inches=1.0,
                      suptitle=title or f"{layer}: {len(shown)} of {len(images)} filters, {k}x{k}")
