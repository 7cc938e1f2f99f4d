"""Average pooling over square windows.

Every window contributes the mean of its size*size values, so in backward each
input position receives dout / (size*size) from every window that contains it
(windows that overlap, stride < size, add up). Non-overlapping tiles (stride ==
size dividing H and W) take a reshape instead of a window view: the same
numbers, one pass.
"""
from ..backend import xp_of
from ._check import require_shape, require_window
from ._windows import add_windows, window_view


def avgpool_forward(x, size=2, stride=None):
    """out[n, c, p, q] = mean of the size x size window at (p*stride, q*stride).

    x (N, C, H, W) -> out (N, C, H', W'), H' = (H - size)//stride + 1 (same for W);
    stride defaults to size. Returns (out, cache).
    """
    stride = size if stride is None else stride
    require_window("avgpool_forward", x, size, stride)
    n, c, h, w = x.shape
    if size == stride and h % size == 0 and w % size == 0:
        out = x.reshape(n, c, h // size, size, w // size, size).mean(axis=(3, 5))
    else:
        out = window_view(x, size, size, stride).mean(axis=(2, 3))
    return out, (x.shape, size, stride)


def avgpool_backward(dout, cache):
    """dx[n, c, y, x] = sum over the windows holding (y, x) of dout[n, c, p, q] / (size*size)."""
    x_shape, size, stride = cache
    n, c, h, w = x_shape
    ho, wo = (h - size) // stride + 1, (w - size) // stride + 1
    require_shape("avgpool_backward", "dout", dout, (n, c, ho, wo), "the forward output")
    xp = xp_of(dout)
    share = dout / (size * size)
    if size == stride and h % size == 0 and w % size == 0:
        tiles = xp.broadcast_to(share[:, :, :, None, :, None], (n, c, ho, size, wo, size))
        return tiles.reshape(x_shape)
    dwin = xp.broadcast_to(share[:, :, None, None], (n, c, size, size, ho, wo))
    return add_windows(dwin, x_shape, stride)
