"""Resizing and blurring of image batches as small matrix products.

Every operation here is linear and separable, so it is a pair of matrices:
for a batch ``z`` (..., H, W), ``apply(A, z, B) = A @ z @ B.T`` with A
(H', H) acting on rows and B (W', W) on columns. The matrices are built once
on the host and moved to ``z``'s backend, so the same lines run on NumPy and
CuPy, and the adjoint (needed to pull a gradient back through a resize) is
just the transposes: ``apply(A.T, g, B.T)``.

* ``resize_matrix(n_out, n_in)``: bilinear interpolation with pixel centres at
  ``i + 0.5`` (scikit-image's ``resize(order=1)`` convention; edges clamp)
  when enlarging; when shrinking, the transpose of the enlarging matrix with
  rows normalised to sum 1, a triangle (area-like) filter that avoids aliasing.
* ``gaussian_matrix(n, sigma)``: a Gaussian blur whose weights are
  renormalised near the borders, so a constant image stays constant.
"""
import numpy as np

from ..backend import to_device, xp_of


def resize_matrix(n_out, n_in):
    """(n_out, n_in) float64 matrix M with rows summing to 1 that resamples a 1-D signal."""
    if n_out < n_in:
        up = resize_matrix(n_in, n_out).T
        return up / up.sum(axis=1, keepdims=True)
    src = np.clip((np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5, 0, n_in - 1)
    i0 = np.floor(src).astype(np.int64)
    i1 = np.minimum(i0 + 1, n_in - 1)
    w = src - i0
    m = np.zeros((n_out, n_in))
    rows = np.arange(n_out)
    m[rows, i0] += 1 - w
    m[rows, i1] += w  # i1 == i0 at the clamped edge: the weights add up to 1 there
    return m


def gaussian_matrix(n, sigma):
    """(n, n) float64 blur matrix: K[i, j] proportional to exp(-(i-j)^2 / (2 sigma^2)), rows sum to 1."""
    d = np.arange(n)[:, None] - np.arange(n)[None, :]
    k = np.exp(-0.5 * (d / float(sigma)) ** 2)
    return k / k.sum(axis=1, keepdims=True)


def apply(rows, z, cols):
    """``rows @ z @ cols.T`` over the last two axes of ``z`` (..., H, W), on ``z``'s backend and dtype."""
    xp = xp_of(z)
    a = to_device(rows, xp, dtype=z.dtype)
    b = to_device(cols, xp, dtype=z.dtype)
    return xp.matmul(xp.matmul(a, z), b.T)


def resize(z, shape):
    """Batch ``z`` (..., H, W) resampled to (..., shape[0], shape[1]) (see ``resize_matrix``)."""
    h, w = z.shape[-2:]
    return apply(resize_matrix(shape[0], h), z, resize_matrix(shape[1], w))


def blur(z, sigma):
    """Batch ``z`` (..., H, W) blurred by a Gaussian of standard deviation ``sigma`` pixels."""
    h, w = z.shape[-2:]
    return apply(gaussian_matrix(h, sigma), z, gaussian_matrix(w, sigma))


def resize_adjoint(g, shape):
    """Pull a gradient ``g`` (..., H', W') on a resized batch back to the original (..., shape).

    If ``y = resize(z, (H', W'))`` then d/dz = ``resize_adjoint(d/dy, z.shape[-2:])``.
    """
    h, w = g.shape[-2:]
    return apply(resize_matrix(h, shape[0]).T, g, resize_matrix(w, shape[1]).T)
