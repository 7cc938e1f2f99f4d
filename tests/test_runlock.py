"""A run folder belongs to one run: a second run is refused in one line; a dead run's lock is taken over."""
import os
import socket
import subprocess
import sys

import numpy as np
import pytest
from lock_files import write_lock

from minicnn import models
from minicnn.errors import ConfigError, NonFiniteError, ResourceError
from minicnn.training import Trainer
from minicnn.training.runlock import LOCK_NAME, RunLock, process_alive, process_start

SMALL = dict(input_shape=[1, 8, 8], width=0.125)


def _trainer(out_dir, **kw):
    rng = np.random.default_rng(0)
    data = (rng.standard_normal((32, 1, 8, 8)).astype(np.float32), rng.integers(0, 7, 32))
    return Trainer(models.shallow(**SMALL), data, data, epochs=1, batch_size=16, quiet=True, out_dir=str(out_dir),
                   **kw)


def dead_pid():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_second_run_on_a_folder_in_use_is_refused_in_one_line_and_changes_nothing(tmp_path, other_process):
    first = _trainer(tmp_path / "run")
    first.train()
    before = {p.name: p.read_bytes() for p in (tmp_path / "run").iterdir()}
    write_lock(tmp_path / "run", other_process.pid)
    with pytest.raises(ResourceError, match=f"run is in use by another run \\(pid {other_process.pid}") as error:
        _trainer(tmp_path / "run", seed=5).train()
    assert "\n" not in str(error.value)
    after = {p.name: p.read_bytes() for p in (tmp_path / "run").iterdir() if p.name != LOCK_NAME}
    assert after == before


def test_two_processes_cannot_hold_one_folder(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom minicnn.training.runlock import RunLock\n"
         "with RunLock(sys.argv[1]):\n    print('held', flush=True)\n    time.sleep(120)\n", str(tmp_path / "run")],
        stdout=subprocess.PIPE, text=True, cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(ResourceError, match=f"pid {holder.pid}"):
            RunLock(tmp_path / "run").acquire()
    finally:
        holder.kill()
        holder.wait()
    with pytest.warns(UserWarning, match=f"taking over the lock .*pid {holder.pid}"):
        with RunLock(tmp_path / "run"):
            pass


@pytest.mark.parametrize("content", [
    lambda: f"{dead_pid()} {socket.gethostname()} -",                       # its process has ended
    lambda: f"{os.getppid()} {socket.gethostname()} 1",                     # pid alive, but started at another time
    lambda: f"{os.getpid()} {socket.gethostname()} -",                      # a lock of ours we no longer hold
    lambda: "",                                                             # cut short when it was written
    lambda: "not a lock file",
], ids=["dead-pid", "reused-pid", "own-pid", "empty", "garbage"])
def test_a_stale_lock_is_taken_over_with_a_warning(tmp_path, content):
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / LOCK_NAME).write_text(content())
    with pytest.warns(UserWarning, match="taking over the lock of a run that ended"):
        _trainer(folder).train()
    assert sorted(p.name for p in folder.iterdir()) == ["best.npz", "last.npz"]


def test_a_lock_from_another_host_is_respected(tmp_path):
    write_lock(tmp_path / "run", 4242, host="elsewhere.example", start="-")
    with pytest.raises(ResourceError, match="pid 4242 on host elsewhere.example"):
        _trainer(tmp_path / "run").train()


def test_the_lock_is_reentrant_within_one_process_and_released_by_the_last_holder(tmp_path):
    folder = tmp_path / "run"
    with RunLock(folder):
        _trainer(folder).train()                 # the Trainer takes the lock the pipeline already holds
        assert (folder / LOCK_NAME).exists()
        assert (folder / LOCK_NAME).read_text().split()[0] == str(os.getpid())
    assert not (folder / LOCK_NAME).exists()


def test_the_lock_is_released_when_training_fails(tmp_path):
    t = _trainer(tmp_path / "run", lr=1e30, optimizer="sgd")
    with pytest.raises(NonFiniteError):
        t.train()
    assert not (tmp_path / "run" / LOCK_NAME).exists()
    _trainer(tmp_path / "run").train()


@pytest.mark.parametrize("make", ["file", "file-parent"])
def test_an_output_folder_that_cannot_be_created_is_one_line(tmp_path, make):
    (tmp_path / "taken").write_text("a file")
    folder = tmp_path / "taken" if make == "file" else tmp_path / "taken" / "run"
    with pytest.raises(ConfigError, match="cannot use .*taken.* as a run folder"):
        RunLock(folder).acquire()


def test_process_alive_tells_live_dead_and_restarted_processes(other_process):
    assert process_alive(os.getpid()) and process_alive(other_process.pid)
    assert process_alive(other_process.pid, process_start(other_process.pid))
    assert not process_alive(dead_pid())
    if process_start(other_process.pid) is not None:
        assert not process_alive(other_process.pid, "0")
