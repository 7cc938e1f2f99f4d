"""Layers reached through the grammar: a spec token or a JSON key places a registered layer in a block."""
import json

import numpy as np
import pytest

from minicnn import backend, models
from minicnn.data import load_synthetic
from minicnn.data.preprocess import MeanImage
from minicnn.errors import ConfigError
from minicnn.training import Trainer

AVG_AND_LEAKY = "c8k3-bn-lrelu0.1-ap2 c16k3-bn-lrelu0.1-d0.1-ap2 | f32-bn-lrelu0.05-d0.3"


def test_spec_tokens_and_json_keys_describe_the_same_network():
    from_spec = models.normalize_config(models.parse_spec(AVG_AND_LEAKY))
    assert from_spec["conv"][0] == {"filters": 8, "kernel": 3, "stride": 1, "pad": "same", "bn": True,
                                    "leaky_relu": 0.1, "avgpool": 2}
    again = models.normalize_config(json.loads(json.dumps(from_spec)))
    assert again == from_spec and models.to_spec(again) == AVG_AND_LEAKY


def test_a_leaky_relu_replaces_the_default_relu_and_average_pooling_sits_last_in_its_block():
    m = models.Model(AVG_AND_LEAKY)
    assert [(l.name, l.kind) for l in m.layers[:4]] == [("conv1", "conv"), ("sbn1", "spatial_batchnorm"),
                                                         ("lrelu1", "leaky_relu"), ("avgpool1", "avgpool")]
    assert m.layer("lrelu_fc1").args == {"alpha": 0.05}
    assert m.output_shapes()["avgpool2"] == (16, 12, 12)
    assert not any(l.kind == "relu" for l in m.layers)


@pytest.mark.parametrize("block, match", [({"filters": 4, "avgpool": 0}, "avgpool"),
                                          ({"filters": 4, "leaky_relu": -0.1}, "leaky_relu"),
                                          ({"filters": 4, "leaky_relu": "x"}, "leaky_relu")])
def test_bad_option_values_name_the_block_and_the_key(block, match):
    with pytest.raises(ConfigError, match=f"conv block 1.*{match}"):
        models.Model({"input_shape": [1, 8, 8], "conv": [block]})


def test_an_average_pool_that_does_not_tile_its_input_is_refused_at_build_time():
    with pytest.raises(ConfigError, match="avgpool1: 2x2 avgpool cannot divide"):
        models.Model({"input_shape": [1, 7, 7], "conv": [{"filters": 4, "avgpool": 2}]})


def test_a_model_with_average_pooling_and_leaky_relu_passes_a_float64_gradient_check():
    from minicnn.gradcheck import check_function
    m = models.Model({**models.parse_spec("c4-bn-lrelu0.2-ap2 | f6-lrelu0.1-d0.5"), "input_shape": [1, 6, 6],
                      "reg": 0.01}, dtype=np.float64)
    X = np.random.default_rng(0).standard_normal((3, 1, 6, 6))
    y = np.array([0, 3, 6])
    m.fix_random(3)
    _, grads = m.loss(X, y)
    report = check_function(lambda: m.loss(X, y)[0], m.params, grads, max_elements=30, tol=1e-6)
    assert report.passed, str(report)


def test_a_tiny_model_with_each_new_layer_trains_end_to_end_on_synthetic_faces(xp):
    data = load_synthetic(n_train=240, n_val=60, n_test=10, seed=0)
    mean = MeanImage().fit(data.train.images)
    X, Xv = mean.transform(data.train.images), mean.transform(data.val.images)
    model = models.Model(AVG_AND_LEAKY, xp=xp)
    history = Trainer(model, (X, data.train.labels), (Xv, data.val.labels), epochs=3, batch_size=32,
                      lr=3e-3, quiet=True).train()
    assert history["iter_loss"][-1] < history["iter_loss"][0]
    assert max(history["val_acc"]) > 1 / 7 + 0.05
    assert backend.xp_of(model.params["conv1.W"]) is xp
