"""Layer objects: parameters, explicit train/eval mode, caches freed after backward, seeded dropout."""
import numpy as np
import pytest

from minicnn import backend, layers as L, nn
from minicnn.errors import MiniCNNError


def _x(xp, shape, seed=0):
    return backend.to_device(np.random.default_rng(seed).standard_normal(shape).astype(np.float32), xp)


def test_conv_layer_output_shape_matches_its_static_shape_and_grads_fill(xp):
    conv = nn.Conv("conv1", 3, 5, 3, stride=1, pad=1).to(xp)
    x = _x(xp, (2, 3, 7, 6))
    out = conv.forward(x, train=True, keep_cache=True)
    assert out.shape == (2,) + conv.output_shape((3, 7, 6))
    dx = conv.backward(xp.ones_like(out))
    assert dx.shape == x.shape
    assert set(conv.grads) == {"W", "b"} and conv.grads["W"].shape == conv.params["W"].shape


def test_he_normal_initialization_has_variance_two_over_fan_in():
    affine = nn.Affine("fc1", 400, 300, rng=np.random.default_rng(0))
    assert abs(affine.params["W"].var() - 2.0 / 400) < 0.05 * 2.0 / 400
    assert not affine.params["b"].any()


def test_backward_frees_the_cache_and_eval_forward_keeps_none(xp):
    conv = nn.Conv("conv1", 1, 4, 3, pad=1).to(xp)
    x = _x(xp, (2, 1, 6, 6))
    conv.forward(x, train=False)
    assert conv.cache_nbytes == 0
    out = conv.forward(x, train=True, keep_cache=True)
    assert conv.cache_nbytes > 0
    conv.backward(xp.ones_like(out))
    assert conv.cache_nbytes == 0
    with pytest.raises(MiniCNNError, match="conv1"):
        conv.backward(xp.ones_like(out))


def test_batchnorm_updates_running_stats_in_train_mode_only(xp):
    bn = nn.SpatialBatchNorm("sbn1", 3).to(xp)
    x = _x(xp, (4, 3, 5, 5)) * 3 + 2
    before = backend.to_numpy(bn.buffers["running_mean"]).copy()
    bn.forward(x, train=False)
    np.testing.assert_array_equal(backend.to_numpy(bn.buffers["running_mean"]), before)
    bn.forward(x, train=True)
    assert not np.allclose(backend.to_numpy(bn.buffers["running_mean"]), before)


def test_dropout_is_identity_in_eval_and_reproducible_from_seed_and_counter(xp):
    x = _x(xp, (8, 50))
    a, b = nn.Dropout("d", 0.5, seed=(3, 1)), nn.Dropout("d", 0.5, seed=(3, 1))
    assert a.forward(x, train=False) is x
    first = backend.to_numpy(a.forward(x, train=True))
    second = backend.to_numpy(a.forward(x, train=True))
    assert not np.array_equal(first, second)
    np.testing.assert_array_equal(backend.to_numpy(b.forward(x, train=True)), first)
    b.calls = 0
    np.testing.assert_array_equal(backend.to_numpy(b.forward(x, train=True)), first)
    assert a.calls == 2


def test_dropout_with_a_fixed_mask_uses_it_every_time(xp):
    x = _x(xp, (4, 6))
    mask = backend.to_device(np.random.default_rng(1).random((4, 6)) > 0.5, xp)
    d = nn.Dropout("d", 0.5)
    d.mask = mask
    out = backend.to_numpy(d.forward(x, train=True))
    expected = backend.to_numpy(x) * backend.to_numpy(mask) * 2
    np.testing.assert_allclose(out, expected, rtol=1e-6)
    assert d.calls == 0


def test_concat_layer_splits_the_gradient_between_main_path_and_side_input(xp):
    cat = nn.Concat("concat", 3)
    a, side = _x(xp, (2, 4)), _x(xp, (2, 3), seed=1)
    out = cat.forward(a, train=True, keep_cache=True, side={"features": side})
    assert out.shape == (2, 7) and cat.output_shape((4,)) == (7,)
    dout = _x(xp, (2, 7), seed=2)
    da = cat.backward(dout)
    np.testing.assert_array_equal(backend.to_numpy(da), backend.to_numpy(dout)[:, :4])
    np.testing.assert_array_equal(backend.to_numpy(cat.side_grads["features"]), backend.to_numpy(dout)[:, 4:])


def test_concat_without_its_side_input_names_what_is_missing(xp):
    with pytest.raises(MiniCNNError, match="concat.*'features'"):
        nn.Concat("concat", 3).forward(_x(xp, (2, 4)), train=False)


def test_flatten_and_maxpool_round_trip_shapes(xp):
    x = _x(xp, (2, 3, 4, 6))
    pool = nn.Function("pool1", "maxpool", L.maxpool_forward, L.maxpool_backward, size=2)
    flat = nn.Flatten("flatten")
    p = pool.forward(x, True, True)
    f = flat.forward(p, True, True)
    assert f.shape == (2,) + flat.output_shape(pool.output_shape((3, 4, 6)))
    assert pool.backward(flat.backward(xp.ones_like(f))).shape == x.shape


def test_layer_to_float64_casts_params_and_buffers():
    bn = nn.BatchNorm("bn1", 4).to(np, dtype=np.float64)
    assert bn.params["gamma"].dtype == np.float64 and bn.buffers["running_var"].dtype == np.float64


def test_cache_bytes_count_activations_but_not_the_layer_parameters_they_reference():
    affine = nn.Affine("fc1", 30, 200)
    x = np.ones((5, 30), np.float32)
    affine.forward(x, train=True, keep_cache=True)
    assert affine.cache_nbytes == x.nbytes        # the cache also references W, which is not counted
