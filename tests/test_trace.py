"""minicnn.trace: one training step made visible, layer by layer, and the `minicnn trace` command."""
import numpy as np
import pytest

from minicnn import backend
from minicnn.commands import main
from minicnn.models import Model, parse_spec
from minicnn.trace import describe_cache, trace_step, trace_trainer
from minicnn.training import Trainer

SPEC = "c4k3-bn-d0.2-p2 c8k3 | f16-bn-d0.5"


def small_model(xp):
    return Model(parse_spec(SPEC, input_shape=[1, 12, 12]), xp=xp)


def batch(n=6):
    rng = np.random.default_rng(1)
    return rng.standard_normal((n, 1, 12, 12)).astype(np.float32), rng.integers(0, 7, n)


def test_one_row_per_layer_with_shapes_cache_and_times(xp):
    model = small_model(xp)
    X, y = batch()
    expected_cache = model.cache_bytes_by_layer(X)
    trace = trace_step(model, X, y)
    shapes = model.output_shapes()
    assert [r.name for r in trace.rows] == model.layer_names
    assert trace.rows[0].input_shape == (1, 12, 12)
    for before, row in zip(trace.rows, trace.rows[1:]):
        assert row.input_shape == before.output_shape        # the data flows from row to row
    assert all(r.output_shape == shapes[r.name] for r in trace.rows)
    assert {r.name: r.cache_bytes for r in trace.rows} == expected_cache
    assert trace.cache_bytes == sum(expected_cache.values())
    assert all(r.forward_s >= 0 and r.backward_s >= 0 for r in trace.rows)
    layers = sum(r.forward_s + r.backward_s for r in trace.rows)
    assert layers <= trace.step_s and trace.rest_s == pytest.approx(trace.step_s - layers)
    assert trace.batch == 6 and np.isfinite(trace.loss)


def test_the_cache_column_names_inputs_outputs_and_parameters(xp):
    trace = trace_step(small_model(xp), *batch())
    rows = {r.name: r for r in trace.rows}
    assert "param W" in rows["conv1"].cache and "param W" in rows["fc1"].cache
    assert rows["relu2"].cache == ["6x8x6x6 bool"]                   # ReLU keeps its mask x > 0, nothing else
    assert rows["pool1"].cache == ["6x4x6x6 uint8"]                  # max-pool: each tile's first-max offset
    assert rows["flatten"].cache == [] and rows["flatten"].cache_bytes == 0


def test_describe_cache_walks_nested_caches():
    x, out, w = np.zeros((2, 3)), np.ones((2, 4)), np.ones((3, 4))
    cache = ("tag", x.reshape(6), {"w": w, "other": np.zeros(5, np.float32)}, [out[:1]], 3)
    assert describe_cache(cache, x, out, {"W": w}) == ["input view 6", "param W", "5 float32", "output view 1x4"]


def test_a_traced_step_leaves_the_model_as_it_was(xp):
    X, y = batch()
    traced, plain = small_model(xp), small_model(xp)
    trace_step(traced, X, y, warmup=2)
    assert traced.layer_state() == plain.layer_state()               # dropout draws put back
    for name, value in plain.state_dict().items():                   # parameters and BN statistics
        np.testing.assert_array_equal(traced.state_dict()[name], value)
    loss_traced, _ = traced.loss(X, y)
    loss_plain, _ = plain.loss(X, y)
    assert float(backend.to_numpy(loss_traced)) == float(backend.to_numpy(loss_plain))
    assert "forward" not in vars(traced.layers[0])                   # the layers' own methods again


def test_a_run_traced_before_training_trains_exactly_like_an_untraced_one(xp):
    rng = np.random.default_rng(2)
    X, y = rng.standard_normal((24, 1, 12, 12)).astype(np.float32), rng.integers(0, 7, 24)

    def run(trace):
        trainer = Trainer(small_model(xp), (X, y), epochs=2, batch_size=8, seed=0, quiet=True)
        trace_rows = trace_trainer(trainer).rows if trace else None
        return trainer.train(), trace_rows

    (traced, rows), (plain, _) = run(True), run(False)
    assert rows[0].input_shape == (1, 12, 12) and traced["iter_loss"] == plain["iter_loss"]


def test_the_table_has_a_row_per_layer_then_the_rest_and_the_step(xp):
    text = str(trace_step(small_model(xp), *batch()))
    lines = text.splitlines()
    assert lines[0].startswith("one training step, batch 6: loss ")
    assert lines[1].split()[:4] == ["layer", "kind", "input", "output"]
    assert [line.split()[0] for line in lines[2:-2]] == small_model(xp).layer_names
    assert lines[-2].startswith("loss, L2, rest") and lines[-1].startswith("step") and lines[-1].endswith("100%")


def test_cli_traces_a_spec_and_prints_the_table(capsys):
    assert main(["trace", "c4k3-p2 | f8", "--batch", "3", "--warmup", "0"]) == 0
    out = capsys.readouterr().out
    assert "one training step, batch 3" in out and "conv1" in out and "scores" in out and "cache keeps" in out


def test_cli_traces_a_hybrid_paper_model_with_side_features(capsys):
    assert main(["trace", "shallow_hog", "--width", "0.125", "--batch", "2", "--warmup", "0"]) == 0
    assert "concat" in capsys.readouterr().out


@pytest.mark.parametrize("args, code, message", [
    (["--batch", "0"], 2, "argument --batch: must be in [1, inf)"),
    (["--backend", "tpu"], 2, "argument --backend: invalid choice"),
    (["c4k3x"], 1, "expected a conv head"),
    (["c8k3 | f16", "--batch", "1000000000"], 1, "the traced batch of 1000000000 images needs about"),
])
def test_cli_mistakes_are_one_line(capsys, args, code, message):
    assert main(["trace", *args]) == code
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
