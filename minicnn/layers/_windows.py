"""Sliding windows over (N, C, H, W) arrays, shared by convolution and pooling.

``window_view`` reads every KH x KW window without copying (a strided view);
``add_windows`` is its adjoint: it sums per-window gradients back onto the
input grid by looping over the KH*KW kernel offsets (never over elements), each
step adding one strided slice. Both run on NumPy and CuPy. The two leading
axes are carried along untouched, so they may be (C, N) as well: convolution
works on channels-first grids (C, N, H, W).
"""
from importlib import import_module

from ..backend import xp_of


def output_size(size, k, stride, pad=0):
    """Number of window positions along one axis: (size + 2 pad - k) // stride + 1."""
    return (size + 2 * pad - k) // stride + 1


def window_view(x, kh, kw, stride):
    """A read-only strided view of all windows of ``x``.

    x: (N, C, H, W) -> view (N, C, KH, KW, H', W') with
    view[n, c, i, j, p, q] = x[n, c, p*stride + i, q*stride + j],
    H' = (H - KH)//stride + 1, W' = (W - KW)//stride + 1. No data is copied.
    """
    n, c, h, w = x.shape
    ho, wo = output_size(h, kh, stride), output_size(w, kw, stride)
    sn, sc, sh, sw = x.strides
    return strided_view(x, (n, c, kh, kw, ho, wo), (sn, sc, sh, sw, sh * stride, sw * stride))


def strided_view(x, shape, strides):
    """A view of x's memory with the given shape and byte strides (numpy's or cupy's as_strided); no copy."""
    xp = xp_of(x)
    return import_module(f"{xp.__name__}.lib.stride_tricks").as_strided(x, shape=shape, strides=strides)


def add_windows(dwin, x_shape, stride):
    """Adjoint of ``window_view``: sum window gradients back onto the grid.

    dwin: (N, C, KH, KW, H', W') -> dx of shape x_shape = (N, C, H, W) with
    dx[n, c, y, x] = sum of dwin[n, c, i, j, p, q] over p*stride + i = y,
    q*stride + j = x. Loops over the KH*KW offsets only.
    """
    xp = xp_of(dwin)
    kh, kw, ho, wo = dwin.shape[2:]
    dx = xp.zeros(x_shape, dtype=dwin.dtype)
    for i in range(kh):
        for j in range(kw):
            dx[:, :, i:i + stride * (ho - 1) + 1:stride,
               j:j + stride * (wo - 1) + 1:stride] += dwin[:, :, i, j]
    return dx
