"""2-D convolution (cross-correlation): the im2col reference and ``conv_forward``, which picks a path.

``conv_forward_im2col`` / ``conv_backward_im2col`` are the readable reference:
the whole batch as one column matrix and one matrix product (and CuPy's path).
``conv_forward`` / ``conv_backward`` compute the same in chunks of images that
fit a memory budget (``budget``), on every core for NumPy (``_parallel``), by
im2col (on NumPy with one column matrix per image, ``image_columns``) or,
where it pays, by Winograd (``winograd``).

Layout of the column matrix used by ``im2col`` / ``col2im``:
    cols has shape (C*KH*KW, N*H'*W'); row r = (c*KH + i)*KW + j holds kernel
    offset (i, j) of channel c, column k = (n*H' + p)*W' + q is output position
    (p, q) of example n, and cols[r, k] = x_pad[n, c, p*stride + i, q*stride + j].
With w reshaped to (F, C*KH*KW) the convolution is one GEMM: w_mat @ cols.
"""
from ..backend import is_host, xp_of
from ..errors import ConfigError, ShapeError
from ._check import require_ndim, require_positive_int, require_shape
from ._windows import add_windows, output_size, window_view
from ._parallel import host_threads, owns_cores, run_chunks
from . import image_columns
from .budget import MIB, conv_memory_budget, images_per_chunk
from .winograd import (filter_gradient, filter_transform, input_tiles, tile_grid, winograd_backward_chunk,
                       winograd_forward_chunk)

# Winograd: kernel sizes it is used for, the output tiles m it may pick
# (F(m x m, r x r)), and the fewest input channels it is used for: measured,
# im2col wins on the one-channel first layers and Winograd from 32 channels on
# (docs/speed.md); 16 is a guess between them.
WINOGRAD_KERNELS = (3, 5)
WINOGRAD_TILES = (2, 4)
WINOGRAD_MIN_CHANNELS = 16
# Scratch per chunk on NumPy: small enough to stay in the caches, big enough for fast matrix products.
HOST_CHUNK_BYTES = 32 * MIB
# Winograd tiles per chunk on NumPy, at most (but at least one image): measured, the
# a*a products of about 144 tile rows run near the BLAS rate in one core's cache and
# twice as fast as 576 (docs/speed.md); small images still get many to a chunk.
HOST_CHUNK_TILES = 144


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


def conv_forward_im2col(x, w, b, stride=1, pad=0):
    """The reference convolution: the whole batch as one im2col and one matrix product.

    Shapes: x (N, C, H, W), w (F, C, KH, KW), b (F,) -> out (N, F, H', W'),
    H' = (H + 2 pad - KH)//stride + 1, W' = (W + 2 pad - KW)//stride + 1.
    Math: out[n, f, p, q] = b[f] + sum_{c,i,j} w[f, c, i, j] * x_pad[n, c, p*s + i, q*s + j].
    Computed as out_mat = w_mat (F, C*KH*KW) @ im2col(x) (C*KH*KW, N*H'*W').
    Returns (out, cache); the cache keeps the columns for the backward pass.
    """
    xp = xp_of(x, w, b)
    ho, wo = check_conv_args("conv_forward", x, w, b, stride, pad)
    f, _, kh, kw = w.shape
    cols = im2col(x, kh, kw, stride, pad)
    out_mat = w.reshape(f, -1) @ cols                          # (F, N*H'*W')
    # Back to (N, F, H', W') and the bias added in one pass over the output.
    out = xp.empty((x.shape[0], f, ho, wo), dtype=out_mat.dtype)
    xp.add(out_mat.reshape(f, x.shape[0], ho, wo).transpose(1, 0, 2, 3), b.reshape(1, f, 1, 1), out=out)
    return out, ("columns", cols, w, x.shape, stride, pad)


def conv_backward_im2col(dout, cache):
    """Gradients of the reference convolution, from the columns it kept.

    dout (N, F, H', W') -> with dout_mat = dout as (F, N*H'*W'):
    dw = dout_mat @ cols^T reshaped to (F, C, KH, KW); db = sum of dout over
    N, H', W' (F,); dx = col2im(w_mat^T @ dout_mat) of shape (N, C, H, W).
    Returns (dx, dw, db).
    """
    _, cols, w, x_shape, stride, pad = cache
    xp = xp_of(dout)
    f, _, kh, kw = w.shape
    _check_dout(dout, w, x_shape, stride, pad)
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


def _check_dout(dout, w, x_shape, stride, pad):
    f, _, kh, kw = w.shape
    n, _, h, wd = x_shape
    require_shape("conv_backward", "dout", dout,
                  (n, f, output_size(h, kh, stride, pad), output_size(wd, kw, stride, pad)),
                  "the forward output")


def conv_method(xp, x_shape, w_shape, stride):
    """The algorithm ``conv_forward`` uses when none is asked for: "winograd" or "im2col".

    Winograd (``winograd.py``) on NumPy for stride-1 square kernels it has a
    tile size for, once there are enough input channels for its matrix
    products to pay for the transforms; im2col everywhere else, and always on
    CuPy (the GPU path stays as it was).
    """
    f, c, kh, kw = w_shape
    if (is_host(xp) and stride == 1 and kh == kw and kh in WINOGRAD_KERNELS
            and c >= WINOGRAD_MIN_CHANNELS):
        return "winograd"
    return "im2col"


@owns_cores
def conv_forward(x, w, b, stride=1, pad=0, memory_budget=None, method=None):
    """Convolve N images with F filters (cross-correlation, as in every CNN library).

    Same shapes, math and result as ``conv_forward_im2col`` (up to float
    rounding). Works through the batch in chunks of images that fit
    ``memory_budget`` bytes of scratch (default: ``budget.conv_memory_budget``),
    on every core for NumPy (``_parallel``). ``method``: "im2col", "winograd"
    (stride 1, square kernel) or None for ``conv_method``'s choice.
    Returns (out, cache) for ``conv_backward``; the cache keeps x, not columns,
    unless the whole batch ran as one im2col chunk (never on NumPy).
    """
    xp = xp_of(x, w, b)
    ho, wo = check_conv_args("conv_forward", x, w, b, stride, pad)
    n = x.shape[0]
    f, c, kh, kw = w.shape
    out = xp.empty((n, f, ho, wo), dtype=x.dtype)
    if _checked_method(method, xp, x.shape, w.shape, stride) == "winograd":
        m = winograd_tile(kh, x.shape[2], x.shape[3], pad)
        th, tw, _, _ = tile_grid(x.shape[2], x.shape[3], kh, m, pad)
        step = _images_per_chunk(xp, n, _winograd_bytes_per_image(x, w, pad, m), memory_budget,
                                 max(1, HOST_CHUNK_TILES // (th * tw)))
        ut = filter_transform(w, m, channels_last=True)
        tiles = _tiles_to_keep(xp, x, w, pad, m, memory_budget)

        def forward(lo, hi, _):
            winograd_forward_chunk(x[lo:hi], ut, b, pad, m, kh, out[lo:hi], _kept_tiles(tiles, lo, hi))
        run_chunks(forward, n, step, xp)
        return out, ("winograd", x if tiles is None else None, w, pad, m, tiles, x.shape, step)
    step = _images_per_chunk(xp, n, x.dtype.itemsize * ho * wo * 2 * (c * kh * kw + f), memory_budget)
    if is_host(xp):
        w_b = image_columns.with_bias(w, b)

        def forward(lo, hi, _):
            image_columns.forward_chunk(x[lo:hi], w_b, kh, kw, stride, pad, out[lo:hi])
        run_chunks(forward, n, step, xp)
        return out, ("image columns", x, w, stride, pad, step)
    if step >= n:
        return conv_forward_im2col(x, w, b, stride, pad)

    def forward(lo, hi, _):
        out[lo:hi] = conv_forward_im2col(x[lo:hi], w, b, stride, pad)[0]
    run_chunks(forward, n, step, xp)
    return out, ("chunks", x, w, stride, pad, step)


@owns_cores
def conv_backward(dout, cache):
    """Gradients of the convolution, whichever path ``conv_forward`` took.

    dout (N, F, H', W') -> (dx (N, C, H, W), dw (F, C, KH, KW), db (F,)), the
    math of ``conv_backward_im2col``. Chunked forwards recompute each chunk's
    columns (or Winograd tiles, unless they were kept) here; dw and db add up
    over the chunks (one running sum per worker thread, then over the workers).
    """
    kind = cache[0]
    if kind == "columns":
        return conv_backward_im2col(dout, cache)
    xp = xp_of(dout)
    if kind == "winograd":
        _, x, w, pad, m, tiles, x_shape, step = cache
        stride = 1
    else:
        _, x, w, stride, pad, step = cache
        x_shape = x.shape
    _check_dout(dout, w, x_shape, stride, pad)
    f, _, kh, kw = w.shape
    dx = xp.empty(x_shape, dtype=dout.dtype)
    if kind == "image columns":
        return (dx, *_image_columns_backward(dout, x, w, stride, pad, step, dx))
    if kind == "winograd":
        u = filter_transform(w, m)

        def chunk_gradient(lo, hi, dw_sum):
            v = input_tiles(x[lo:hi], kh, m, pad) if tiles is None else _kept_tiles(tiles, lo, hi)
            dx = winograd_backward_chunk(dout[lo:hi], v, (hi - lo, *x_shape[1:]), u, pad, m, kh, dw_sum)
            return dx, dout[lo:hi].sum(axis=(0, 2, 3))
        dw_shape = u.shape                                  # summed in the Winograd domain
    else:
        def chunk_gradient(lo, hi, dw_sum):
            return _im2col_backward_chunk(dout[lo:hi], x[lo:hi], w, stride, pad, dw_sum)
        dw_shape = w.shape
    count = host_threads(xp)
    dw_sums = [xp.zeros(dw_shape, dtype=dout.dtype) for _ in range(count)]
    db_sums = [xp.zeros(f, dtype=dout.dtype) for _ in range(count)]

    def backward(lo, hi, slot):
        dx[lo:hi], db = chunk_gradient(lo, hi, dw_sums[slot])
        db_sums[slot] += db
    run_chunks(backward, x_shape[0], step, xp)
    dw = sum(dw_sums[1:], dw_sums[0])
    return dx, filter_gradient(dw, m, kh) if kind == "winograd" else dw, sum(db_sums[1:], db_sums[0])


def _image_columns_backward(dout, x, w, stride, pad, step, dx):
    """(dw, db) of the host im2col path, writing dx; dw and db come out of one running sum per worker thread."""
    xp = xp_of(dout)
    f = w.shape[0]
    sums = [xp.zeros((f, w[0].size + 1), dtype=dout.dtype) for _ in range(host_threads(xp))]

    def backward(lo, hi, slot):
        image_columns.backward_chunk(dout[lo:hi], x[lo:hi], w, stride, pad, sums[slot], dx[lo:hi])
    run_chunks(backward, x.shape[0], step, xp)
    dw_b = sum(sums[1:], sums[0])
    return xp.ascontiguousarray(dw_b[:, :-1]).reshape(w.shape), dw_b[:, -1].copy()


def _im2col_backward_chunk(dout, x, w, stride, pad, dw_sum):
    """(dx, db) of one chunk by the reference backward on recomputed columns; adds the chunk's dw into dw_sum."""
    cols = im2col(x, w.shape[2], w.shape[3], stride, pad)
    dx, dw, db = conv_backward_im2col(dout, ("columns", cols, w, x.shape, stride, pad))
    dw_sum += dw
    return dx, db


def _images_per_chunk(xp, n, bytes_per_image, memory_budget, host_images=None):
    """Images per chunk of the batch.

    Each worker thread's chunk stays within its share of the budget and, on
    NumPy, within HOST_CHUNK_BYTES and ``host_images`` images (cache-sized
    work is faster). Work larger than one such chunk is cut into at least one
    chunk per worker; smaller work runs as one chunk (threads would cost more
    than they save).
    """
    count = host_threads(xp)
    budget = conv_memory_budget(xp, memory_budget)
    host_images = n if host_images is None else host_images
    if not is_host(xp) or (n * bytes_per_image <= min(budget, HOST_CHUNK_BYTES) and n <= host_images):
        return images_per_chunk(n, bytes_per_image, budget)
    step = min(host_images, images_per_chunk(n, bytes_per_image, min(budget // count, HOST_CHUNK_BYTES)))
    return _even_step(n, min(step, -(-n // count)), count)


def _even_step(n, step, count):
    """A step <= ``step`` that cuts n into about a multiple of ``count`` nearly equal chunks, so the
    workers' shares differ by at most one chunk (128 images in steps of 44 left one worker 88, the other 40)."""
    chunks = -(-n // step)
    chunks = -(-chunks // count) * count
    return -(-n // chunks)


def _checked_method(method, xp, x_shape, w_shape, stride):
    if method is None:
        return conv_method(xp, x_shape, w_shape, stride)
    if method not in ("im2col", "winograd"):
        raise ConfigError(f"conv_forward: method={method!r} must be 'im2col', 'winograd' or None (automatic)")
    kh, kw = w_shape[2:]
    if method == "winograd" and (stride != 1 or kh != kw):
        raise ConfigError(f"conv_forward: winograd needs stride 1 and a square kernel, "
                          f"got stride {stride} and a {kh}x{kw} kernel; use method='im2col'")
    return method


def winograd_tile(r, h, w, pad):
    """The output tile m of WINOGRAD_TILES with the fewest Winograd-domain products,
    (m + r - 1)^2 per tile times the tiles covering the output (ties: the smaller tile,
    whose transforms are cheaper and more accurate)."""
    def products(m):
        th, tw, _, _ = tile_grid(h, w, r, m, pad)
        return (m + r - 1) ** 2 * th * tw
    return min(WINOGRAD_TILES, key=lambda m: (products(m), m))


def _tiles_to_keep(xp, x, w, pad, m, memory_budget):
    """An empty (N, a*a, tiles, C) array to keep the transformed input tiles in for backward, if they
    fit half the memory budget (backward then skips recomputing them), else None; see ``_kept_tiles``."""
    n, c, h, wd = x.shape
    a = m + w.shape[2] - 1
    th, tw, _, _ = tile_grid(h, wd, w.shape[2], m, pad)
    nbytes = a * a * n * th * tw * c * x.dtype.itemsize
    if nbytes > conv_memory_budget(xp, memory_budget) // 2:
        return None
    return xp.empty((n, a * a, th * tw, c), dtype=x.dtype)


def _kept_tiles(tiles, lo, hi):
    """The (a*a, tiles of the chunk, C) array of chunk [lo, hi) in ``_tiles_to_keep``'s array (None: not kept).
    Chunk by chunk, not image by image: rows lo..hi hold the chunk's array as the products use it (no
    copy into place), so backward must cut the batch into the same chunks (it does: ``step``)."""
    if tiles is None:
        return None
    chunk = tiles[lo:hi]
    return chunk.reshape(chunk.shape[1], -1, chunk.shape[3])


def _winograd_bytes_per_image(x, w, pad, m):
    """Scratch bytes per image of the Winograd path (tiles, products and their transforms), roughly."""
    f, c, r, _ = w.shape
    a = m + r - 1
    th, tw, _, _ = tile_grid(x.shape[2], x.shape[3], r, m, pad)
    return x.dtype.itemsize * th * tw * (a * a * (4 * c + 2 * f) + 2 * m * a * f)
