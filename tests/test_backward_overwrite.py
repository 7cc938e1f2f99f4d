"""Element-wise backward passes written into the gradient they are handed, and the model that allows it.

ReLU and dropout take ``overwrite=True`` when the caller no longer needs
dout: dx then lands in dout itself (no new array to allocate and fill). The
model hands over only gradients of its own: never the caller's dout of
``backprop``, nor a gradient it returns for a tap.
"""
import numpy as np
import pytest

from minicnn import models, nn
from minicnn.backend import default_rng, to_numpy, xp_of
from minicnn.layers import dropout_backward, dropout_forward, relu_backward, relu_forward

SMALL = dict(input_shape=[1, 8, 8], width=1 / 16)


def _relu(x):
    return relu_forward(x)[1], relu_backward


def _dropout(x):
    return dropout_forward(x, 0.25, True, rng=default_rng(3, xp_of(x)))[1], dropout_backward


ELEMENT_WISE = {"relu": _relu, "dropout": _dropout}


@pytest.mark.parametrize("layer", sorted(ELEMENT_WISE))
def test_overwrite_writes_the_same_gradient_into_dout_itself(xp, rng, layer):
    x = xp.asarray(rng.standard_normal((3, 4, 5, 6)), dtype=xp.float32)
    dout = xp.asarray(rng.standard_normal(x.shape), dtype=xp.float32)
    cache, backward = ELEMENT_WISE[layer](x)
    expected = to_numpy(backward(dout, cache))
    scratch = dout.copy()
    dx = backward(scratch, cache, overwrite=True)
    assert dx is scratch
    np.testing.assert_array_equal(to_numpy(dx), expected)


@pytest.mark.parametrize("layer", sorted(ELEMENT_WISE))
def test_overwrite_leaves_a_non_contiguous_dout_alone(xp, rng, layer):
    x = xp.asarray(rng.standard_normal((4, 6)), dtype=xp.float32)
    wide = xp.asarray(rng.standard_normal((4, 12)), dtype=xp.float32)
    dout, before = wide[:, ::2], to_numpy(wide)
    cache, backward = ELEMENT_WISE[layer](x)
    dx = backward(dout, cache, overwrite=True)
    np.testing.assert_array_equal(to_numpy(wide), before)
    np.testing.assert_array_equal(to_numpy(dx), to_numpy(backward(dout.copy(), cache)))


def _never_overwriting(monkeypatch):
    """Make every layer's backward allocate its result, as before layers could write into dout."""
    backward = nn.Layer.backward
    monkeypatch.setattr(nn.Layer, "backward", lambda self, dout, overwrite=False: backward(self, dout))


def _hybrid(xp):
    m = models.hybrid(models.shallow_config(**SMALL, reg=0.01), 5, dtype=np.float32).train()
    rng = np.random.default_rng(1)
    X = (rng.standard_normal((6, 1, 8, 8)).astype(np.float32), rng.standard_normal((6, 5)).astype(np.float32))
    return m, X, rng.integers(0, 7, 6)


def test_training_gradients_are_the_same_whether_layers_overwrite_or_not(xp, monkeypatch):
    m, X, y = _hybrid(xp)
    m.fix_random(len(y), seed=2)
    _, grads = m.loss(X, y)
    _never_overwriting(monkeypatch)
    _, reference = m.loss(X, y)
    assert set(grads) == set(reference)
    for name in grads:
        np.testing.assert_array_equal(to_numpy(grads[name]), to_numpy(reference[name]), err_msg=name)


def test_backprop_never_writes_into_the_callers_dout_or_the_gradients_it_returns(xp, monkeypatch):
    m, X, _ = _hybrid(xp)
    dout = xp.asarray(np.random.default_rng(4).standard_normal((6, 7)), dtype=xp.float32)
    before = to_numpy(dout)
    taps = ("relu1", "drop2", "relu_fc1")
    m.fix_random(6, seed=2)
    result = m.backprop(X, dout, taps=taps, train=True)
    np.testing.assert_array_equal(to_numpy(dout), before)
    _never_overwriting(monkeypatch)
    reference = m.backprop(X, dout, taps=taps, train=True)
    for name in taps:
        np.testing.assert_array_equal(to_numpy(result.grads[name]), to_numpy(reference.grads[name]), err_msg=name)
    np.testing.assert_array_equal(to_numpy(result.input_grad), to_numpy(reference.input_grad))
    np.testing.assert_array_equal(to_numpy(result.side_grad), to_numpy(reference.side_grad))
