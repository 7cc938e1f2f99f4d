"""Convolution: im2col/GEMM equals the plain loops, in one piece or in chunks; gradients are exact, shapes are checked."""
import numpy as np
import pytest

from minicnn.backend import is_host, to_numpy
from minicnn.errors import ConfigError, ShapeError
from minicnn.gradcheck import check_layer
from minicnn.layers import image_columns
from minicnn.layers import (col2im, conv_backward, conv_backward_im2col, conv_backward_naive, conv_forward,
                            conv_forward_im2col, conv_forward_naive, conv_memory_budget, im2col,
                            set_conv_memory_budget)

# (N, C, H, W), (F, KH, KW), stride, pad: square and odd sizes, 1x1 to 5x5 kernels.
GEOMETRIES = [
    ((2, 3, 7, 7), (4, 3, 3), 1, 1),
    ((1, 1, 6, 6), (2, 3, 3), 1, 0),
    ((2, 2, 9, 8), (3, 5, 5), 2, 2),
    ((3, 2, 8, 7), (2, 3, 3), 3, 0),
    ((1, 3, 5, 5), (2, 1, 1), 2, 1),
    ((2, 1, 6, 9), (3, 2, 4), 2, 1),
]


def conv_inputs(xp, rng, x_shape, w_shape):
    n, c, h, w = x_shape
    f, kh, kw = w_shape
    return (xp.asarray(rng.standard_normal(x_shape)), xp.asarray(rng.standard_normal((f, c, kh, kw))),
            xp.asarray(rng.standard_normal(f)))


@pytest.mark.parametrize("x_shape, w_shape, stride, pad", GEOMETRIES)
def test_conv_equals_naive_loops_forward_and_backward(xp, rng, x_shape, w_shape, stride, pad):
    x, w, b = conv_inputs(xp, rng, x_shape, w_shape)
    out, cache = conv_forward(x, w, b, stride, pad)
    ref, ref_cache = conv_forward_naive(x, w, b, stride, pad)
    np.testing.assert_allclose(to_numpy(out), to_numpy(ref), rtol=1e-12, atol=1e-12)
    dout = xp.asarray(rng.standard_normal(out.shape))
    for got, want in zip(conv_backward(dout, cache), conv_backward_naive(dout, ref_cache)):
        np.testing.assert_allclose(to_numpy(got), to_numpy(want), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("x_shape, w_shape, stride, pad", GEOMETRIES)
def test_conv_backward_matches_numerical_gradients(xp, rng, x_shape, w_shape, stride, pad):
    x, w, b = conv_inputs(xp, rng, x_shape, w_shape)
    report = check_layer(conv_forward, conv_backward, dict(x=x, w=w, b=b),
                         dict(stride=stride, pad=pad), max_elements=150)
    assert report.passed, str(report)


def test_naive_conv_backward_matches_numerical_gradients(xp, rng):
    x, w, b = conv_inputs(xp, rng, (2, 2, 5, 6), (3, 3, 3))
    report = check_layer(conv_forward_naive, conv_backward_naive, dict(x=x, w=w, b=b),
                         dict(stride=2, pad=1))
    assert report.passed, str(report)


def test_conv_output_size_follows_the_formula(xp, rng):
    x, w, b = conv_inputs(xp, rng, (2, 3, 11, 10), (4, 5, 3))
    out, _ = conv_forward(x, w, b, stride=2, pad=1)
    assert out.shape == (2, 4, (11 + 2 - 5) // 2 + 1, (10 + 2 - 3) // 2 + 1)


@pytest.mark.parametrize("k", [3, 5])
def test_same_padding_keeps_the_spatial_size(xp, rng, k):
    x, w, b = conv_inputs(xp, rng, (1, 2, 12, 12), (3, k, k))
    assert conv_forward(x, w, b, stride=1, pad=k // 2)[0].shape == (1, 3, 12, 12)


def test_conv_known_value_on_a_hand_example(xp):
    x = xp.arange(16, dtype=xp.float64).reshape(1, 1, 4, 4)
    w = xp.ones((1, 1, 2, 2))
    out, _ = conv_forward(x, w, xp.asarray([0.5]), stride=2)
    np.testing.assert_array_equal(to_numpy(out)[0, 0], [[10.5, 18.5], [42.5, 50.5]])


def test_conv_keeps_float32_in_float32(xp, rng):
    x, w, b = (a.astype(xp.float32) for a in conv_inputs(xp, rng, (2, 3, 6, 6), (4, 3, 3)))
    out, cache = conv_forward(x, w, b, 1, 1)
    assert out.dtype == xp.float32
    assert all(g.dtype == xp.float32 for g in conv_backward(xp.ones_like(out), cache))


def test_im2col_layout_is_channel_kernel_rows_by_example_position_columns(xp, rng):
    x = xp.asarray(rng.standard_normal((2, 3, 5, 4)))
    kh, kw, stride, pad = 3, 2, 2, 1
    cols = to_numpy(im2col(x, kh, kw, stride, pad))
    x_pad = np.pad(to_numpy(x), ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    ho, wo = (5 + 2 - 3) // 2 + 1, (4 + 2 - 2) // 2 + 1
    assert cols.shape == (3 * kh * kw, 2 * ho * wo)
    c, i, j, n, p, q = 2, 1, 1, 1, 2, 0
    assert cols[(c * kh + i) * kw + j, (n * ho + p) * wo + q] == x_pad[n, c, p * stride + i, q * stride + j]


def test_col2im_is_the_adjoint_of_im2col(xp, rng):
    x = xp.asarray(rng.standard_normal((2, 3, 7, 6)))
    cols = im2col(x, 3, 3, 2, 1)
    c = xp.asarray(rng.standard_normal(cols.shape))
    lhs = float((cols * c).sum())
    rhs = float((x * col2im(c, x.shape, 3, 3, 2, 1)).sum())
    assert lhs == pytest.approx(rhs, rel=1e-12)


def test_conv_agrees_with_pytorch(rng):
    torch = pytest.importorskip("torch")
    x, w, b = conv_inputs(np, rng, (2, 3, 9, 8), (4, 5, 3))
    out, _ = conv_forward(x, w, b, stride=2, pad=2)
    ref = torch.nn.functional.conv2d(torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b),
                                     stride=2, padding=2)
    np.testing.assert_allclose(out, ref.numpy(), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("x_shape, w_shape, b_shape, kwargs, message", [
    ((2, 3, 8), (4, 3, 3, 3), (4,), {}, "conv_forward: x has shape (2, 3, 8) but needs 4 dims (N, C, H, W)"),
    ((2, 3, 8, 8), (4, 3, 3), (4,), {}, "conv_forward: w has shape (4, 3, 3) but needs 4 dims"),
    ((2, 3, 8, 8), (4, 1, 3, 3), (4,), {}, "conv_forward: x has 3 channels but w expects 1"),
    ((2, 3, 8, 8), (4, 3, 3, 3), (3,), {}, "conv_forward: b has shape (3,) but needs (4,)"),
    ((2, 3, 4, 4), (4, 3, 5, 5), (4,), {}, "conv_forward: kernel 5x5 does not fit input 4x4 with pad 0"),
    ((2, 3, 8, 8), (4, 3, 3, 3), (4,), {"stride": 0}, "conv_forward: stride=0 must be an integer >= 1"),
    ((2, 3, 8, 8), (4, 3, 3, 3), (4,), {"pad": -1}, "conv_forward: pad=-1 must be an integer >= 0"),
])
def test_bad_conv_shapes_raise_shape_error_naming_layer_and_shapes(x_shape, w_shape, b_shape, kwargs, message):
    with pytest.raises(ShapeError) as err:
        conv_forward(np.zeros(x_shape), np.zeros(w_shape), np.zeros(b_shape), **kwargs)
    assert message in str(err.value)


def test_conv_backward_rejects_a_dout_of_the_wrong_shape(rng):
    x, w, b = conv_inputs(np, rng, (2, 3, 6, 6), (4, 3, 3))
    out, cache = conv_forward(x, w, b)
    with pytest.raises(ShapeError, match=r"conv_backward: dout has shape \(2, 4, 3, 3\) but needs \(2, 4, 4, 4\)"):
        conv_backward(np.zeros((2, 4, 3, 3)), cache)


def test_conv_reads_non_contiguous_inputs_correctly(xp, rng):
    base = xp.asarray(rng.standard_normal((7, 6, 3, 2)))
    x = base.transpose(3, 2, 0, 1)[:, :, ::-1, ::2]            # (2, 3, 7, 3), odd strides
    w, b = xp.asarray(rng.standard_normal((4, 3, 3, 2))), xp.asarray(rng.standard_normal(4))
    out, _ = conv_forward(x, w, b, stride=2, pad=0)
    ref, _ = conv_forward_naive(xp.ascontiguousarray(x), w, b, stride=2, pad=0)
    np.testing.assert_allclose(to_numpy(out), to_numpy(ref), rtol=1e-12, atol=1e-12)


def test_the_reference_im2col_convolution_stays_and_keeps_its_columns(xp, rng):
    x, w, b = conv_inputs(xp, rng, (3, 4, 7, 6), (5, 3, 3))
    out, cache = conv_forward_im2col(x, w, b, 1, 1)
    assert cache[0] == "columns" and cache[1].shape == (4 * 9, 3 * 7 * 6)
    ref, ref_cache = conv_forward_naive(x, w, b, 1, 1)
    np.testing.assert_allclose(to_numpy(out), to_numpy(ref), rtol=1e-12, atol=1e-12)
    dout = xp.asarray(rng.standard_normal(out.shape))
    for got, want in zip(conv_backward_im2col(dout, cache), conv_backward_naive(dout, ref_cache)):
        np.testing.assert_allclose(to_numpy(got), to_numpy(want), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("x_shape, w_shape, stride, pad", GEOMETRIES)
def test_chunks_of_the_batch_keep_x_not_columns_and_give_the_same_gradients(xp, rng, x_shape, w_shape, stride, pad):
    x, w, b = conv_inputs(xp, rng, x_shape, w_shape)
    out, cache = conv_forward(x, w, b, stride, pad, memory_budget=1, method="im2col")   # one image a chunk
    if is_host(xp):                                         # one column matrix per image (image_columns)
        assert cache[0] == "image columns" and cache[1] is x
    else:
        assert cache[0] == ("chunks" if x_shape[0] > 1 else "columns")
    if x_shape[0] > 1:
        assert cache[1] is x                                # columns are recomputed in backward
    ref, ref_cache = conv_forward_im2col(x, w, b, stride, pad)
    dout = xp.asarray(rng.standard_normal(out.shape))
    for got, want in zip((out, *conv_backward(dout, cache)), (ref, *conv_backward_im2col(dout, ref_cache))):
        np.testing.assert_allclose(to_numpy(got), to_numpy(want), rtol=1e-12, atol=1e-12)


def test_memory_budget_setting_default_and_refusals():
    assert 32 * 2 ** 20 <= conv_memory_budget(np) <= 256 * 2 ** 20    # from free memory, clamped
    assert conv_memory_budget(np, 12345) == 12345                     # a call's own budget wins
    try:
        set_conv_memory_budget(2 ** 20)
        assert conv_memory_budget(np) == 2 ** 20
    finally:
        set_conv_memory_budget(None)
    assert 32 * 2 ** 20 <= conv_memory_budget(np) <= 256 * 2 ** 20
    for bad in (0, -5, 1.5, "64M", True):
        with pytest.raises(ConfigError, match="must be a positive number of bytes"):
            set_conv_memory_budget(bad)
    with pytest.raises(ConfigError, match="conv memory budget: 0 must be"):
        conv_forward(np.zeros((1, 1, 3, 3)), np.zeros((1, 1, 3, 3)), np.zeros(1), memory_budget=0)


def test_the_default_budget_is_a_sixteenth_of_free_memory_capped_on_the_host_only():
    from minicnn.layers.budget import MIB, default_budget
    assert default_budget(1024 * MIB) == 64 * MIB
    assert default_budget(100 * MIB) == 32 * MIB                   # at least 32 MiB
    assert default_budget(64 * 1024 * MIB) == 256 * MIB            # host: at most 256 MiB
    assert default_budget(64 * 1024 * MIB, gpu=True) == 4096 * MIB  # GPU: the whole batch usually fits
    assert default_budget(None) == 256 * MIB


@pytest.mark.parametrize("n, step, workers", [(128, 44, 2), (128, 5, 2), (7, 4, 2), (10, 3, 3), (5, 5, 1)])
def test_host_chunks_give_every_worker_the_same_share(n, step, workers):
    from minicnn.layers.conv import _even_step
    even = _even_step(n, step, workers)
    chunks = [min(n, lo + even) - lo for lo in range(0, n, even)]
    shares = [sum(chunks[k::workers]) for k in range(workers)]
    assert even <= step and max(shares) - min(shares) <= even


@pytest.mark.parametrize("dtype, rtol", [(np.float32, 1e-5), (np.float64, 1e-12)])
@pytest.mark.parametrize("x_shape, w_shape, stride, pad", GEOMETRIES + [((5, 1, 12, 11), (6, 3, 3), 1, 1)])
def test_one_column_matrix_per_image_equals_the_reference(xp, rng, dtype, rtol, x_shape, w_shape, stride, pad):
    x, w, b = (a.astype(dtype) for a in conv_inputs(xp, rng, x_shape, w_shape))
    out, cache = conv_forward(x, w, b, stride, pad, method="im2col")
    ref, ref_cache = conv_forward_im2col(x, w, b, stride, pad)
    dout = xp.asarray(rng.standard_normal(out.shape).astype(dtype))
    for got, want in zip((out, *conv_backward(dout, cache)), (ref, *conv_backward_im2col(dout, ref_cache))):
        assert got.dtype == dtype and got.shape == want.shape
        want = to_numpy(want)
        np.testing.assert_allclose(to_numpy(got), want, rtol=0, atol=rtol * float(np.abs(want).max()))


@pytest.mark.parametrize("x_shape, w_shape, stride, pad", GEOMETRIES)
def test_the_per_image_column_functions_take_device_arrays_too(xp, rng, x_shape, w_shape, stride, pad):
    """conv_forward picks image_columns on NumPy only; its functions still run on any backend."""
    x, w, b = conv_inputs(xp, rng, x_shape, w_shape)
    ref, ref_cache = conv_forward_im2col(x, w, b, stride, pad)
    out = xp.empty_like(ref)
    image_columns.forward_chunk(x, image_columns.with_bias(w, b), w.shape[2], w.shape[3], stride, pad, out)
    dout = xp.asarray(rng.standard_normal(ref.shape))
    dx, dw_b = xp.empty_like(x), xp.zeros((w.shape[0], w[0].size + 1))
    image_columns.backward_chunk(dout, x, w, stride, pad, dw_b, dx)
    want_dx, want_dw, want_db = conv_backward_im2col(dout, ref_cache)
    for got, want in ((out, ref), (dx, want_dx), (dw_b[:, :-1].reshape(w.shape), want_dw), (dw_b[:, -1], want_db)):
        np.testing.assert_allclose(to_numpy(got), to_numpy(want), rtol=1e-10, atol=1e-10)
