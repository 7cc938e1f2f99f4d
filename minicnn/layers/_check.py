"""Cheap shape checks shared by the layers (shapes only, never values).

Each check raises ``ShapeError`` with one line naming the layer, the array and
its shape, so a user sees at once which call got what.
"""
from ..errors import ShapeError


def require_ndim(layer, name, a, ndim, meaning):
    """Raise unless ``a.ndim == ndim``; ``meaning`` spells the axes, e.g. "(N, C, H, W)"."""
    if a.ndim != ndim:
        raise ShapeError(f"{layer}: {name} has shape {tuple(a.shape)} but needs {ndim} dims {meaning}")


def require_min_ndim(layer, name, a, ndim, meaning):
    """Raise unless ``a.ndim >= ndim``."""
    if a.ndim < ndim:
        raise ShapeError(f"{layer}: {name} has shape {tuple(a.shape)} but needs at least "
                         f"{ndim} dims {meaning}")


def require_shape(layer, name, a, shape, why=""):
    """Raise unless ``a.shape == shape``; ``why`` says where the expected shape comes from."""
    if tuple(a.shape) != tuple(shape):
        suffix = f" ({why})" if why else ""
        raise ShapeError(f"{layer}: {name} has shape {tuple(a.shape)} but needs {tuple(shape)}{suffix}")


def require_positive_int(layer, name, value, minimum=1):
    """Raise unless ``value`` is an int >= ``minimum`` (stride, pad, window size)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ShapeError(f"{layer}: {name}={value!r} must be an integer >= {minimum}")


def require_window(layer, x, size, stride):
    """Raise unless x is (N, C, H, W), size and stride are integers >= 1 and a size x size window fits."""
    require_ndim(layer, "x", x, 4, "(N, C, H, W)")
    require_positive_int(layer, "size", size)
    require_positive_int(layer, "stride", stride)
    h, w = x.shape[2:]
    if h < size or w < size:
        raise ShapeError(f"{layer}: window {size}x{size} does not fit input of shape {tuple(x.shape)}")
