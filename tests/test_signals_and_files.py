"""SIGTERM saves like Ctrl-C; checkpoint temporaries never outlive their writer; checkpoints respect the umask."""
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from minicnn import models
from minicnn.training import Trainer, load_checkpoint, save_checkpoint
from minicnn.training import checkpoint as checkpoint_module

SMALL = dict(input_shape=[1, 8, 8], width=0.125)
REPO = Path(__file__).resolve().parents[1]


def _data(n, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 1, 8, 8)).astype(np.float32), rng.integers(0, 7, n)


def _trainer(**kw):
    return Trainer(models.shallow(**SMALL), _data(48), _data(24, 1), **{
        "epochs": 2, "batch_size": 16, "lr": 1e-2, "quiet": True, "seed": 3, "restore_best": False, **kw})


# ------------------------------------------------------------------ signals
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_termination_signal_saves_mid_epoch_and_resume_continues_exactly(tmp_path, signum):
    straight = _trainer()
    straight.train()
    sent = {"batches": 0}

    def augment(batch, rng):
        sent["batches"] += 1
        if sent["batches"] == 5:                       # second minibatch of epoch 2
            os.kill(os.getpid(), signum)
        return batch
    t = _trainer(augment=augment, out_dir=str(tmp_path))
    before = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}   # SIGINT ignored in background jobs
    with pytest.raises(KeyboardInterrupt):
        t.train()
    assert {s: signal.getsignal(s) for s in before} == before
    resumed = Trainer.resume(tmp_path / "last.npz", _data(48), _data(24, 1), augment=lambda b, rng: b)
    assert (resumed.epoch, resumed.iteration) == (1, 2)
    resumed.train()
    assert resumed.history["iter_loss"] == straight.history["iter_loss"]
    for name, value in straight.model.state_dict().items():
        np.testing.assert_array_equal(resumed.model.state_dict()[name], value, err_msg=name)


def test_a_second_signal_stops_at_once_without_saving(tmp_path):
    def augment(batch, rng):
        os.kill(os.getpid(), signal.SIGTERM)          # asks for a stop after this minibatch...
        os.kill(os.getpid(), signal.SIGTERM)          # ...and this one insists
        return batch
    with pytest.raises(KeyboardInterrupt):
        _trainer(augment=augment, out_dir=str(tmp_path)).train()
    assert list(tmp_path.iterdir()) == []             # no checkpoint, no temporary, no lock


def test_minicnn_train_killed_with_sigterm_saves_its_checkpoint_and_exits(tmp_path):
    out = tmp_path / "run"
    proc = subprocess.Popen(
        [sys.executable, "-m", "minicnn", "train", "--model", "c4k3-p4 | f8", "--epochs", "500", "--n-train", "64",
         "--n-val", "16", "--n-test", "16", "--batch-size", "16", "--out", str(out)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in proc.stdout:
        if line.startswith("epoch 1:"):
            proc.send_signal(signal.SIGTERM)
            break
    rest, err = proc.communicate(timeout=120)
    assert proc.returncode == 130 and "SIGTERM: finishing this minibatch" in rest
    assert "Traceback" not in err and "interrupted" in err
    _, extras = load_checkpoint(out / "last.npz")
    assert extras["trainer"]["position"]["epoch"] >= 1
    assert sorted(p.name for p in out.iterdir()) == ["best.npz", "last.npz"]


# ------------------------------------------------------------------ temporary files
def _fail_with(exc):
    def savez(*args, **kwargs):
        raise exc
    return savez


@pytest.mark.parametrize("exc", [OSError(28, "No space left on device"), KeyboardInterrupt(), MemoryError()],
                         ids=["disk-full", "ctrl-c", "memory"])
def test_a_failed_save_leaves_no_temporary_and_the_old_checkpoint(tmp_path, monkeypatch, exc):
    model = models.shallow(**SMALL)
    path = tmp_path / "last.npz"
    save_checkpoint(path, model)
    before = path.read_bytes()
    monkeypatch.setattr(checkpoint_module.np, "savez", _fail_with(exc))
    with pytest.raises(type(exc)):
        save_checkpoint(path, model)
    assert [p.name for p in tmp_path.iterdir()] == ["last.npz"] and path.read_bytes() == before


def test_a_failed_rename_leaves_no_temporary(tmp_path, monkeypatch):
    monkeypatch.setattr(checkpoint_module.os, "replace", _fail_with(PermissionError(13, "Permission denied")))
    with pytest.raises(PermissionError):
        save_checkpoint(tmp_path / "last.npz", models.shallow(**SMALL))
    assert list(tmp_path.iterdir()) == []


def test_temporaries_of_dead_writers_are_removed_when_the_folder_is_next_written(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    orphans = [tmp_path / f".tmp-{proc.pid}-0a1b2c3d.npz", tmp_path / f".tmp-{proc.pid}-ffff0000.npz"]
    alive = tmp_path / f".tmp-{os.getppid()}-12345678.npz"             # a live writer's: left alone
    others = [tmp_path / ".tmp-notes.npz", tmp_path / "tmp-1-a.npz", tmp_path / f".tmp-{proc.pid}-x.txt"]
    for p in orphans + [alive] + others:
        p.write_bytes(b"partial")
    save_checkpoint(tmp_path / "last.npz", models.shallow(**SMALL))
    left = {p.name for p in tmp_path.iterdir()}
    assert left == {"last.npz", alive.name, *(p.name for p in others)}


# ------------------------------------------------------------------ permissions
@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_checkpoints_are_written_like_other_files_under_the_umask(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        save_checkpoint(tmp_path / "m.npz", models.shallow(**SMALL))
        (tmp_path / "other.txt").write_text("x")
    finally:
        os.umask(old)
    assert (tmp_path / "m.npz").stat().st_mode & 0o777 == mode
    assert (tmp_path / "other.txt").stat().st_mode & 0o777 == mode
