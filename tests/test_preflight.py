"""Memory pre-flight: a step's memory is measured on small batches and predicts large ones; a batch that
cannot fit is refused in one line naming the largest that does; evaluation splits its batches instead."""
import tracemalloc

import numpy as np
import pytest

from minicnn import models
from minicnn.apps.inference import Classifier
from minicnn.commands import main
from minicnn.errors import ResourceError
from minicnn.optim import make_optimizer
from minicnn.training import Trainer, evaluate, preflight

SPECS = ["c8k3-bn-p2 c16k3-bn-d0.2-p2 | f32-bn-d0.5", "c4k5-p2 | f16", "c8k3-bn-p4 | f64-d0.5 f32"]


def _model(spec, hog_dim=None, seed=0):
    config = models.parse_spec(spec, input_shape=[1, 48, 48], seed=seed)
    return models.Model(models.hybrid_config(config, hog_dim) if hog_dim else config)


def _inputs(model, n, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 1, 48, 48)).astype(np.float32)
    if model.is_hybrid:
        X = (X, rng.standard_normal((n, model.config["hog_dim"])).astype(np.float32))
    return X, rng.integers(0, 7, n)


def _peak(step):
    """Peak bytes allocated while ``step()`` runs (tracemalloc sees NumPy's arrays)."""
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        step()
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("spec, hog_dim, optimizer", [
    (SPECS[0], None, "adam"), (SPECS[1], None, "sgd"), (SPECS[2], 36, "rmsprop"), (SPECS[0], None, "nesterov")])
def test_the_measured_footprint_predicts_a_large_training_step(spec, hog_dim, optimizer):
    model, opt = _model(spec, hog_dim), make_optimizer(optimizer, lr=1e-3)
    predicted = preflight.footprint(model, train=True, optimizer=opt).bytes(48)
    X, y = _inputs(model, 48)

    def step():
        _, grads = model.loss(X, y, train=True)
        opt.step(model.params, grads)
    measured = _peak(step)
    assert 0.9 * measured <= predicted <= 1.25 * measured


@pytest.mark.parametrize("spec, hog_dim", [(SPECS[0], None), (SPECS[2], 36)])
def test_the_measured_footprint_predicts_a_large_evaluation_pass(spec, hog_dim):
    model = _model(spec, hog_dim)
    X, _ = _inputs(model, 64)
    measured = _peak(lambda: model.predict_proba(X, batch_size=64))
    assert 0.9 * measured <= preflight.footprint(model, train=False).bytes(64) <= 1.25 * measured


def test_measuring_leaves_the_model_untouched():
    model = _model(SPECS[0])
    state, layers = model.state_dict(), model.layer_state()
    preflight.footprint(model, train=True, optimizer=make_optimizer("adam", lr=1e-3))
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, state[name], err_msg=name)
    assert model.layer_state() == layers and model.cache_nbytes() == 0


def test_a_batch_that_cannot_fit_is_refused_naming_the_largest_that_does():
    model, opt = _model(SPECS[0]), make_optimizer("adam", lr=1e-3)
    fp = preflight.footprint(model, train=True, optimizer=opt)
    budget = fp.bytes(100) + fp.bytes(101) >> 1                  # room for 100 images, not 101
    preflight.check_batch(model, 100, optimizer=opt, budget=budget)
    for batch in (101, 1000, 10**7):
        with pytest.raises(ResourceError, match=f"training batch of {batch} images needs about .*"
                                                "use a batch of at most 100$"):
            preflight.check_batch(model, batch, optimizer=opt, budget=budget)
    with pytest.raises(ResourceError, match="not even one image fits"):
        preflight.check_batch(model, 1, optimizer=opt, budget=fp.bytes(1) - 1)


@pytest.fixture
def tiny_budget(monkeypatch):
    """Pretend the machine has ``free`` bytes available (set ``tiny_budget.free``)."""
    state = type("Budget", (), {"free": 1 << 30})()
    monkeypatch.setattr(preflight, "available_bytes", lambda xp=None: state.free)
    return state


def test_the_trainer_refuses_at_construction_before_any_work(tmp_path, tiny_budget):
    model = _model(SPECS[0])
    tiny_budget.free = preflight.footprint(model, True, make_optimizer("adam", lr=1e-3)).bytes(40) / preflight.SAFETY
    with pytest.raises(ResourceError, match="batch of 64 images .* at most (39|40)$"):
        Trainer(model, _inputs(model, 200), batch_size=64, out_dir=str(tmp_path / "run"), quiet=True)
    assert not (tmp_path / "run").exists()
    with pytest.raises(ResourceError, match="batch of 100 images"):    # the batch a 100-image set really gets
        Trainer(model, _inputs(model, 100), batch_size=10**6, quiet=True)


def test_the_trainer_never_changes_its_batch(tiny_budget):
    model = _model(SPECS[1])
    tiny_budget.free = preflight.footprint(model, True, make_optimizer("adam", lr=1e-3)).bytes(33) / preflight.SAFETY
    t = Trainer(model, _inputs(model, 64), epochs=1, batch_size=32, quiet=True, recalibrate=0)
    t.train()
    assert t.history["iterations"] == [2]


def test_evaluation_and_prediction_split_their_batches_and_give_the_same_numbers(tiny_budget):
    model = _model(SPECS[0])
    X, y = _inputs(model, 96)
    loss, acc = evaluate(model, X, y, batch_size=96)
    clf = Classifier(model, name="m")
    faces = np.random.default_rng(1).integers(0, 256, (96, 48, 48)).astype(np.float32)
    proba = clf.proba(faces, batch_size=96)
    tiny_budget.free = preflight.footprint(model, train=False).bytes(10) / preflight.SAFETY
    assert preflight.fit_batch(model, 96) in (9, 10)
    split_loss, split_acc = evaluate(model, X, y, batch_size=96)
    assert split_acc == acc and split_loss == pytest.approx(loss, rel=1e-6)
    np.testing.assert_allclose(clf.proba(faces, batch_size=96), proba, rtol=1e-6, atol=1e-9)
    tiny_budget.free = 1000
    with pytest.raises(ResourceError, match="evaluation batch of 1 images .* not even one image fits"):
        evaluate(model, X, y)


def test_minicnn_train_refuses_a_batch_too_large_for_the_machine_in_one_line(tmp_path, capsys, tiny_budget):
    tiny_budget.free = 64 << 20
    code = main(["train", "--model", "c8k3-bn-p2 | f32", "--batch-size", "100000", "--epochs", "1",
                 "--n-train", "300", "--n-val", "20", "--n-test", "20", "--out", str(tmp_path / "run"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 1 and len(err.strip().splitlines()) == 1
    assert "training batch of 300 images needs about" in err and "use a batch of at most" in err
    assert not (tmp_path / "run" / "last.npz").exists()


def test_the_budget_is_a_share_of_the_memory_available_now():
    free = preflight.available_bytes(np)
    assert free is None or free > 0
    if free is not None:
        assert preflight.budget_bytes(np) == pytest.approx(preflight.SAFETY * preflight.available_bytes(np), rel=0.2)
