"""Inverted dropout: drop_prob ZEROES units; expectation kept; identity in eval mode."""
import numpy as np
import pytest

from minicnn.backend import default_rng, to_numpy
from minicnn.errors import ConfigError, ShapeError
from minicnn.gradcheck import check_layer
from minicnn.layers import dropout_backward, dropout_forward


def test_train_mode_keeps_the_expectation_and_drops_the_given_fraction(xp):
    x = xp.ones((400, 500), dtype=xp.float32)
    out, _ = dropout_forward(x, 0.3, train=True, rng=default_rng(0, xp))
    assert out.dtype == xp.float32
    assert abs(float(out.mean()) - 1.0) < 0.01          # 200k units: std of the mean ~0.0014
    assert abs(float((out == 0).sum()) / out.size - 0.3) < 0.005
    np.testing.assert_allclose(to_numpy(out[out != 0]), 1 / 0.7, rtol=1e-6)


@pytest.mark.parametrize("train, p", [(False, 0.5), (True, 0.0)])
def test_eval_mode_and_zero_drop_prob_are_the_identity(xp, rng, train, p):
    x = xp.asarray(rng.standard_normal((3, 4)))
    out, cache = dropout_forward(x, p, train=train)           # no rng needed
    np.testing.assert_array_equal(to_numpy(out), to_numpy(x))
    dout = xp.asarray(rng.standard_normal((3, 4)))
    np.testing.assert_array_equal(to_numpy(dropout_backward(dout, cache)), to_numpy(dout))


def test_the_same_seed_gives_the_same_mask(xp):
    x = xp.ones((50, 40))
    a, _ = dropout_forward(x, 0.5, True, rng=default_rng(7, xp))
    b, _ = dropout_forward(x, 0.5, True, rng=default_rng(7, xp))
    c, _ = dropout_forward(x, 0.5, True, rng=default_rng(8, xp))
    np.testing.assert_array_equal(to_numpy(a), to_numpy(b))
    assert not np.array_equal(to_numpy(a), to_numpy(c))


def test_backward_passes_gradient_only_through_kept_units(xp, rng):
    x = xp.asarray(rng.standard_normal((4, 3, 5)))
    mask = xp.asarray(rng.random((4, 3, 5)) >= 0.25)
    report = check_layer(dropout_forward, dropout_backward, dict(x=x),
                         dict(drop_prob=0.25, train=True, mask=mask))
    assert report.passed, str(report)
    _, cache = dropout_forward(x, 0.25, True, mask=mask)
    dx = dropout_backward(xp.ones_like(x), cache)
    np.testing.assert_allclose(to_numpy(dx), to_numpy(mask) / 0.75)


@pytest.mark.parametrize("p", [-0.1, 1.0, 1.5])
def test_drop_prob_outside_zero_one_is_refused(p):
    with pytest.raises(ConfigError, match="probability of zeroing"):
        dropout_forward(np.ones(3), p, train=True, rng=np.random.default_rng(0))


def test_train_mode_without_rng_or_mask_is_refused():
    with pytest.raises(ConfigError, match="dropout_forward: train mode needs rng"):
        dropout_forward(np.ones((2, 2)), 0.5, train=True)


def test_a_mask_of_the_wrong_shape_is_refused():
    with pytest.raises(ShapeError, match=r"dropout_forward: mask has shape \(2, 3\) but needs \(2, 2\)"):
        dropout_forward(np.ones((2, 2)), 0.5, train=True, mask=np.ones((2, 3), bool))


def test_masks_drawn_block_by_block_equal_one_draw_for_the_whole_shape(monkeypatch, xp):
    from minicnn.layers import _parallel
    monkeypatch.setattr(_parallel, "block_bytes", lambda xp: 100)      # 25 float32 draws per block
    x = xp.ones((7, 9, 11), dtype=xp.float32)
    out, (keep, scale) = dropout_forward(x, 0.4, True, rng=default_rng(3, xp))
    want = to_numpy(default_rng(3, xp).random(x.shape, dtype=xp.float32)) >= 0.4
    np.testing.assert_array_equal(to_numpy(keep), want)
    assert keep.dtype == bool and scale == pytest.approx(1 / 0.6)
    np.testing.assert_allclose(to_numpy(out), want / np.float32(0.6), rtol=1e-6)


@pytest.mark.parametrize("held_back", [0, 1])     # 1: the generator holds half of a 64-bit output
@pytest.mark.parametrize("threads", [1, 2])
def test_blocks_drawn_on_threads_equal_one_draw_and_leave_the_generator_where_it_would(monkeypatch, held_back,
                                                                                       threads):
    from minicnn.layers import _parallel
    monkeypatch.setattr(_parallel, "block_bytes", lambda xp: 36)   # 9 draws per block: blocks start on both halves
    x = np.ones((5, 23), dtype=np.float32)
    rng, twin = default_rng(5, np), default_rng(5, np)
    rng.random(held_back, dtype=np.float32), twin.random(held_back, dtype=np.float32)
    _parallel.set_host_threads(threads)
    try:
        _, (keep, _) = dropout_forward(x, 0.5, True, rng=rng)
    finally:
        _parallel.set_host_threads(None)
    np.testing.assert_array_equal(keep, twin.random(x.shape, dtype=np.float32) >= 0.5)
    got, want = rng.bit_generator.state, twin.bit_generator.state      # ("uinteger" counts only while held)
    assert (got["state"], got["has_uint32"]) == (want["state"], want["has_uint32"])
    assert rng.random(3, dtype=np.float32).tolist() == twin.random(3, dtype=np.float32).tolist()
