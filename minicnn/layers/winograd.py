"""Winograd convolution F(m x m, r x r) (Lavin & Gray, 2015): im2col's result with fewer multiplications.

One dimension first. Correlating r filter taps g with a = m + r - 1 inputs d
gives m outputs, y[i] = sum_j g[j] d[i + j]: m*r multiplications. Winograd's
minimal filtering algorithm gets them with a multiplications only,

    y = A^T [(G g) * (B^T d)]            (* element-wise; A^T m x a, G a x r, B^T a x a)

because correlation is polynomial multiplication in disguise: evaluate both
polynomials at a points, multiply the values, interpolate back (Toom-Cook).
``winograd_matrices`` builds A^T, G and B^T from the points exactly, in
rational arithmetic. In two dimensions the same matrices act on rows and
columns: an m x m output tile from an a x a input tile d and an r x r filter g is

    Y = A^T [(G g G^T) * (B^T d B)] A.

For a batch, the element-wise product at each of the a*a positions xi of the
transformed tile becomes one matrix product over channels:

    U[xi] = (G w G^T)[xi]      (F, C)  filters, transformed once per call
    V[xi] = (B^T d B)[xi]      (T, C)  the T input tiles of every image
    M[xi] = V[xi] @ U[xi]^T    (T, F)  a*a matrix products
    out   = A^T M A per tile, placed side by side (tiles of the input overlap
            by r - 1 pixels, output tiles do not).

Direct convolution spends m*m*r*r multiplications per output tile and channel
pair, Winograd a*a: 2.25x fewer for F(2x2, 3x3), 4x for F(4x4, 3x3), 6.25x for
F(4x4, 5x5). The price: transforms (cheap, memory-bound passes) and rounding
error that grows with the tile (``benchmarks`` and the tests check it against
the direct convolution in float32).

Backward: every step above is linear, so the gradients run the transposed
steps in reverse order (their adjoints):

    dM = A dY A^T per tile;  dU[xi] = dM[xi]^T @ V[xi] -> dw = G^T dU G;
    dV[xi] = dM[xi] @ U[xi] -> dd = B dV B^T, summed back onto the overlapping
    input tiles.

Layout: tiles are cut from a zero-padded channels-last copy (N, H, W, C) of
the input, so every copy and product runs over contiguous channel vectors.
The input transform is separable and runs on whole image rows first (rows
shared by two tiles are transformed once), then on the columns of the cut
tiles; its adjoint adds the gradients back the same way. The output
transform runs columns then rows; the filter transform and the gradient of
the output transform are one matrix product each with a Kronecker matrix
(``_matrices``; the filter's on every core). Tile positions are numbered
column-major, xi = j*a + i.
``conv`` runs the batch in chunks of images sized by a memory budget, on
every core; the result does not depend on the chunking beyond float
rounding of the dw sum. Stride 1, square kernels.
"""
from fractions import Fraction
from functools import lru_cache

import numpy as np

from ..backend import xp_of
from ._parallel import matmul
from ._windows import output_size, strided_view

# Interpolation points, in the order they are used: small numbers keep the
# transforms' rounding error small (0, +-1, +-1/2, +-2, ...); infinity is added last.
POINTS = (Fraction(0), Fraction(1), Fraction(-1), Fraction(1, 2), Fraction(-1, 2), Fraction(2), Fraction(-2),
          Fraction(1, 4), Fraction(-1, 4), Fraction(4), Fraction(-4))


def _poly_mul(p, q):
    """Coefficients (lowest degree first) of the product of two polynomials."""
    out = [Fraction(0)] * (len(p) + len(q) - 1)
    for i, pi in enumerate(p):
        for j, qj in enumerate(q):
            out[i + j] += pi * qj
    return out


@lru_cache(maxsize=None)
def winograd_matrices(m, r):
    """(A^T (m, a), G (a, r), B^T (a, a)) of F(m, r), a = m + r - 1, as float64 NumPy arrays.

    Toom-Cook with the finite points p_0..p_{a-2} of ``POINTS`` and infinity:
    G evaluates the filter polynomial at each point (scaled by 1/N_k, N_k =
    prod_{l != k} (p_k - p_l)) and takes its leading coefficient at infinity;
    A^T evaluates the output polynomial (A^T[i, k] = p_k^i); the rows of B^T
    are the coefficients of prod_{l != k} (x - p_l) and, for infinity, of
    prod_l (x - p_l). Then y = A^T [(G g) * (B^T d)] is exactly the
    correlation y[i] = sum_j g[j] d[i + j] (checked in the tests).
    """
    a = m + r - 1
    if a - 1 > len(POINTS):
        raise ValueError(f"F({m}, {r}) needs {a - 1} interpolation points; {len(POINTS)} are defined")
    pts = POINTS[:a - 1]
    at = [[p ** i for p in pts] + [Fraction(int(i == m - 1))] for i in range(m)]
    g, bt = [], []
    for k, p in enumerate(pts):
        scale, basis = Fraction(1), [Fraction(1)]
        for q in pts[:k] + pts[k + 1:]:
            scale *= p - q
            basis = _poly_mul(basis, [-q, Fraction(1)])
        g.append([p ** j / scale for j in range(r)])
        bt.append(basis + [Fraction(0)] * (a - len(basis)))
    g.append([Fraction(int(j == r - 1)) for j in range(r)])
    full = [Fraction(1)]
    for q in pts:
        full = _poly_mul(full, [-q, Fraction(1)])
    bt.append(full)
    return tuple(np.array(mat, dtype=np.float64) for mat in (at, g, bt))


def _transform(kron, t, out=None):
    """A matrix mat (p, a) applied to both axes of every a x a tile: t (a*a, K) -> (p*p, K),
    out[(u, v)] = sum_ij mat[u, i] mat[v, j] t[(i, j)], as one matrix product with kron = kron(mat, mat)
    (``_matrices(..., kron=True)``)."""
    return xp_of(t).matmul(kron, t, out=out)


def tile_grid(h, w, r, m, pad):
    """(tiles down, tiles across, padded height, padded width) covering the output of an r x r, stride-1 conv."""
    th, tw = -(-output_size(h, r, 1, pad) // m), -(-output_size(w, r, 1, pad) // m)
    return th, tw, th * m + r - 1, tw * m + r - 1


@lru_cache(maxsize=None)
def _host_matrices(m, r, dtype):
    at, g, bt = winograd_matrices(m, r)
    a = m + r - 1
    column_major = np.arange(a * a).reshape(a, a).T.reshape(-1)      # position j*a + i is row i*a + j
    return tuple(mat.astype(dtype) for mat in (at, g, bt, np.kron(at, at), np.kron(g, g)[column_major]))


def _matrices(xp, dtype, m, r, kron=False):
    """(A^T, G, B^T) of F(m, r) in ``dtype`` on backend xp; built once per dtype (a chunk of one image is
    too small to rebuild them each time). With ``kron``: (kron(A^T, A^T), K_G) instead, where
    kron(A^T, A^T) keeps the column-major tile order and K_G (a*a, r*r) is kron(G, G) with its rows put
    in column-major tile order: it maps the r*r taps of a kernel in w's own (row-major) order to the
    a*a values of G w G^T in column-major order."""
    mats = _host_matrices(m, r, np.dtype(dtype))
    return tuple(xp.asarray(mat) for mat in (mats[3:] if kron else mats[:3]))


def _row_windows(x_pad, a, m, th):
    """The a rows of every tile row, no copy: x_pad (N, H_pad, K) -> view (N, th, a, K),
    view[n, ty, i] = x_pad[n, ty*m + i]."""
    sn, sh, sk = x_pad.strides
    return strided_view(x_pad, (x_pad.shape[0], th, a, x_pad.shape[2]), (sn, sh * m, sh, sk))


def _column_windows(e, a, m, tw):
    """The a columns of every tile, no copy: e (N, th, a, W_pad, C) -> view (a, a, N, th, tw, C),
    view[j, i, n, ty, tx] = e[n, ty, i, tx*m + j]."""
    sn, sy, si, sx, sc = e.strides
    n, th, _, _, c = e.shape
    return strided_view(e, (a, a, n, th, tw, c), (sx, si, sn, sy, sx * m, sc))


def input_tiles(x, r, m, pad, out=None):
    """B^T d B of every input tile d: x (N, C, H, W) -> V (a*a, N*th*tw, C), written into ``out`` if given.

    x is zero-padded channels-last (N, H_pad, W_pad, C) to cover th x tw tiles
    (pad at the top and left, at least pad at the bottom and right); tile
    (ty, tx) is x_pad[:, ty*m : ty*m + a, tx*m : tx*m + a]. The transform is
    separable and runs rows first, on whole padded image rows before the tiles
    are cut (tiles overlap by r - 1 rows: no row is transformed twice), then
    columns on the cut tiles. Tile positions are column-major, xi = j*a + i
    (column j, row i), as in ``filter_transform``.
    """
    xp = xp_of(x)
    n, c, h, w = x.shape
    _, _, bt = _matrices(xp, x.dtype, m, r)
    a = m + r - 1
    th, tw, hp, wp = tile_grid(h, w, r, m, pad)
    x_pad = xp.zeros((n, hp, wp, c), dtype=x.dtype)
    x_pad[:, pad:pad + h, pad:pad + w] = x.transpose(0, 2, 3, 1)
    e = xp.matmul(bt, _row_windows(x_pad.reshape(n, hp, wp * c), a, m, th))          # (N, th, a, W_pad*C)
    d = xp.ascontiguousarray(_column_windows(e.reshape(n, th, a, wp, c), a, m, tw))  # (a, a, N, th, tw, C)
    v = xp.matmul(bt, d.reshape(a, -1), out=None if out is None else out.reshape(a, -1))
    return v.reshape(a * a, n * th * tw, c)


def filter_transform(w, m, channels_last=False):
    """U = G w G^T for every filter and channel: w (F, C, r, r) -> (a*a, F, C), or (a*a, C, F)
    with ``channels_last``; tile positions column-major (xi = j*a + i), as in ``input_tiles``.

    One matrix product (K_G of ``_matrices``, rows of r*r taps of w as stored) written straight in the
    asked layout: for channels last, w's (F, C) axes are swapped first (a copy of whole r x r kernels,
    cheaper than swapping the a*a times larger result); on every core for NumPy (``_parallel.matmul``).
    """
    f, c, r, _ = w.shape
    taps = (w.transpose(1, 0, 2, 3) if channels_last else w).reshape(-1, r * r)   # (C*F or F*C, r*r)
    u = matmul(_matrices(xp_of(w), w.dtype, m, r, kron=True)[1], taps.T)
    return u.reshape(-1, c, f) if channels_last else u.reshape(-1, f, c)


def winograd_forward_chunk(x, ut, b, pad, m, r, out, tiles=None):
    """out (N, F, H', W') = conv(x, w) + b for one chunk of images, ut = ``filter_transform(w, m, True)``;
    the transformed input tiles V go into ``tiles`` (a*a, T, C) if given, to keep for backward."""
    xp = xp_of(x)
    n = x.shape[0]
    f = ut.shape[2]
    a = m + r - 1
    at, _, _ = _matrices(xp, x.dtype, m, r)
    th, tw, _, _ = tile_grid(x.shape[2], x.shape[3], r, m, pad)
    ho, wo = out.shape[2:]
    prod = xp.matmul(input_tiles(x, r, m, pad, tiles), ut)                 # M: (a*a, T, F)
    # A^T M A, separable: along the columns j (leading axis), then the rows i.
    y = xp.matmul(at, xp.matmul(at, prod.reshape(a, -1)).reshape(m, a, -1))  # (m, m, T*F)
    y = y.reshape(m, m, n, th, tw, f)
    y += b                                                                  # along the contiguous F axis
    hwc = xp.ascontiguousarray(y.transpose(2, 3, 1, 4, 0, 5)).reshape(n, th * m, tw * m, f)
    out[...] = hwc[:, :ho, :wo].transpose(0, 3, 1, 2)                       # the last tiles may overhang


def winograd_backward_chunk(dout, v, x_shape, u, pad, m, r, du):
    """dx (N, C, H, W) of one chunk of images of shape ``x_shape``, from its input tiles V
    (``input_tiles``, a*a, T, C); adds this chunk's share of dU (a*a, F, C) into ``du``.
    Every step is the adjoint of a forward step, in reverse order."""
    xp = xp_of(dout)
    n, c, h, w = x_shape
    f = u.shape[1]
    a = m + r - 1
    at, _, bt = _matrices(xp, dout.dtype, m, r)
    kron_at = _matrices(xp, dout.dtype, m, r, kron=True)[0]
    th, tw, hp, wp = tile_grid(h, w, r, m, pad)
    ho, wo = dout.shape[2:]
    if (th * m, tw * m) != (ho, wo):                                        # zero gradient for the overhang
        padded = xp.zeros((n, f, th * m, tw * m), dtype=dout.dtype)
        padded[:, :, :ho, :wo] = dout
        dout = padded
    # (m, m, F, N, th, tw), tile positions column-major; kron(A, A) keeps that order.
    dy = xp.ascontiguousarray(dout.reshape(n, f, th, m, tw, m).transpose(5, 3, 1, 0, 2, 4))
    dprod = _transform(kron_at.T, dy.reshape(m * m, -1)).reshape(a * a, f, -1)   # dM^T: (a*a, F, T)
    du += xp.matmul(dprod, v)                                               # (a*a, F, C)
    dv = xp.matmul(dprod.transpose(0, 2, 1), u)                             # (a*a, T, C)
    # Adjoint of the column transform and windows: each tile column's gradient is
    # added back where it was read, into the row-transformed grid (a, N, th, W_pad, C).
    dd = xp.matmul(bt.T, dv.reshape(a, -1)).reshape(a, a, n, th, tw, c)
    de = xp.empty((a, n, th, wp, c), dtype=dout.dtype)
    _add_back(de, dd, m, tw, axis=3)
    # Adjoint of the row transform and windows, onto the padded image rows.
    dr = xp.matmul(bt.T, de.reshape(a, -1)).reshape(a, n, th, wp * c)
    dx_pad = xp.empty((n, hp, wp * c), dtype=dout.dtype)
    _add_back(dx_pad, dr, m, th, axis=1)
    dx_pad = dx_pad.reshape(n, hp, wp, c)
    return dx_pad[:, pad:pad + h, pad:pad + w].transpose(0, 3, 1, 2)


def _add_back(grid, windows, m, count, axis):
    """Adjoint of cutting ``count`` overlapping windows of size a at stride m along ``axis`` of ``grid``:
    grid[..., k*m + i, ...] = sum over (k, i) of windows[i][..., k, ...], where windows
    (a, *grid's other axes, count along ``axis``) are those windows' gradients.
    Offsets i < m cover the first count*m positions exactly once (assigned); the r - 1 others are added."""
    index = [slice(None)] * grid.ndim
    index[axis] = slice(count * m, None)
    grid[tuple(index)] = 0
    for i in range(len(windows)):
        index[axis] = slice(i, i + count * m, m)
        if i < m:
            grid[tuple(index)] = windows[i]
        else:
            grid[tuple(index)] += windows[i]


def filter_gradient(du, m, r):
    """dw = G^T dU G: dU (a*a, F, C), tile positions column-major -> dw (F, C, r, r), the adjoint of
    ``filter_transform``: one product dU^T (F*C, a*a) @ K_G (a*a, r*r) (``_matrices``), rows of w as stored."""
    f, c = du.shape[1:]
    kron_g = _matrices(xp_of(du), du.dtype, m, r, kron=True)[1]
    return matmul(du.reshape(len(du), -1).T, kron_g).reshape(f, c, r, r)
