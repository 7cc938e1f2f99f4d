"""Host fast path of the im2col convolution: one column matrix per image, products in NCHW order.

The reference (``conv.conv_forward_im2col``) lays the whole batch out as one
(C*KH*KW, N*H'*W') matrix; its product comes out as (F, N, H', W') and needs
a transposing copy to (N, F, H', W'), and backward needs one of dout the
other way. Here each image has its own matrix

    cols[n] (C*KH*KW + 1, H'*W'): rows r = (c*KH + i)*KW + j as in the
    reference, cols[n, r, p*W' + q] = x_pad[n, c, p*stride + i, q*stride + j],
    and a last row of ones,

so the per-image products w_b @ cols[n] with w_b = [w_mat | b] (F, C*KH*KW + 1)
land in (N, F, H'*W') order, which is the output's own memory layout, with the
bias already added (the row of ones). Backward reads dout in its own layout too:
dw_b = sum_n dout[n] @ cols[n]^T gives dw and, in its last column, db; the
columns' gradient w_mat^T @ dout[n] is summed back onto the image grid.
For the one-channel first layers (nine rows) this halved the layer's time on
one core (docs/speed.md, fifth round).
"""
from ..backend import xp_of
from ._windows import add_windows, window_view


def with_bias(w, b):
    """w (F, C, KH, KW) and b (F,) -> w_b (F, C*KH*KW + 1): the weights as rows, the bias as last column."""
    xp = xp_of(w, b)
    f = w.shape[0]
    return xp.concatenate([w.reshape(f, -1), b.reshape(f, 1)], axis=1)


def image_columns(x, kh, kw, stride, pad):
    """x (N, C, H, W) -> cols (N, C*KH*KW + 1, H'*W'), the layout of the module docstring (one copy of the windows)."""
    xp = xp_of(x)
    n, c, h, w = x.shape
    x_pad = xp.zeros((n, c, h + 2 * pad, w + 2 * pad), dtype=x.dtype)
    x_pad[:, :, pad:pad + h, pad:pad + w] = x
    view = window_view(x_pad, kh, kw, stride)                 # (N, C, KH, KW, H', W')
    ckk, (ho, wo) = c * kh * kw, view.shape[4:]
    cols = xp.empty((n, ckk + 1, ho * wo), dtype=x.dtype)
    cols[:, ckk] = 1
    cols[:, :ckk].reshape(view.shape)[...] = view
    return cols


def forward_chunk(x, w_b, kh, kw, stride, pad, out):
    """Write the convolution of images x (n, C, H, W) with w_b (``with_bias``) into out (n, F, H', W')."""
    xp = xp_of(x)
    n, f = out.shape[:2]
    xp.matmul(w_b, image_columns(x, kh, kw, stride, pad), out=out.reshape(n, f, -1))


def backward_chunk(dout, x, w, stride, pad, dw_b_sum, dx):
    """Gradients of ``forward_chunk``: dx (n, C, H, W) written, dw and db added into dw_b_sum (F, C*KH*KW + 1)."""
    xp = xp_of(dout)
    n, f = dout.shape[:2]
    c, kh, kw = w.shape[1:]
    h, wd = x.shape[2:]
    cols = image_columns(x, kh, kw, stride, pad)
    d = dout.reshape(n, f, -1)
    dw_b_sum += xp.matmul(d, cols.transpose(0, 2, 1)).sum(axis=0)
    dcols = xp.matmul(xp.ascontiguousarray(w.reshape(f, -1).T), d)          # (n, C*KH*KW, H'*W')
    grid = add_windows(dcols.reshape(n, c, kh, kw, *dout.shape[2:]), (n, c, h + 2 * pad, wd + 2 * pad), stride)
    dx[...] = grid[:, :, pad:pad + h, pad:pad + wd]
