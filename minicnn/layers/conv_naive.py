"""Convolution by plain loops over output positions: the readable reference.

Slow on purpose; it is the test oracle for ``conv.conv_forward`` and a place
to read the math. Same signatures, shapes and cache contract as ``conv``.
"""
from ..backend import xp_of
from .conv import check_conv_args


def conv_forward_naive(x, w, b, stride=1, pad=0):
    """out[n, f, p, q] = b[f] + sum_{c,i,j} w[f, c, i, j] * x_pad[n, c, p*s + i, q*s + j].

    x (N, C, H, W), w (F, C, KH, KW), b (F,) -> out (N, F, H', W'). Returns (out, cache).
    """
    xp = xp_of(x, w, b)
    ho, wo = check_conv_args("conv_forward_naive", x, w, b, stride, pad)
    kh, kw = w.shape[2:]
    x_pad = xp.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    out = xp.zeros((x.shape[0], w.shape[0], ho, wo), dtype=x.dtype)
    for p in range(ho):
        for q in range(wo):
            window = x_pad[:, :, p * stride:p * stride + kh, q * stride:q * stride + kw]
            out[:, :, p, q] = xp.tensordot(window, w, axes=([1, 2, 3], [1, 2, 3])) + b
    return out, (x, w, stride, pad)


def conv_backward_naive(dout, cache):
    """Loop form of the gradients: every window sends dout[n, f, p, q] * w[f]
    back to its pixels (dx) and dout[n, f, p, q] * window to dw; db sums dout.

    Returns (dx, dw, db).
    """
    x, w, stride, pad = cache
    xp = xp_of(dout)
    kh, kw = w.shape[2:]
    x_pad = xp.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dx_pad = xp.zeros_like(x_pad)
    dw = xp.zeros_like(w)
    for p in range(dout.shape[2]):
        for q in range(dout.shape[3]):
            rows = slice(p * stride, p * stride + kh)
            cols = slice(q * stride, q * stride + kw)
            g = dout[:, :, p, q]                                   # (N, F)
            dx_pad[:, :, rows, cols] += xp.tensordot(g, w, axes=(1, 0))
            dw += xp.tensordot(g, x_pad[:, :, rows, cols], axes=(0, 0))
    db = dout.sum(axis=(0, 2, 3))
    dx = dx_pad[:, :, pad:pad + x.shape[2], pad:pad + x.shape[3]]
    return dx, dw, db
