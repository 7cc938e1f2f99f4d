"""Max pooling over square windows.

Ties: when several values of a window share the maximum, the FIRST of them in
row-major window order (smallest row, then smallest column) receives the whole
gradient; the others get 0. Both code paths below follow this rule exactly:
  * fast path: size == stride and H, W divisible by size (non-overlapping
    tiles): element-wise max over the size*size strided slices
    x[:, :, i::s, j::s], keeping the offset of the first maximum (one byte per
    output, the whole cache); blocks of images on every core for NumPy;
  * general path: any window and stride (a strided window view, argmax).
"""
from ..backend import xp_of
from ._check import require_shape, require_window
from ._parallel import for_blocks
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
    if size == stride and h % size == 0 and w % size == 0 and size * size <= 256:
        n, c = x.shape[:2]
        out = xp.empty((n, c, h // size, w // size), dtype=x.dtype)
        first_max = xp.empty(out.shape, dtype=xp.uint8)
        for_blocks(lambda lo, hi, _: _max_of_tiles(xp, x[lo:hi], size, out[lo:hi], first_max[lo:hi]),
                   n, x[0].nbytes, xp)
        return out, ("tiles", first_max, x.shape, size)
    return _maxpool_forward_general(x, size, stride)


def _max_of_tiles(xp, x, s, out, first_max):
    """Tile maxima of x into out and the offset k (row-major in the tile) of the first maximum into first_max.

    Visits the s*s strided slices x[:, :, i::s, j::s] in row-major order; a
    later slice takes over only where it is strictly greater, so ties keep
    the first. As offsets only grow, the offset that took over last is the
    largest k where slice k beat the maximum so far.
    """
    offsets = _offsets(s)
    out[...] = x[:, :, 0::s, 0::s]
    first_max[...] = 0
    for k, (i, j) in enumerate(offsets[1:], start=1):
        tile_slice = x[:, :, i::s, j::s]
        took_over = xp.multiply(tile_slice > out, xp.uint8(k))
        xp.maximum(out, tile_slice, out=out)
        xp.maximum(first_max, took_over, out=first_max)


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
        # Non-overlapping tiles: every element of x lies in exactly one tile,
        # so each strided slice of dx is written once: dout where that offset
        # held the tile's first maximum, 0 elsewhere.
        _, first_max, x_shape, s = cache
        require_shape("maxpool_backward", "dout", dout, first_max.shape, "the forward output")
        dx = xp.empty(x_shape, dtype=dout.dtype)

        def block(lo, hi, _):
            for k, (i, j) in enumerate(_offsets(s)):
                xp.multiply(first_max[lo:hi] == k, dout[lo:hi], out=dx[lo:hi, :, i::s, j::s])
        for_blocks(block, x_shape[0], dx[0].nbytes, xp)
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
