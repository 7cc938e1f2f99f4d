"""Max pooling over square windows.

Ties: when several values of a window share the maximum, the FIRST of them in
row-major window order (smallest row, then smallest column) receives the whole
gradient; the others get 0. Both code paths below follow this rule exactly:
  * fast path: size == stride and H, W divisible by size (non-overlapping
    tiles): element-wise max over the size*size strided slices
    x[:, :, i::s, j::s], and in backward the first slice equal to the max wins;
  * general path: any window and stride (a strided window view, argmax).
"""
from ..backend import xp_of
from ._check import require_shape, require_window
from ._windows import add_windows, window_view


def maxpool_forward(x, size=2, stride=None):
    """out[n, c, p, q] = max over the size x size window at (p*stride, q*stride).

    x (N, C, H, W) -> out (N, C, H', W'), H' = (H - size)//stride + 1 (same for W);
    stride defaults to size. Returns (out, cache).
    """
    stride = size if stride is None else stride
    require_window("maxpool_forward", x, size, stride)
    xp = xp_of(x)
    h, w = x.shape[2:]
    if size == stride and h % size == 0 and w % size == 0:
        slices = [x[:, :, i::size, j::size] for i, j in _offsets(size)]
        out = slices[0] if size == 1 else xp.maximum(slices[0], slices[1])
        for tile_slice in slices[2:]:
            xp.maximum(out, tile_slice, out=out)
        return out, ("tiles", x, out, size)
    return _maxpool_forward_general(x, size, stride)


def _offsets(size):
    """Window offsets (i, j) in row-major order: the order that breaks ties."""
    return [(i, j) for i in range(size) for j in range(size)]


def _maxpool_forward_general(x, size, stride):
    """The general path for any window and stride, on validated arguments
    (``maxpool_forward`` picks it; tests call it directly to compare paths)."""
    xp = xp_of(x)
    windows = _flat_windows(x, size, stride)                  # (N, C, H', W', size*size)
    first_max = xp.argmax(windows, axis=-1)
    out = xp.take_along_axis(windows, first_max[..., None], axis=-1)[..., 0]
    return out, ("windows", first_max, x.shape, size, stride)


def maxpool_backward(dout, cache):
    """dx: each dout[n, c, p, q] goes to the (first) max of its window; windows
    that overlap add up. Returns dx of shape (N, C, H, W).
    """
    kind = cache[0]
    xp = xp_of(dout)
    if kind == "tiles":
        # Non-overlapping tiles: visit the offsets in row-major order; the first
        # one holding the tile's max takes dout, later equal values get nothing.
        _, x, out, s = cache
        require_shape("maxpool_backward", "dout", dout, out.shape, "the forward output")
        # Fast path: every element of x lies in exactly one tile, so each
        # strided slice of dx is written once, straight from the product.
        dx = xp.empty(x.shape, dtype=dout.dtype)
        taken = None
        for i, j in _offsets(s):
            hit = x[:, :, i::s, j::s] == out
            if taken is None:
                taken = hit
            else:
                hit &= ~taken
                taken |= hit
            xp.multiply(hit, dout, out=dx[:, :, i::s, j::s])
        return dx
    _, first_max, x_shape, size, stride = cache
    require_shape("maxpool_backward", "dout", dout, first_max.shape, "the forward output")
    dwin = _route_to_first_max(xp, first_max, dout, size * size)
    n, c, ho, wo = first_max.shape
    dwin = dwin.reshape(n, c, ho, wo, size, size).transpose(0, 1, 4, 5, 2, 3)
    return add_windows(dwin, x_shape, stride)


def _route_to_first_max(xp, first_max, dout, k):
    """(N, C, H', W', k) window gradients: dout at the argmax position, 0 elsewhere."""
    one_hot = first_max[..., None] == xp.arange(k)
    return one_hot * dout[..., None]


def _flat_windows(x, size, stride):
    """Windows of x copied to (N, C, H', W', size*size), row-major inside a window."""
    n, c = x.shape[:2]
    view = window_view(x, size, size, stride)                 # (N, C, size, size, H', W')
    ho, wo = view.shape[4:]
    return view.transpose(0, 1, 4, 5, 2, 3).reshape(n, c, ho, wo, size * size)
