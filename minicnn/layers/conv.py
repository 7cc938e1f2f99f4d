"""2-D convolution (cross-correlation) by im2col + one matrix product.

Layout of the column matrix used by ``im2col`` / ``col2im``:
    cols has shape (C*KH*KW, N*H'*W'); row r = (c*KH + i)*KW + j holds kernel
    offset (i, j) of channel c, column k = (n*H' + p)*W' + q is output position
    (p, q) of example n, and cols[r, k] = x_pad[n, c, p*stride + i, q*stride + j].
With w reshaped to (F, C*KH*KW) the convolution is one GEMM: w_mat @ cols.
"""
from ..backend import xp_of
from ..errors import ShapeError
from ._check import require_ndim, require_positive_int, require_shape
from ._windows import add_windows, output_size, window_view


def _pad_channels_first(x, pad):
    """x (N, C, H, W) -> zero-padded x_pad transposed to (C, N, H + 2 pad, W + 2 pad), one copy.

    With channels first, the windows im2col copies for one row of cols lie in
    one contiguous block of memory (a faster copy than from NCHW).
    """
    xp = xp_of(x)
    n, c, h, w = x.shape
    if pad == 0:
        return xp.ascontiguousarray(x.transpose(1, 0, 2, 3))
    x_pad = xp.zeros((c, n, h + 2 * pad, w + 2 * pad), dtype=x.dtype)
    x_pad[:, :, pad:pad + h, pad:pad + w] = x.transpose(1, 0, 2, 3)
    return x_pad


def im2col(x, kh, kw, stride, pad):
    """Unfold every KH x KW window of zero-padded x into a contiguous matrix.

    x (N, C, H, W) -> cols (C*KH*KW, N*H'*W') in the layout of the module
    docstring, H' = (H + 2 pad - KH)//stride + 1 (same for W'). The windows are
    read through a strided view and copied once.
    """
    xp = xp_of(x)
    n, c = x.shape[:2]
    view = window_view(_pad_channels_first(x, pad), kh, kw, stride)   # (C, N, KH, KW, H', W')
    ho, wo = view.shape[4:]
    cols = xp.ascontiguousarray(view.transpose(0, 2, 3, 1, 4, 5))
    return cols.reshape(c * kh * kw, n * ho * wo)


def col2im(cols, x_shape, kh, kw, stride, pad):
    """Adjoint of ``im2col``: sum the columns back onto an (N, C, H, W) grid.

    cols (C*KH*KW, N*H'*W') in the layout of the module docstring -> dx of
    shape x_shape = (N, C, H, W); values that fall on the zero padding are
    dropped. Every input pixel receives the sum over all windows covering it.
    The sums run on a (C, N, H + 2 pad, W + 2 pad) grid, in the memory order
    of cols, and one copy at the end crops and transposes it to NCHW.
    """
    xp = xp_of(cols)
    n, c, h, w = x_shape
    ho, wo = output_size(h, kh, stride, pad), output_size(w, kw, stride, pad)
    dwin = cols.reshape(c, kh, kw, n, ho, wo).transpose(0, 3, 1, 2, 4, 5)   # (C, N, KH, KW, H', W')
    dx_pad = add_windows(dwin, (c, n, h + 2 * pad, w + 2 * pad), stride)
    return xp.ascontiguousarray(dx_pad[:, :, pad:pad + h, pad:pad + w].transpose(1, 0, 2, 3))


def check_conv_args(layer, x, w, b, stride, pad):
    """Validate conv inputs (shared with the naive reference); return (H', W')."""
    require_ndim(layer, "x", x, 4, "(N, C, H, W)")
    require_ndim(layer, "w", w, 4, "(F, C, KH, KW)")
    require_positive_int(layer, "stride", stride)
    require_positive_int(layer, "pad", pad, minimum=0)
    if x.shape[1] != w.shape[1]:
        raise ShapeError(f"{layer}: x has {x.shape[1]} channels but w expects {w.shape[1]} "
                         f"(x {tuple(x.shape)}, w {tuple(w.shape)})")
    require_shape(layer, "b", b, (w.shape[0],), "one bias per filter of w")
    h, wd = x.shape[2:]
    kh, kw = w.shape[2:]
    if h + 2 * pad < kh or wd + 2 * pad < kw:
        raise ShapeError(f"{layer}: kernel {kh}x{kw} does not fit input {h}x{wd} with pad {pad}")
    return output_size(h, kh, stride, pad), output_size(wd, kw, stride, pad)


def conv_forward(x, w, b, stride=1, pad=0):
    """Convolve N images with F filters (cross-correlation, as in every CNN library).

    Shapes: x (N, C, H, W), w (F, C, KH, KW), b (F,) -> out (N, F, H', W'),
    H' = (H + 2 pad - KH)//stride + 1, W' = (W + 2 pad - KW)//stride + 1.
    Math: out[n, f, p, q] = b[f] + sum_{c,i,j} w[f, c, i, j] * x_pad[n, c, p*s + i, q*s + j].
    Computed as out_mat = w_mat (F, C*KH*KW) @ im2col(x) (C*KH*KW, N*H'*W').
    Returns (out, cache).
    """
    xp = xp_of(x, w, b)
    ho, wo = check_conv_args("conv_forward", x, w, b, stride, pad)
    f, _, kh, kw = w.shape
    cols = im2col(x, kh, kw, stride, pad)
    out_mat = w.reshape(f, -1) @ cols                          # (F, N*H'*W')
    # Back to (N, F, H', W') and the bias added in one pass over the output.
    out = xp.empty((x.shape[0], f, ho, wo), dtype=out_mat.dtype)
    xp.add(out_mat.reshape(f, x.shape[0], ho, wo).transpose(1, 0, 2, 3), b.reshape(1, f, 1, 1), out=out)
    return out, (cols, w, x.shape, stride, pad)


def conv_backward(dout, cache):
    """Gradients of the convolution.

    dout (N, F, H', W') -> with dout_mat = dout as (F, N*H'*W'):
    dw = dout_mat @ cols^T reshaped to (F, C, KH, KW); db = sum of dout over
    N, H', W' (F,); dx = col2im(w_mat^T @ dout_mat) of shape (N, C, H, W).
    Returns (dx, dw, db).
    """
    cols, w, x_shape, stride, pad = cache
    xp = xp_of(dout)
    f, _, kh, kw = w.shape
    n, _, h, wd = x_shape
    require_shape("conv_backward", "dout", dout,
                  (n, f, output_size(h, kh, stride, pad), output_size(wd, kw, stride, pad)),
                  "the forward output")
    dout_mat = xp.ascontiguousarray(dout.transpose(1, 0, 2, 3)).reshape(f, -1)
    db = dout_mat.sum(axis=1)
    # Fast path: with a long inner dimension N*H'*W', OpenBLAS is many times
    # slower when the product has fewer rows than columns (measured), so the
    # taller of dw_mat (F, C*KH*KW) and its transpose is computed.
    ckk = cols.shape[0]
    dw_mat = dout_mat @ cols.T if f >= ckk else (cols @ dout_mat.T).T
    dw = xp.ascontiguousarray(dw_mat).reshape(w.shape)
    dcols = xp.ascontiguousarray(w.reshape(f, -1).T) @ dout_mat   # (C*KH*KW, N*H'*W')
    dx = col2im(dcols, x_shape, kh, kw, stride, pad)
    return dx, dw, db
