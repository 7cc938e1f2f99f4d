"""The sync budget: a training step never waits for the GPU; only logging and the epoch summary read values.

On the strict backend every host read and every data-dependent size is
counted per call site (``minicnn.testing.syncs``). Training shallow, deep and a
hybrid (reduced width, 16x16 inputs, class weights; augmentation and flips
where the model allows them) must read at most 2 values per logging interval
(the progress line) and 3 per epoch (the epoch summary), all in the Trainer:
a single read per step would exceed the budget by the number of steps.
"""
import math

import numpy as np
import pytest

from minicnn import backend, models
from minicnn.data.augment import Augmenter
from minicnn.testing import syncs
from minicnn.training import Trainer

SIZE, N, BATCH, LOG_EVERY, EPOCHS = 16, 48, 8, 3, 2
STEPS = math.ceil(N / BATCH)                             # 6 steps per epoch, 2 logging intervals
BUDGET = EPOCHS * (2 * math.ceil(STEPS / LOG_EVERY) + 3)


def _config(name):
    small = dict(width=0.0625 if name == "deep" else 0.125, input_shape=[1, SIZE, SIZE])
    return models.deep_config(**small) if name == "deep" else models.shallow_config(**small)


def _trainer(name):
    rng = np.random.default_rng(0)
    images, labels = rng.standard_normal((N, 1, SIZE, SIZE)).astype(np.float32), rng.integers(0, 7, N)
    common = dict(epochs=EPOCHS, batch_size=BATCH, log_every=LOG_EVERY, lr=1e-3, quiet=True, train_eval_size=16,
                  class_weights=np.linspace(0.5, 2.0, 7))
    if name == "hybrid":
        features = rng.standard_normal((N, 5)).astype(np.float32)
        model = models.hybrid(_config("shallow"), 5)
        return Trainer(model, ((images, features), labels), ((images[:16], features[:16]), labels[:16]), **common)
    return Trainer(models.Model(_config(name)), (images, labels), (images[:16], labels[:16]),
                   flip=True, augment=Augmenter(), **common)


@pytest.mark.parametrize("name", ["shallow", "deep", "hybrid"])
def test_training_reads_from_the_device_only_to_log_and_to_summarise_epochs(name):
    backend.set_backend("strict")
    trainer = _trainer(name)
    with syncs.count_syncs() as log:
        trainer.train()
    assert trainer.step == EPOCHS * STEPS
    assert 0 < log.total() <= BUDGET, log.report()
    assert log.total() == log.at("minicnn/training/trainer.py"), log.report()


def test_a_step_alone_makes_no_host_read_at_all():
    backend.set_backend("strict")
    trainer = _trainer("shallow")
    trainer.config["log_every"] = 10 ** 6
    X, y = trainer.X[:BATCH], trainer.y[:BATCH]
    with syncs.forbid_syncs():
        for it in range(3):
            Xb = trainer.augment(X, backend.counter_rng((0,), it))
            loss, grads = trainer.model.loss(Xb, y, train=True, class_weights=trainer.class_weights)
            trainer.optimizer.step(trainer.model.params, grads)


def test_a_host_conversion_planted_in_a_layer_fails_the_strict_run_but_not_numpy(monkeypatch):
    def plant(model):
        layer = model.layer("relu1")
        forward = layer._forward

        def converting(x, *args):           # a layer that quietly copies its input to the host and back
            return forward(backend.to_device(np.asarray(x), backend.xp_of(x)), *args)
        monkeypatch.setattr(layer, "_forward", converting)

    backend.set_backend("numpy")
    trainer = _trainer("shallow")
    plant(trainer.model)
    trainer.train()                          # invisible on NumPy
    backend.set_backend("strict")
    trainer = _trainer("shallow")
    plant(trainer.model)
    with pytest.raises(TypeError, match="Implicit conversion to a NumPy array"):
        trainer.train()


def test_a_host_read_planted_in_a_layer_breaks_the_budget(monkeypatch):
    backend.set_backend("strict")
    trainer = _trainer("shallow")
    layer = trainer.model.layer("relu1")
    forward = layer._forward

    seen = []

    def reading(x, *args):                  # e.g. a debugging print left in: one host read per forward
        seen.append(float(x.max()))
        return forward(x, *args)
    monkeypatch.setattr(layer, "_forward", reading)
    with syncs.count_syncs() as log:
        trainer.train()
    assert log.total() > BUDGET and log.at("test_sync_budget.py") >= EPOCHS * STEPS
