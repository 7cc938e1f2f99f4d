"""The trainer: minibatch epochs, history, best model, early stop, determinism and exact resume.

Every test but the slow overfitting one takes ``xp``: it runs on NumPy, on the
strict CuPy stand-in and on CuPy where a GPU works (the model lives there).
"""
import os
import signal

import numpy as np
import pytest

from minicnn import models
from minicnn.backend import to_numpy
from minicnn.data.augment import Augmenter
from minicnn.errors import ConfigError, ShapeError
from minicnn.training import HISTORY_KEYS, Trainer, evaluate, read_checkpoint

SMALL = dict(input_shape=[1, 8, 8], width=0.125)


def _data(n, seed=0, classes=7):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 1, 8, 8)).astype(np.float32), rng.integers(0, classes, n)


def _trainer(model=None, n=48, quiet=True, **kw):
    model = model or models.shallow(**SMALL)
    kw = {"epochs": 2, "batch_size": 16, "lr": 1e-2, "quiet": quiet, **kw}
    return Trainer(model, _data(n), _data(24, seed=1), **kw)


def _assert_same_state(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for k in sa:
        np.testing.assert_array_equal(sa[k], sb[k], err_msg=k)


def test_a_small_net_overfits_50_examples_to_full_training_accuracy():
    model = models.shallow(input_shape=[1, 8, 8], width=0.25, conv_dropout=0.0, fc_dropout=0.0)
    X, y = _data(50, seed=3)
    history = Trainer(model, (X, y), epochs=40, batch_size=25, lr=1e-2, quiet=True).train()
    assert history["train_acc"][-1] == 1.0
    assert history["iter_loss"][-1] < 0.1 * history["iter_loss"][0]


def test_history_has_per_iteration_loss_and_per_epoch_curves(xp):
    t = _trainer(n=40, epochs=3, log_every=2)
    h = t.train()
    assert set(h) == set(HISTORY_KEYS)
    assert len(h["iter_loss"]) == 3 * 3            # ceil(40 / 16) iterations per epoch
    assert h["epoch"] == [1, 2, 3] and h["iterations"] == [3, 6, 9]
    for key in ("train_loss", "train_acc", "val_loss", "val_acc", "lr", "batch_loss"):
        assert len(h[key]) == 3 and all(np.isfinite(h[key]))


def test_each_epoch_visits_every_example_once_in_a_new_order(xp):
    seen = []

    def record(batch, rng):
        seen.append(batch[:, 0, 0, 0].astype(int).tolist())
        return batch
    X = np.repeat(np.arange(40, dtype=np.float32), 64).reshape(40, 1, 8, 8)
    y = np.arange(40) % 7
    Trainer(models.shallow(**SMALL), (X, y), epochs=2, batch_size=16, augment=record, quiet=True).train()
    epochs = [sum(seen[:3], []), sum(seen[3:], [])]
    assert [len(b) for b in seen] == [16, 16, 8] * 2
    assert sorted(epochs[0]) == sorted(epochs[1]) == list(range(40))
    assert epochs[0] != epochs[1]


def test_one_seed_fixes_the_whole_run_and_another_seed_changes_it(xp):
    runs = [_trainer(seed=s, flip=True, augment=Augmenter()) for s in (4, 4, 5)]
    for t in runs:
        t.train()
    _assert_same_state(runs[0].model, runs[1].model)
    assert not np.array_equal(*(to_numpy(t.model.params["fc1.W"]) for t in (runs[0], runs[2])))


def test_the_best_epoch_by_validation_accuracy_is_restored_at_the_end(xp):
    t = _trainer(epochs=4, lr=5e-2)
    t.train()
    loss, acc = evaluate(t.model, *t.val)
    assert acc == t.best["val_acc"] == max(t.history["val_acc"])
    assert t.best["epoch"] == 1 + int(np.argmax(t.history["val_acc"]))


def test_early_stop_after_patience_epochs_without_improvement(xp):
    t = _trainer(epochs=10, lr=1e-12, patience=2)
    t.train()
    assert t.stopped_early and len(t.history["epoch"]) < 10
    assert t.history["epoch"][-1] - t.best["epoch"] == 2
    assert max(t.history["val_acc"][-2:]) <= t.best["val_acc"]


def test_schedules_set_the_rate_per_epoch(xp):
    t = _trainer(epochs=3, schedule={"name": "step", "step_epochs": 1, "gamma": 0.5})
    t.train()
    assert t.history["lr"] == pytest.approx([1e-2, 5e-3, 2.5e-3])
    t = _trainer(epochs=2, schedule={"name": "plateau", "factor": 0.5, "patience": 0})
    t.train()
    assert len(t.history["lr"]) == 2


def test_class_weights_and_callbacks(xp):
    calls = []
    t = _trainer(epochs=2, class_weights=np.linspace(0.5, 2, 7), callbacks=[lambda tr, rec: calls.append(rec)])
    t.train()
    assert [c["epoch"] for c in calls] == [1, 2] and "val_acc" in calls[0]
    with pytest.raises(ConfigError, match="class_weights"):
        _trainer(class_weights=[1.0, 2.0])


def test_labels_outside_the_classes_are_refused_before_training(xp):
    X, y = _data(8)
    y[3] = 7
    with pytest.raises(ShapeError, match=r"Trainer: train_data: labels must lie in \[0, 7\).*max 7"):
        Trainer(models.shallow(**SMALL), (X, xp.asarray(y)))
    with pytest.raises(ShapeError, match=r"Trainer: val_data: labels must lie in \[0, 7\).*min -1"):
        Trainer(models.shallow(**SMALL), _data(8), (X, -np.ones(8, np.int64)))


def _hybrid_data(n=40):
    """Images whose row reads i*100 + column (so a mirror image is told apart), side inputs [i, 0] and,
    for the mirror images, [i, 1]."""
    images = (100 * np.arange(n)[:, None, None, None] + np.arange(8)[None, None, None, :]
              + np.zeros((n, 1, 8, 8))).astype(np.float32)
    side = np.stack([np.arange(n), np.zeros(n)], axis=1).astype(np.float32)
    return (images, side), np.arange(n) % 7, side + np.array([0, 1], np.float32)


def test_online_flips_of_a_hybrid_swap_in_the_side_input_of_each_mirrored_image(xp):
    X, y, mirrored_side = _hybrid_data()
    t = Trainer(models.hybrid(models.shallow_config(**SMALL), 2), (X, y), epochs=2, batch_size=16, flip=True,
                flip_side=mirrored_side, quiet=True)
    seen = []
    real_loss = t.model.loss

    def recording_loss(Xb, yb=None, **kw):
        if kw.get("train"):
            seen.append((to_numpy(Xb[0]), to_numpy(Xb[1])))
        return real_loss(Xb, yb, **kw)
    t.model.loss = recording_loss
    t.train()
    images = np.concatenate([b[0] for b in seen])
    side = np.concatenate([b[1] for b in seen])
    flipped = images[:, 0, 0, 0] > images[:, 0, 0, -1]
    assert len(images) == 80 and 0 < flipped.sum() < 80                    # two epochs, some mirrored
    np.testing.assert_array_equal(side[:, 1], flipped)                     # mirror image <-> mirror HOG
    np.testing.assert_array_equal(side[:, 0], images[:, 0, 0].min(axis=1) // 100)   # of the same example


@pytest.mark.parametrize("kw, message", [
    ({"flip": True}, "side inputs .HOG. of the mirrored images"),
    ({"augment": Augmenter()}, "augmentation"),
    ({"flip": False, "flip_side": np.zeros((40, 2), np.float32)}, "flip_side is for a hybrid"),
])
def test_hybrid_models_refuse_flips_without_mirror_features_and_augmentation(xp, kw, message):
    X, y, _ = _hybrid_data()
    with pytest.raises(ConfigError, match=message):
        Trainer(models.hybrid(models.shallow_config(**SMALL), 2), (X, y), **kw)


def test_evaluate_uses_the_models_own_loss_and_can_count_a_confusion_matrix(xp):
    from minicnn.layers import svm_loss
    X, y = _data(30)
    model = models.Model(dict(models.shallow_config(**SMALL), loss="svm"))
    loss, acc, cm = evaluate(model, X, y, batch_size=7, confusion=True)
    scores = model.scores(X)
    assert loss == pytest.approx(float(to_numpy(svm_loss(scores, xp.asarray(y))[0])), rel=1e-5)
    assert cm.shape == (7, 7) and cm.sum() == 30 and acc == np.trace(cm) / 30
    assert cm[y[0], int(to_numpy(scores[0].argmax()))] >= 1
    assert evaluate(model, X, y) == pytest.approx((loss, acc))


def test_resume_from_an_epoch_checkpoint_equals_the_uninterrupted_run(xp, tmp_path):
    common = dict(seed=7, flip=True, augment=Augmenter(), optimizer="adam",
                  schedule={"name": "step", "step_epochs": 1, "gamma": 0.5})
    straight = _trainer(epochs=2, **common)
    straight.train()
    first = _trainer(epochs=1, out_dir=str(tmp_path), restore_best=False, **common)
    first.train()
    del first                                                        # as if in a new process
    resumed = Trainer.resume(tmp_path / "last.npz", _data(48), _data(24, seed=1), epochs=2)
    resumed.config["restore_best"] = True
    resumed.train()
    _assert_same_state(straight.model, resumed.model)
    assert resumed.history["iter_loss"] == straight.history["iter_loss"]
    assert resumed.history["val_acc"] == straight.history["val_acc"]
    assert resumed.optimizer.t == straight.optimizer.t


def test_each_session_of_a_run_is_recorded_with_the_step_it_started_from(tmp_path):
    first = _trainer(epochs=1, out_dir=str(tmp_path), session={"commit": "aaa"})
    first.train()
    resumed = Trainer.resume(tmp_path / "last.npz", _data(48), _data(24, seed=1), epochs=2, session={"commit": "bbb"})
    resumed.train()
    steps = first.step
    assert read_checkpoint(tmp_path / "last.npz")["trainer"]["sessions"] == [
        {"commit": "aaa", "from_epoch": 0, "from_step": 0}, {"commit": "bbb", "from_epoch": 1, "from_step": steps}]
    assert Trainer.resume(tmp_path / "last.npz", _data(48), _data(24, seed=1)).sessions == resumed.sessions


def test_ctrl_c_saves_a_checkpoint_mid_epoch_and_resume_continues_exactly(xp, tmp_path):
    aug = Augmenter()
    straight = _trainer(epochs=2, seed=3, flip=True, augment=aug, restore_best=False)
    straight.train()

    state = {"batches": 0}

    def interrupting(batch, rng):
        state["batches"] += 1
        if state["batches"] == 5:                       # second minibatch of epoch 2
            os.kill(os.getpid(), signal.SIGINT)
        return aug(batch, rng)
    t = _trainer(epochs=2, seed=3, flip=True, augment=interrupting, out_dir=str(tmp_path), restore_best=False)
    before = signal.getsignal(signal.SIGINT)          # default_int_handler, or SIG_IGN in a background job
    with pytest.raises(KeyboardInterrupt):
        t.train()
    assert signal.getsignal(signal.SIGINT) is before
    resumed = Trainer.resume(tmp_path / "last.npz", _data(48), _data(24, seed=1), augment=aug)
    assert (resumed.epoch, resumed.iteration) == (1, 2)
    resumed.train()
    _assert_same_state(straight.model, resumed.model)
    assert resumed.history["iter_loss"] == straight.history["iter_loss"]


def test_checkpoints_are_written_every_epoch_with_best_beside(xp, tmp_path):
    t = _trainer(epochs=2, out_dir=str(tmp_path))
    t.train()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.npz", "last.npz"]


# -- batch-norm recalibration and run identity ---------------------------------------------------

def test_models_with_dropout_before_a_batch_norm_are_recalibrated_after_every_epoch_by_default():
    from minicnn.training.trainer import RECALIBRATION_IMAGES
    assert _trainer().config["recalibrate"] == RECALIBRATION_IMAGES
    assert _trainer(models.Model({"input_shape": [1, 8, 8], "conv": [{"filters": 4, "bn": True}],
                                  "fc": [{"units": 8, "dropout": 0.5}]})).config["recalibrate"] == 0
    with pytest.raises(ConfigError, match="recalibrate"):
        _trainer(recalibrate=-1)


def test_recalibration_changes_only_the_evaluation_statistics_not_the_training_path():
    a, b = _trainer(recalibrate=0), _trainer(recalibrate=32)
    a.train(), b.train()
    assert a.history["iter_loss"] == b.history["iter_loss"]
    assert a.history["val_acc"] != b.history["val_acc"] or a.history["val_loss"] != b.history["val_loss"]
    params = set(a.model.params)
    for name, value in a.model.state_dict().items():
        same = np.array_equal(value, b.model.state_dict()[name])
        assert same == (name in params), name


def test_resume_refuses_a_checkpoint_of_another_run_naming_what_differs(tmp_path):
    run = {"model": "abc", "data": {"sha256": "d1"}, "seed": 0}
    _trainer(epochs=1, out_dir=str(tmp_path), run=run, restore_best=False).train()
    last = str(tmp_path / "last.npz")
    assert Trainer.resume(last, _data(48), _data(24, seed=1), run=run, quiet=True).run == run
    with pytest.raises(ConfigError, match=r"another run \(data differ\)"):
        Trainer.resume(last, _data(48), _data(24, seed=1), run={**run, "data": {"sha256": "d2"}})


def test_resume_refuses_a_version_1_checkpoint_whose_dropout_masks_cannot_be_repeated(tmp_path):
    import json
    _trainer(epochs=1, out_dir=str(tmp_path), restore_best=False).train()
    path = tmp_path / "last.npz"
    with np.load(path) as npz:
        entries = {k: npz[k] for k in npz.files}
    entries["meta"] = np.array(json.dumps({**json.loads(str(entries["meta"])), "version": 1}))
    np.savez(path, **entries)
    with pytest.raises(ConfigError, match="version 1.*start the run again"):
        Trainer.resume(str(path), _data(48), _data(24, seed=1))
