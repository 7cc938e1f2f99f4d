"""Host work in blocks and worker threads: every blocked path equals the whole-array one.

The fixture cuts work into tiny blocks (and conv batches into one-image
chunks) on two threads, so each test compares the most-split run against the
plain one. On CuPy every path runs on whole arrays; the tests still check
the results.
"""
import numpy as np
import pytest

from minicnn.backend import default_rng, to_numpy
from minicnn.layers import (_parallel, conv, conv_backward, conv_forward, dropout_backward, dropout_forward,
                            l2_penalty, maxpool_backward, maxpool_forward, relu_backward, relu_forward,
                            spatial_batchnorm_backward, spatial_batchnorm_forward)


def split_and_plain(monkeypatch, run):
    """(run() with tiny blocks on 2 threads, run() in one block on 1 thread)."""
    with monkeypatch.context() as m:
        m.setattr(_parallel, "BLOCK_BYTES", 64)
        m.setattr(conv, "HOST_CHUNK_BYTES", 1)
        _parallel.set_host_threads(2)
        try:
            split = run()
        finally:
            _parallel.set_host_threads(None)
    with monkeypatch.context() as m:
        m.setattr(_parallel, "BLOCK_BYTES", 2 ** 40)
        m.setattr(conv, "HOST_CHUNK_BYTES", 2 ** 40)
        _parallel.set_host_threads(1)
        try:
            plain = run()
        finally:
            _parallel.set_host_threads(None)
    return split, plain


def assert_all_close(got, want, rtol):
    """Equal up to rtol of each array's largest magnitude (sums in another order round differently)."""
    for g, w in zip(got, want):
        w = to_numpy(w)
        np.testing.assert_allclose(to_numpy(g), w, rtol=0, atol=rtol * float(np.abs(w).max()))


def test_run_chunks_visits_every_chunk_once_with_a_worker_slot():
    seen = []
    _parallel.set_host_threads(3)
    try:
        _parallel.run_chunks(lambda lo, hi, slot: seen.append((lo, hi, slot)), 10, 3, np)
    finally:
        _parallel.set_host_threads(None)
    assert sorted((lo, hi) for lo, hi, _ in seen) == [(0, 3), (3, 6), (6, 9), (9, 10)]
    assert {slot for *_, slot in seen} <= {0, 1, 2}
    # static spread: worker k takes chunks k, k + 3, ...
    assert {(lo, slot) for lo, _, slot in seen} == {(0, 0), (3, 1), (6, 2), (9, 0)}


def test_single_threaded_blas_gives_the_threads_back():
    api = _parallel._blas_threads_api()
    if api is None:
        pytest.skip("this BLAS cannot be told its thread count (not OpenBLAS)")
    get, _ = api
    before = get()
    with _parallel.single_threaded_blas():
        assert get() == 1
    assert get() == before


def test_layers_that_split_work_keep_blas_single_threaded_for_their_whole_call(monkeypatch, rng):
    """Idle OpenBLAS threads spin after a multi-threaded call: layers on several host threads make none,
    not even the filter transform outside the chunks; on one host thread BLAS keeps its threads."""
    api = _parallel._blas_threads_api()
    if api is None:
        pytest.skip("this BLAS cannot be told its thread count (not OpenBLAS)")
    get, _ = api
    before = get()
    seen = []
    transform = conv.filter_transform
    monkeypatch.setattr(conv, "filter_transform", lambda *a, **k: (seen.append(get()), transform(*a, **k))[1])
    x, w, b = rng.standard_normal((2, 16, 6, 6)), rng.standard_normal((4, 16, 3, 3)), np.zeros(4)
    for threads, want in ((2, 1), (1, before)):
        _parallel.set_host_threads(threads)
        try:
            out, cache = conv_forward(x, w, b, 1, 1, method="winograd")
            conv_backward(out, cache)
        finally:
            _parallel.set_host_threads(None)
        assert seen[-2:] == [want, want]
        assert get() == before


def test_map_blocks_covers_whole_arrays(xp):
    a = xp.arange(1000, dtype=xp.float32).reshape(10, 100)
    out = xp.empty_like(a)
    _parallel.map_blocks(lambda a, out: xp.multiply(a, 2, out=out), a, out)
    np.testing.assert_array_equal(to_numpy(out), 2 * to_numpy(a))


@pytest.mark.parametrize("dtype, rtol", [(np.float32, 1e-5), (np.float64, 1e-12)])
def test_relu_dropout_and_maxpool_split_equal_plain(monkeypatch, xp, rng, dtype, rtol):
    x = xp.asarray(rng.standard_normal((5, 3, 6, 4)).astype(dtype))
    dout = xp.asarray(rng.standard_normal((5, 3, 6, 4)).astype(dtype))
    pooled = xp.asarray(rng.standard_normal((5, 3, 3, 2)).astype(dtype))

    def run():
        out, cache = relu_forward(x)
        dropped, dcache = dropout_forward(x, 0.3, True, rng=default_rng(4, xp))
        pool, pcache = maxpool_forward(x, 2)
        return (out, relu_backward(dout, cache), dropped, dropout_backward(dout, dcache),
                pool, maxpool_backward(pooled, pcache))
    split, plain = split_and_plain(monkeypatch, run)
    assert_all_close(split, plain, rtol=0)               # element-wise: bit for bit


@pytest.mark.parametrize("dtype, rtol", [(np.float32, 2e-5), (np.float64, 1e-12)])
@pytest.mark.parametrize("train", [True, False])
def test_spatial_batchnorm_split_equals_plain(monkeypatch, xp, rng, dtype, rtol, train):
    x = xp.asarray((rng.standard_normal((6, 5, 4, 3)) * 2 + 1).astype(dtype))
    dout = xp.asarray(rng.standard_normal(x.shape).astype(dtype))
    gamma, beta = (xp.asarray(rng.standard_normal(5).astype(dtype)) for _ in range(2))
    mean, var = xp.asarray(rng.standard_normal(5).astype(dtype)), xp.asarray((rng.random(5) + 0.5).astype(dtype))

    def run():
        out, cache, running = spatial_batchnorm_forward(x, gamma, beta, mean, var, train)
        return (out, *spatial_batchnorm_backward(dout, cache), *running)
    split, plain = split_and_plain(monkeypatch, run)
    assert_all_close(split, plain, rtol)


@pytest.mark.parametrize("dtype, rtol", [(np.float32, 1e-5), (np.float64, 1e-12)])
@pytest.mark.parametrize("c, k", [(2, 3), (16, 3), (16, 5)])   # im2col chunks, Winograd 3x3 and 5x5
def test_conv_split_into_chunks_on_threads_equals_one_chunk(monkeypatch, xp, rng, dtype, rtol, c, k):
    x = xp.asarray(rng.standard_normal((5, c, 7, 6)).astype(dtype))
    w = xp.asarray((rng.standard_normal((3, c, k, k)) / (c * k)).astype(dtype))
    b = xp.asarray(rng.standard_normal(3).astype(dtype))
    dout = xp.asarray(rng.standard_normal((5, 3, 7, 6)).astype(dtype))

    def run():
        out, cache = conv_forward(x, w, b, 1, k // 2)
        return (out, *conv_backward(dout, cache))
    split, plain = split_and_plain(monkeypatch, run)
    assert_all_close(split, plain, rtol)


@pytest.mark.parametrize("m, k, n", [(9, 4, 3), (3, 4, 10)])                   # rows or columns split
def test_matmul_split_among_threads_equals_one_product(xp, rng, m, k, n):
    a, b = xp.asarray(rng.standard_normal((m, k))), xp.asarray(rng.standard_normal((k, n)))
    _parallel.set_host_threads(2)
    try:
        got = _parallel.matmul(a, b, min_macs=1)
        transposed = _parallel.matmul(b.T, a.T, min_macs=1)                    # strided operands
    finally:
        _parallel.set_host_threads(None)
    np.testing.assert_allclose(to_numpy(got), to_numpy(a @ b), rtol=1e-12)
    np.testing.assert_allclose(to_numpy(transposed), to_numpy(b.T @ a.T), rtol=1e-12)


def test_l2_penalty_split_equals_plain(monkeypatch, xp, rng):
    weights = {"w": xp.asarray(rng.standard_normal((9, 13)).astype(np.float32)),
               "v": xp.asarray(rng.standard_normal(5))}

    def run():
        loss, grads = l2_penalty(weights, 0.1)
        return loss, grads["w"], grads["v"]
    split, plain = split_and_plain(monkeypatch, run)
    assert_all_close(split, plain, 1e-6)
    np.testing.assert_array_equal(to_numpy(split[1]), to_numpy(0.1 * weights["w"]))
