"""Checkpoints: one .npz that rebuilds the model and carries everything needed to resume."""
import numpy as np
import pytest

from minicnn import backend
from minicnn import models
from minicnn.training.checkpoint import load_checkpoint, read_checkpoint, save_checkpoint
from minicnn.errors import DataError, MiniCNNError
from minicnn.optim import make_optimizer
from minicnn.training.schedules import make_schedule

SMALL = dict(input_shape=[1, 8, 8], width=0.125)


def _trained(xp=None, steps=3):
    m = models.shallow(**SMALL, xp=xp)
    opt = make_optimizer("adam", lr=1e-2)
    rng = np.random.default_rng(0)
    for _ in range(steps):
        X = rng.standard_normal((8, 1, 8, 8)).astype(np.float32)
        _, grads = m.loss(X, rng.integers(0, 7, 8))
        opt.step(m.params, grads)
    return m, opt


def test_save_load_predict_gives_identical_scores(xp, tmp_path):
    m, opt = _trained()
    path = save_checkpoint(tmp_path / "a.npz", m, optimizer=opt)
    again, extras = load_checkpoint(path)
    X = np.random.default_rng(1).standard_normal((5, 1, 8, 8)).astype(np.float32)
    np.testing.assert_array_equal(backend.to_numpy(m.scores(X)), backend.to_numpy(again.scores(X)))
    assert again.config == m.config and again.layer_state() == m.layer_state()
    assert extras["optimizer"]["t"] == 3


def test_checkpoint_holds_optimizer_schedule_history_trainer_and_preprocessing(xp, tmp_path):
    m, opt = _trained()
    sched = make_schedule({"name": "step", "step_epochs": 2, "gamma": 0.5})
    sched.step(opt, 1)
    mean = np.full((8, 8), 0.25, np.float32)
    save_checkpoint(tmp_path / "c.npz", m, optimizer=opt, schedule=sched, trainer={"position": {"epoch": 1}},
                    history={"val_acc": [0.5]}, preprocess={"mean": mean}, preprocess_info={"kind": "mean"})
    raw = read_checkpoint(tmp_path / "c.npz")
    assert raw["schedule"] == sched.state_dict()
    assert raw["trainer"] == {"position": {"epoch": 1}} and raw["history"] == {"val_acc": [0.5]}
    np.testing.assert_array_equal(raw["preprocess"]["mean"], mean)
    assert raw["preprocess_info"] == {"kind": "mean"}
    for key, value in opt.state_dict().items():
        np.testing.assert_array_equal(raw["optimizer"][key], value)
    assert set(raw["model_state"]) == set(m.params) | set(m.buffers)


def test_saving_replaces_the_file_atomically_and_leaves_no_temporaries(tmp_path):
    m, _ = _trained(steps=1)
    path = tmp_path / "last.npz"
    save_checkpoint(path, m)
    m.params["scores.b"][...] = 1.0
    save_checkpoint(path, m)
    assert [p.name for p in tmp_path.iterdir()] == ["last.npz"]
    np.testing.assert_array_equal(backend.to_numpy(load_checkpoint(path)[0].params["scores.b"]), 1.0)


@pytest.mark.parametrize("content", [b"not a zip at all", None])
def test_a_file_that_is_not_a_checkpoint_gives_one_clear_error(tmp_path, content):
    path = tmp_path / "x.npz"
    if content is None:
        np.savez(path, a=np.zeros(3))
    else:
        path.write_bytes(content)
    with pytest.raises(DataError, match="not a minicnn checkpoint") as info:
        load_checkpoint(path)
    assert "\n" not in str(info.value)
    with pytest.raises(MiniCNNError, match="no such file"):
        load_checkpoint(tmp_path / "missing.npz")


def test_a_checkpoint_written_on_one_backend_loads_on_the_other(xp, tmp_path):
    m, _ = _trained(xp=xp)
    save_checkpoint(tmp_path / "dev.npz", m)
    host, _ = load_checkpoint(tmp_path / "dev.npz", xp=np)
    X = np.random.default_rng(2).standard_normal((4, 1, 8, 8)).astype(np.float32)
    np.testing.assert_allclose(host.scores(X), backend.to_numpy(m.scores(X)), rtol=1e-4, atol=1e-5)
    save_checkpoint(tmp_path / "host.npz", host)
    back, _ = load_checkpoint(tmp_path / "host.npz", xp=xp)
    assert backend.xp_of(back.params["conv1.W"]) is xp
    for name, value in m.state_dict().items():
        np.testing.assert_array_equal(back.state_dict()[name], value)
