"""Winograd convolution: exact matrices, the same result as the direct convolution, chosen where it pays."""
import numpy as np
import pytest

from minicnn.backend import to_numpy
from minicnn.errors import ConfigError
from minicnn.gradcheck import check_layer
from minicnn.layers import (conv, conv_backward, conv_backward_naive, conv_forward, conv_forward_naive,
                            conv_method, winograd_matrices)


@pytest.mark.parametrize("m, r", [(2, 3), (4, 3), (2, 5), (4, 5), (3, 2), (1, 4)])
def test_one_dimensional_minimal_filtering_is_exact(rng, m, r):
    at, g, bt = winograd_matrices(m, r)
    assert at.shape == (m, m + r - 1) and g.shape == (m + r - 1, r) and bt.shape == (m + r - 1,) * 2
    taps, inputs = rng.standard_normal(r), rng.standard_normal(m + r - 1)
    correlation = [taps @ inputs[i:i + r] for i in range(m)]
    np.testing.assert_allclose(at @ ((g @ taps) * (bt @ inputs)), correlation, rtol=1e-12, atol=1e-12)


def test_f2x3_has_the_textbook_input_transform():
    _, _, bt = winograd_matrices(2, 3)     # Lavin & Gray's B^T, rows in the order of the points 0, 1, -1, inf
    np.testing.assert_array_equal(np.abs(bt), [[1, 0, 1, 0], [0, 1, 1, 0], [0, 1, 1, 0], [0, 1, 0, 1]])


def with_tile(monkeypatch, m):
    monkeypatch.setattr(conv, "WINOGRAD_TILES", (m,))


# (N, C, H, W), (F, r), pad, tile m: exact tiling and tiles overhanging the output, both kernel sizes
CASES = [((2, 3, 8, 8), (4, 3), 1, 2), ((2, 3, 7, 6), (4, 3), 1, 4), ((3, 2, 9, 5), (2, 3), 0, 4),
         ((2, 2, 9, 9), (3, 5), 2, 4), ((1, 3, 6, 7), (2, 5), 1, 2), ((2, 4, 4, 4), (3, 3), 2, 4)]


@pytest.mark.parametrize("x_shape, w_shape, pad, m", CASES)
def test_winograd_equals_the_plain_loops_in_float64(monkeypatch, xp, rng, x_shape, w_shape, pad, m):
    with_tile(monkeypatch, m)
    (f, r), c = w_shape, x_shape[1]
    x, w, b = (xp.asarray(rng.standard_normal(s)) for s in (x_shape, (f, c, r, r), (f,)))
    out, cache = conv_forward(x, w, b, 1, pad, method="winograd")
    assert cache[0] == "winograd"
    ref, ref_cache = conv_forward_naive(x, w, b, 1, pad)
    np.testing.assert_allclose(to_numpy(out), to_numpy(ref), rtol=1e-10, atol=1e-10)
    dout = xp.asarray(rng.standard_normal(out.shape))
    for got, want in zip(conv_backward(dout, cache), conv_backward_naive(dout, ref_cache)):
        np.testing.assert_allclose(to_numpy(got), to_numpy(want), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("m, r, tolerance", [(2, 3, 2e-6), (4, 3, 5e-5), (4, 5, 1e-4)])
def test_float32_error_stays_near_the_direct_convolution(monkeypatch, xp, rng, m, r, tolerance):
    # Error relative to the largest value, at a paper-like channel count; the
    # direct float32 convolution itself is off by about 1e-6 here.
    with_tile(monkeypatch, m)
    x = rng.standard_normal((2, 64, 12, 12))
    w = rng.standard_normal((8, 64, r, r)) * (2 / (64 * r * r)) ** 0.5
    b, dout = np.zeros(8), rng.standard_normal((2, 8, 12, 12))
    f32 = [xp.asarray(a.astype(np.float32)) for a in (x, w, b, dout)]
    out, cache = conv_forward(*f32[:3], 1, r // 2, method="winograd")
    got = (out, *conv_backward(f32[3], cache)[:2])
    ref, ref_cache = conv_forward_naive(x, w, b, 1, r // 2)
    want = (ref, *conv_backward_naive(dout, ref_cache)[:2])
    for g, w64 in zip(got, want):
        assert to_numpy(g).dtype == np.float32
        assert np.abs(to_numpy(g) - w64).max() <= tolerance * np.abs(w64).max()


def test_winograd_backward_matches_numerical_gradients(xp, rng):
    x, w, b = (xp.asarray(rng.standard_normal(s)) for s in ((2, 3, 5, 6), (2, 3, 3, 3), (2,)))
    report = check_layer(conv_forward, conv_backward, dict(x=x, w=w, b=b),
                         dict(stride=1, pad=1, method="winograd"), max_elements=120)
    assert report.passed, str(report)


def test_memory_budget_chunks_change_results_only_by_rounding(xp, rng):
    x, w, b = (xp.asarray(rng.standard_normal(s)) for s in ((5, 16, 6, 6), (4, 16, 3, 3), (4,)))
    dout = xp.asarray(rng.standard_normal((5, 4, 6, 6)))
    one = conv_forward(x, w, b, 1, 1, memory_budget=1, method="winograd")       # one image per chunk
    whole = conv_forward(x, w, b, 1, 1, memory_budget=2 ** 30, method="winograd")
    assert one[1][-1] == 1 and whole[1][-1] == 5
    for got, want in zip((one[0], *conv_backward(dout, one[1])), (whole[0], *conv_backward(dout, whole[1]))):
        np.testing.assert_allclose(to_numpy(got), to_numpy(want), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype, tolerance", [(np.float64, 1e-12), (np.float32, 2e-5)])
def test_host_chunks_of_few_tiles_give_the_reference_result(monkeypatch, xp, rng, dtype, tolerance):
    # On NumPy a chunk holds at most HOST_CHUNK_TILES tiles (at least one image): here 2 images of
    # 3 x 3 F(4x4) tiles, so chunks of 2 and 1 images, whose kept tiles backward must find again.
    monkeypatch.setattr(conv, "HOST_CHUNK_TILES", 18)
    x, w, b = (xp.asarray(rng.standard_normal(s).astype(dtype)) for s in ((3, 16, 9, 10), (5, 16, 3, 3), (5,)))
    dout = xp.asarray(rng.standard_normal((3, 5, 9, 10)).astype(dtype))
    out, cache = conv_forward(x, w, b, 1, 1, method="winograd")
    assert cache[-1] == (2 if xp is np else 3) and cache[5] is not None     # tiles kept
    ref, ref_cache = conv_forward(x, w, b, 1, 1, method="im2col")
    for got, want in zip((out, *conv_backward(dout, cache)), (ref, *conv_backward(dout, ref_cache))):
        assert to_numpy(got).dtype == dtype
        np.testing.assert_allclose(to_numpy(got), to_numpy(want), rtol=tolerance, atol=tolerance * 10)


def test_conv_method_uses_winograd_only_on_numpy_for_stride_1_with_enough_channels(xp):
    host = np
    assert conv_method(host, (8, 32, 12, 12), (64, 32, 3, 3), 1) == "winograd"
    assert conv_method(host, (8, 64, 12, 12), (64, 64, 5, 5), 1) == "winograd"
    assert conv_method(host, (8, 1, 48, 48), (32, 1, 3, 3), 1) == "im2col"        # one channel: nothing to share
    assert conv_method(host, (8, 32, 12, 12), (64, 32, 3, 3), 2) == "im2col"
    assert conv_method(host, (8, 32, 12, 12), (64, 32, 1, 1), 1) == "im2col"
    if xp is not np:
        assert conv_method(xp, (8, 32, 12, 12), (64, 32, 3, 3), 1) == "im2col"  # the GPU path as it was


@pytest.mark.parametrize("r, size, pad, m", [(3, 48, 1, 4), (3, 12, 1, 4), (3, 6, 1, 2), (5, 24, 2, 4)])
def test_the_tile_is_the_one_with_fewest_products(r, size, pad, m):
    # 6x6 outputs: F(4x4) needs 4 tiles of 36 products, F(2x2) 9 of 16: a tie, the smaller tile wins.
    assert conv.winograd_tile(r, size, size, pad) == m


@pytest.mark.parametrize("kwargs, message", [
    (dict(stride=2, method="winograd"), "winograd needs stride 1 and a square kernel, got stride 2"),
    (dict(method="fft"), "method='fft' must be 'im2col', 'winograd' or None"),
])
def test_an_impossible_method_is_refused_in_one_line(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        conv_forward(np.zeros((1, 2, 6, 6)), np.zeros((3, 2, 3, 3)), np.zeros(3), **kwargs)
