"""Fully connected (affine) layer (its matrix products on every core: ``_parallel.matmul``)."""
from ..backend import xp_of
from ..errors import ShapeError
from ._check import require_min_ndim, require_ndim, require_shape
from ._parallel import matmul, owns_cores


@owns_cores
def affine_forward(x, w, b):
    """out = x_flat @ w + b.

    Shapes: x (N, d1, ..., dk) is flattened per example to x_flat (N, D) with
    D = d1*...*dk; w (D, M); b (M,); out (N, M).
    Returns (out, cache).
    """
    xp_of(x, w, b)  # refuses NumPy and CuPy arrays mixed
    require_min_ndim("affine_forward", "x", x, 2, "(N, d1, ..., dk)")
    require_ndim("affine_forward", "w", w, 2, "(D, M)")
    x_flat = x.reshape(x.shape[0], -1)
    if w.shape[0] != x_flat.shape[1]:
        raise ShapeError(f"affine_forward: x of shape {tuple(x.shape)} has {x_flat.shape[1]} "
                         f"features per example but w of shape {tuple(w.shape)} expects {w.shape[0]}")
    require_shape("affine_forward", "b", b, (w.shape[1],), "one bias per column of w")
    out = matmul(x_flat, w)
    out += b
    return out, (x_flat, w, x.shape)


@owns_cores
def affine_backward(dout, cache):
    """Gradients of the affine layer.

    dout (N, M) -> dx = dout @ w^T reshaped to x's shape (N, d1, ..., dk),
    dw = x_flat^T @ dout (D, M), db = sum over N of dout (M,).
    Returns (dx, dw, db).
    """
    x_flat, w, x_shape = cache
    require_shape("affine_backward", "dout", dout, (x_flat.shape[0], w.shape[1]), "the forward output")
    dx = matmul(dout, w.T).reshape(x_shape)
    dw = matmul(x_flat.T, dout)
    db = dout.sum(axis=0)
    return dx, dw, db
