"""Models of the paper's grammar: building, validation, the cs231n API, gradients, summaries."""
import json

import numpy as np
import pytest

from minicnn import backend
from minicnn.backend import to_numpy
from minicnn import models
from minicnn.errors import ConfigError, ShapeError
from minicnn.gradcheck import check_function
from minicnn.optim import make_optimizer

SMALL = dict(input_shape=[1, 8, 8], width=0.125)   # shallow: conv 4, conv 8, fc 64


def _images(n, shape=(1, 8, 8), seed=0, dtype=np.float32):
    return np.random.default_rng(seed).standard_normal((n,) + tuple(shape)).astype(dtype)


def _labels(n, seed=0):
    return np.random.default_rng(seed).integers(0, 7, n)


# -- building --------------------------------------------------------------------------------

def test_shallow_summary_counts_match_the_hand_computed_paper_architecture():
    m = models.shallow()
    hand = {"conv1": 32 * 1 * 9 + 32, "sbn1": 2 * 32, "conv2": 64 * 32 * 9 + 64, "sbn2": 2 * 64,
            "fc1": 64 * 24 * 24 * 512 + 512, "bn1": 2 * 512, "scores": 512 * 7 + 7}
    assert {l.name: l.n_params for l in m.layers if l.n_params} == hand
    assert m.n_params == sum(hand.values()) == 18_898_503
    assert m.n_params == sum(p.size for p in m.params.values())
    text = m.summary()
    assert "18,898,503" in text and "64x24x24" in text and "fc1" in text


def test_deep_has_the_paper_shapes_and_parameter_count():
    m = models.deep()
    shapes = m.output_shapes()
    assert shapes["relu1"] == (64, 48, 48) and shapes["relu2"] == (128, 24, 24)
    assert shapes["relu3"] == (512, 12, 12) and shapes["pool4"] == (512, 3, 3)
    assert [l.kind for l in m.layers[:5]] == ["conv", "spatial_batchnorm", "relu", "dropout", "maxpool"]
    assert m.params["conv2.W"].shape == (128, 64, 5, 5)
    assert m.n_params == 4_474_759 == sum(p.size for p in m.params.values())


def test_params_are_named_and_are_the_arrays_the_layers_use():
    m = models.shallow(**SMALL)
    assert {"conv1.W", "conv1.b", "sbn1.gamma", "sbn1.beta", "fc1.W", "bn1.gamma", "scores.W"} <= set(m.params)
    assert m.params["conv1.W"] is m.layer("conv1").params["W"]
    assert set(m.buffers) == {"sbn1.running_mean", "sbn1.running_var", "sbn2.running_mean",
                              "sbn2.running_var", "bn1.running_mean", "bn1.running_var"}


def test_config_round_trips_through_json_and_rebuilds_the_same_network():
    m = models.shallow(**SMALL, seed=5)
    again = models.Model(json.loads(json.dumps(m.config)))
    for name, p in m.params.items():
        np.testing.assert_array_equal(to_numpy(p), to_numpy(again.params[name]))


def test_spec_string_describes_the_same_net_as_the_dict():
    spec = "c32k3-bn-d0.25 c64k3-bn-d0.25-p2 | f512-bn-d0.5"
    cfg = models.normalize_config(models.parse_spec(spec))
    paper = models.shallow_config()
    assert cfg["conv"] == paper["conv"] and cfg["fc"] == paper["fc"]
    assert models.to_spec(paper) == spec


def test_width_scales_filters_and_units_but_not_the_classes():
    cfg = models.shallow_config(width=0.5)
    assert [b["filters"] for b in cfg["conv"]] == [16, 32] and cfg["fc"][0]["units"] == 256
    assert cfg["n_classes"] == 7


@pytest.mark.parametrize("config, match", [
    ({"conv": [{"filters": -3}]}, "conv block 1"),
    ({"conv": [{"filters": 8}, {"filters": 8, "kernel": 0}]}, "conv block 2"),
    ({"input_shape": [1, 7, 7], "conv": [{"filters": 4, "pool": 2}]}, "pool1"),
    ({"conv": [{"filters": 4, "filtres": 3}]}, "conv block 1.*filtres"),
    ({"fc": [{"units": 0}]}, "fc block 1"),
    ({"fc": [{"units": 10, "dropout": 1.5}]}, "fc block 1"),
    ({"layers": []}, "layers"),
    ({"conv": [{"filters": 4, "kernel": 4}]}, "conv block 1.*odd kernel"),
    ({"input_shape": [1, 4, 4], "conv": [{"filters": 4, "kernel": 7, "pad": 0}]}, "conv1"),
    ({"loss": "hinge"}, "loss"),
])
def test_bad_configs_fail_at_build_time_naming_the_layer(config, match):
    with pytest.raises(ConfigError, match=match):
        models.Model(config)


def test_deep_on_small_inputs_fails_at_the_pool_that_cannot_divide():
    with pytest.raises(ConfigError, match="pool4"):
        models.deep(input_shape=[1, 8, 8], width=0.0625)


@pytest.mark.parametrize("spec, match", [("c32k3-bn-x4", "conv1.*'x4'"), ("c8 | f16-zz", "fc1.*'zz'"),
                                         ("q3", "conv1")])
def test_bad_spec_strings_name_the_block(spec, match):
    with pytest.raises(ConfigError, match=match):
        models.parse_spec(spec)


# -- the API ------------------------------------------------------------------------------------

def test_initial_loss_is_about_ln_7():
    m = models.shallow(width=0.25, reg=0.0)
    X, y = _images(64, (1, 48, 48)), _labels(64)
    loss, _ = m.loss(X, y)
    assert abs(float(loss) - np.log(7)) < 0.1


def test_loss_returns_scores_without_labels_and_grads_keyed_like_params(xp):
    m = models.shallow(**SMALL, xp=xp)
    X, y = _images(5), _labels(5)
    scores = m.loss(X)
    assert scores.shape == (5, 7) and backend.xp_of(scores) is xp
    loss, grads = m.loss(X, y)
    assert set(grads) == set(m.params)
    assert all(grads[k].shape == m.params[k].shape for k in grads)
    assert m.cache_nbytes() == 0


def test_l2_applies_to_conv_and_affine_weights_only():
    X, y = _images(6), _labels(6)
    plain = models.shallow(**SMALL, reg=0.0).eval()
    reg = models.shallow(**SMALL, reg=0.1).eval()
    l0, g0 = plain.loss(X, y)
    l1, g1 = reg.loss(X, y)
    expected = 0.05 * sum(float((p ** 2).sum()) for n, p in reg.params.items() if n.endswith(".W"))
    assert float(l1) - float(l0) == pytest.approx(expected, rel=1e-4)
    np.testing.assert_allclose(to_numpy(g1["conv1.W"]), to_numpy(g0["conv1.W"] + 0.1 * reg.params["conv1.W"]),
                               rtol=1e-5)
    for name in ("conv1.b", "sbn1.gamma", "sbn1.beta", "scores.b"):
        np.testing.assert_array_equal(to_numpy(g1[name]), to_numpy(g0[name]))


def test_an_optimizer_step_on_model_params_updates_the_layers_in_place():
    m = models.shallow(**SMALL)
    before = m.layer("fc1").params["W"].copy()
    _, grads = m.loss(_images(4), _labels(4))
    make_optimizer("sgd", lr=0.1).step(m.params, grads)
    assert not np.array_equal(m.layer("fc1").params["W"], before)


def test_train_eval_mode_is_explicit(xp):
    m = models.shallow(**SMALL)
    X = _images(4)
    assert m.training
    m.eval()
    np.testing.assert_array_equal(to_numpy(m.loss(X)), to_numpy(m.loss(X)))
    m.train()
    assert not np.array_equal(to_numpy(m.loss(X)), to_numpy(m.loss(X)))   # fresh dropout masks
    np.testing.assert_array_equal(to_numpy(m.loss(X, train=False)), to_numpy(m.scores(X)))


def test_predict_and_predict_proba_are_batched_eval_mode_passes(xp):
    m = models.shallow(**SMALL)
    X = _images(23)
    full = to_numpy(m.scores(X, batch_size=1000))
    np.testing.assert_allclose(to_numpy(m.scores(X, batch_size=5)), full, rtol=1e-5, atol=1e-6)
    proba = to_numpy(m.predict_proba(X, batch_size=7))
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    np.testing.assert_array_equal(to_numpy(m.predict(X, batch_size=4)), full.argmax(axis=1))
    assert m.cache_nbytes() == 0


def test_forward_to_stops_at_the_named_layer():
    m = models.shallow(**SMALL)
    X = _images(3)
    assert m.forward_to(X, "pool2").shape == (3,) + m.output_shapes()["pool2"]
    with pytest.raises(ConfigError, match="no layer named 'conv9'"):
        m.forward_to(X, "conv9")


def test_wrong_input_shapes_raise_shape_errors():
    m = models.shallow(**SMALL)
    with pytest.raises(ShapeError, match=r"expects \(N, 1, 8, 8\)"):
        m.loss(_images(2, (1, 9, 9)))
    h = models.hybrid(models.shallow_config(**SMALL), 5)
    with pytest.raises(ShapeError, match="hybrid"):
        h.loss(_images(2))
    with pytest.raises(ShapeError, match="side features"):
        h.loss((_images(2), np.zeros((2, 4), np.float32)))


def test_state_dict_round_trip_and_shape_mismatch(xp):
    a = models.shallow(**SMALL, seed=1)
    a.loss(_images(8), _labels(8))          # moves BN running stats away from their init
    b = models.shallow(**SMALL, seed=2).load_state_dict(a.state_dict())
    X = _images(6, seed=3)
    np.testing.assert_array_equal(to_numpy(a.scores(X)), to_numpy(b.scores(X)))
    other = models.shallow(input_shape=[1, 8, 8], width=0.25)
    with pytest.raises(ShapeError, match="conv1.W"):
        other.load_state_dict(a.state_dict())


# -- gradients ------------------------------------------------------------------------------------

def _gradcheck_model(m, X, y):
    m.train()
    m.fix_random(len(y), seed=1)
    loss, grads = m.loss(X, y)
    report = check_function(lambda: m.loss(X, y)[0], m.params, grads, max_elements=40, seed=0, tol=1e-6)
    assert report.passed, str(report)
    assert {row.name for row in report.rows} == set(m.params)


def test_shallow_at_reduced_width_passes_a_float64_gradient_check_in_train_mode():
    m = models.shallow(**SMALL, reg=0.01, dtype=np.float64)
    _gradcheck_model(m, _images(4, dtype=np.float64), _labels(4))


def test_deep_at_reduced_width_on_16x16_inputs_passes_a_float64_gradient_check():
    m = models.deep(input_shape=[1, 16, 16], width=1 / 64, reg=0.01, dtype=np.float64)
    _gradcheck_model(m, _images(4, (1, 16, 16), dtype=np.float64), _labels(4))


def test_hybrid_passes_a_float64_gradient_check_in_train_mode(xp):
    m = models.hybrid(models.shallow_config(**SMALL, reg=0.01), 6, dtype=np.float64)
    X = (_images(4, dtype=np.float64), np.random.default_rng(5).standard_normal((4, 6)))
    _gradcheck_model(m, X, _labels(4))


def test_class_gradients_give_d_score_d_input_and_d_score_d_feature_maps(xp):
    m = models.hybrid(models.shallow_config(**SMALL), 3, dtype=np.float64).eval()
    X, F = _images(3, dtype=np.float64), np.random.default_rng(2).standard_normal((3, 3))
    result = m.class_gradients((X, F), 4, taps=("relu2",))

    def score():
        return m.scores((X, F))[:, 4].sum()
    report = check_function(score, {"images": X, "features": F},
                            {"images": result.input_grad, "features": result.side_grad})
    assert report.passed, str(report)
    acts = result.activations["relu2"]
    assert acts.shape == result.grads["relu2"].shape == (3,) + m.output_shapes()["relu2"]
    assert m.cache_nbytes() == 0


def test_backprop_from_an_intermediate_layer_is_the_gradient_of_its_output():
    m = models.shallow(**SMALL, dtype=np.float64).eval()
    X = _images(2, dtype=np.float64)
    result = m.backprop(X, lambda a: a, at="relu1")           # d (0.5 ||relu1||^2) / dX
    report = check_function(lambda: 0.5 * (m.forward_to(X, "relu1") ** 2).sum(), {"X": X},
                            {"X": result.input_grad})
    assert report.passed, str(report)


def test_model_moves_between_backends(xp):
    m = models.shallow(**SMALL, xp=np)
    X = _images(3)
    host = m.scores(X)
    m.to(xp)
    assert backend.xp_of(m.params["conv1.W"]) is xp
    np.testing.assert_allclose(backend.to_numpy(m.scores(X)), host, rtol=1e-4, atol=1e-5)
    m.to("numpy")
    assert isinstance(m.params["conv1.W"], np.ndarray)


def test_cache_bytes_by_layer_reports_the_training_forward_memory_and_frees_it():
    m = models.shallow(**SMALL)
    sizes = m.cache_bytes_by_layer(_images(4))
    assert sizes["conv2"] >= 4 * 4 * 8 * 8 * 4                # its input x (N, C, H, W) float32, for backward
    assert sizes["flatten"] == 0 and m.cache_nbytes() == 0


def test_the_svm_loss_variant_trains_and_refuses_class_weights():
    m = models.shallow(**SMALL, loss="svm")
    loss, grads = m.loss(_images(5), _labels(5))
    assert float(loss) > 0 and set(grads) == set(m.params)
    with pytest.raises(ConfigError, match="softmax"):
        m.loss(_images(5), _labels(5), class_weights=np.ones(7, np.float32))


def test_backprop_checks_the_shape_of_dout():
    m = models.shallow(**SMALL)
    with pytest.raises(ShapeError, match="relu1"):
        m.backprop(_images(2), np.zeros((2, 3)), at="relu1")
    assert m.cache_nbytes() == 0


def test_bad_labels_raise_and_leave_no_cache_behind():
    m = models.shallow(**SMALL)
    with pytest.raises(ShapeError):
        m.loss(_images(3), np.array([0, 1, 9]))
    assert m.cache_nbytes() == 0


# -- recalibration of batch-norm statistics ---------------------------------------------------------

def test_only_a_dropout_before_a_batch_norm_asks_for_recalibration():
    assert models.shallow(**SMALL).needs_recalibration and models.deep(input_shape=[1, 16, 16]).needs_recalibration
    tiny = {"input_shape": [1, 8, 8]}
    assert not models.Model({**tiny, "conv": [{"filters": 4, "bn": True, "dropout": 0.5}], "fc": []}).needs_recalibration
    assert not models.Model({**tiny, "conv": [{"filters": 4, "bn": True}],
                             "fc": [{"units": 8, "dropout": 0.5}]}).needs_recalibration


def test_recalibrate_sets_the_running_statistics_to_the_mean_batch_statistics_with_dropout_off(xp):
    m = models.Model({"input_shape": [1, 8, 8], "conv": [{"filters": 4, "dropout": 0.5}, {"filters": 3, "bn": True}],
                      "fc": [{"units": 5}]})
    X = _images(64)
    before = m.state_dict()
    m.recalibrate(X, batch_size=16)
    batches = [to_numpy(m.forward_to(X[i:i + 16], "conv2")) for i in range(0, 64, 16)]   # eval mode: dropout off
    mean = np.mean([b.mean(axis=(0, 2, 3)) for b in batches], axis=0)
    var = np.mean([b.var(axis=(0, 2, 3)) for b in batches], axis=0)
    np.testing.assert_allclose(to_numpy(m.buffers["sbn2.running_mean"]), mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(to_numpy(m.buffers["sbn2.running_var"]), var, rtol=1e-5, atol=1e-6)
    for name in m.params:
        np.testing.assert_array_equal(m.state_dict()[name], before[name])
    assert m.cache_nbytes() == 0
