"""Every mistake answered in one line before any work starts; a run folder belongs to one run.

One test per defect class, each over several commands or cases: option
values (zero, negative, huge, text), output paths that cannot be written,
two runs on one folder, resume into the wrong folder or with the wrong model,
a batch too large for the machine, warnings as one note line, and
``train --trace``. The fuzz test (test_cli_fuzz.py) probes every option.
"""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from lock_files import write_lock
from viz_models import save_random_checkpoint

from minicnn import layers
from minicnn.commands import experiment as experiment_command
from minicnn.commands import main
from minicnn.commands import train as train_command
from minicnn.pipeline import run as pipeline_run
from minicnn.training import preflight
from minicnn.training.runlock import LOCK_NAME
from minicnn.validate import VALIDATE_ONLY_ENV, ValidatedOnly

SPEC = "c4k3-p4 | f8"
TINY = ["--model", SPEC, "--n-train", "42", "--n-val", "21", "--n-test", "21", "--batch-size", "16", "--quiet"]


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MINICNN_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def no_data(monkeypatch):
    """Loading data fails the test: what the fixture's user checks happens before any data loads."""
    def refuse(*args, **kwargs):
        raise AssertionError("data was loaded")
    monkeypatch.setattr(pipeline_run, "load_run_data", refuse)


def one_line(capsys):
    """The single line a command wrote to stderr (fails when there is none, several or a traceback)."""
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    return err.strip()


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return save_random_checkpoint(tmp_path_factory.mktemp("ckpt") / "model.npz")


# ------------------------------------------------------------------ option values
@pytest.mark.parametrize("argv, message", [
    (["train", "--epochs", "0"], "argument --epochs: must be in [1, inf), got '0'"),
    (["train", "--batch-size", "0"], "argument --batch-size: must be in [1, inf), got '0'"),
    (["train", "--lr", "0"], "argument --lr: must be in (0, inf), got '0'"),
    (["train", "--lr", "nan"], "argument --lr: must be in (0, inf), got 'nan'"),
    (["train", "--subset", "0"], "argument --subset: must be in [1, inf), got '0'"),
    (["train", "--width", "0"], "argument --width: must be in (0, 64], got '0'"),
    (["train", "--width", "-1"], "argument --width: must be in (0, 64], got '-1'"),
    (["train", "--width", "1e308"], "argument --width: must be in (0, 64], got '1e308'"),
    (["train", "--seed", "-1"], "argument --seed: must be in [0, 4294967295], got '-1'"),
    (["train", "--seed", str(2**32)], "argument --seed: must be in [0, 4294967295]"),
    (["train", "--epochs", "2.5"], "argument --epochs: must be a whole number, got '2.5'"),
    (["train", "--time-budget", "inf"], "argument --time-budget: must be in (0, inf), got 'inf'"),
    (["demo", "--n-train", "-3"], "argument --n-train: must be in [1, inf), got '-3'"),
    (["experiment", "shallow", "--subset", "many"], "argument --subset: must be a whole number, got 'many'"),
    (["experiment", "shallow", "--run-id", "../elsewhere"], "argument --run-id: must name one folder"),
    (["ensemble", "a.npz", "--data", "synthetic", "--batch-size", "0"], "argument --batch-size: must be in [1, inf)"),
    (["data", "samples", "--out", "x.png", "--per-class", "0"], "argument --per-class: must be in [1, 100]"),
    (["predict", "m.npz", "p.png", "--margin", "1.5"], "argument --margin: must be in [0, 1], got '1.5'"),
    (["predict", "m.npz", "p.png", "--min-face", "0"], "argument --min-face: must be in (0, 1], got '0'"),
    (["predict", "m.npz", "p.png", "--top", "0"], "argument --top: must be in [1, inf), got '0'"),
    (["explain", "m.npz", "--data", "synthetic", "--max-images", "0"], "argument --max-images: must be in [1, inf)"),
    (["sweep", "s.json", "--data", "synthetic", "--workers", "0"], "argument --workers: must be in [1, inf)"),
    (["gradcheck", "--tol=-1e-7"], "argument --tol: must be in (0, inf), got '-1e-7'"),
    (["trace", "--warmup", "-1"], "argument --warmup: must be in [0, inf), got '-1'"),
])
def test_an_impossible_option_value_is_refused_in_one_line_with_status_2(capsys, argv, message):
    assert main(argv) == 2
    line = one_line(capsys)
    assert line.startswith(f"minicnn {argv[0]}") and message in line and "usage:" not in line
    assert os.listdir(".") == []


def test_a_learning_rate_that_diverges_stops_the_run_with_status_1(tmp_path, capsys):
    assert main(["train", "--lr", "1e9", "--optimizer", "sgd", "--epochs", "2", "--out", "run"] + TINY) == 1
    assert "training diverged" in one_line(capsys)
    assert not (tmp_path / "run" / "metrics.json").exists()


# ------------------------------------------------------------------ output paths
@pytest.mark.parametrize("argv, message", [
    (["train", "--quick", "--out", "taken"], "--out taken: is a file, not a folder"),
    (["train", "--quick", "--out", "taken/run"], "--out taken/run: cannot write there (Not a directory)"),
    (["train", "--quick", "--out", ""], "--out: the path is empty"),
    (["demo", "--out", "taken"], "--out taken: is a file"),
    (["experiment", "shallow", "--data", "synthetic", "--quick", "--out", "taken"], "--out taken/shallow-quick: "),
    (["experiment", "shallow", "--data", "synthetic", "--quick", "--checkpoints", "taken"], "--checkpoints taken/"),
    (["ensemble", "@model", "--data", "synthetic", "--out", "taken"], "--out taken: is a file"),
    (["explain", "@model", "--data", "synthetic", "--out", "taken/x"], "--out taken/x: cannot write there"),
    (["data", "samples", "--out", "taken/grid.png"], "--out taken: is a file, not a folder"),
    (["data", "samples", "--out", "grid.gif"], "--out grid.gif: the name must end in one of"),
    (["data", "samples", "--out", "."], "--out .: is a folder"),
    (["predict", "@model", "p.png", "--annotate", "taken/a.png"], "--annotate taken: is a file"),
    (["predict", "@model", "p.png", "--annotate", "boxes"], "--annotate boxes: the name must end in one of"),
    (["data", "info", "synthetic", "--cache-dir", "taken"], "--cache-dir taken: is a file"),
])
def test_an_output_path_that_cannot_be_written_is_refused_before_any_work(capsys, checkpoint, no_data, argv, message):
    with open("taken", "w") as f:
        f.write("a file, not a folder\n")
    assert main([str(checkpoint) if a == "@model" else a for a in argv]) == 1
    assert message in one_line(capsys)
    assert [name for _, _, files in os.walk(".") for name in files] == ["taken"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_output_folder_is_refused(tmp_path, capsys):
    folder = tmp_path / "locked"
    folder.mkdir(mode=0o500)
    assert main(["train", "--quick", "--out", str(folder)]) == 1
    assert "cannot write there" in one_line(capsys)


# ------------------------------------------------------------------ one run per folder
@pytest.mark.parametrize("argv, folder", [
    (["train", "--epochs", "1", "--out", "run"] + TINY, "run"),
    (["experiment", "shallow", "--data", "synthetic", "--quick", "--subset", "24", "--quiet"], "results/shallow-quick"),
    (["experiment", "shallow", "--data", "synthetic", "--quick", "--subset", "24", "--quiet"],
     "checkpoints/shallow-quick"),
])
def test_a_second_run_on_a_folder_in_use_is_refused_before_data_loads(capsys, other_process, no_data, argv, folder):
    write_lock(folder, other_process.pid, start="-")
    assert main(argv) == 1
    assert f"is in use by another run (pid {other_process.pid}" in one_line(capsys)
    assert os.listdir(folder) == [LOCK_NAME]


def test_a_stale_lock_is_taken_over_with_one_note_line(tmp_path, capsys):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    write_lock("run", dead.pid, start="-")
    assert main(["train", "--epochs", "1", "--out", "run"] + TINY) == 0
    notes = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(notes) == 1 and notes[0].startswith("minicnn train: note: ") and "taking over the lock" in notes[0]
    assert (tmp_path / "run" / "metrics.json").exists() and not (tmp_path / "run" / LOCK_NAME).exists()


def test_a_damaged_cache_entry_is_one_note_line_and_the_command_goes_on(tmp_path, capsys):
    from fer_files import small_dataset, write_csv
    csv = write_csv(tmp_path / "fer.csv", small_dataset())
    assert main(["data", "info", str(csv)]) == 0
    entry = next((tmp_path / "cache").rglob("*.npz"))
    entry.write_bytes(b"damaged")
    capsys.readouterr()
    assert main(["data", "info", str(csv)]) == 0
    out, err = capsys.readouterr()
    notes = [line for line in err.splitlines() if "note:" in line]
    assert "train" in out and "Traceback" not in err
    assert len(notes) == 1 and notes[0].startswith("minicnn data: note: the cache entry") and "rebuilt" in notes[0]


# ------------------------------------------------------------------ resume
@pytest.fixture
def finished_run(tmp_path):
    assert main(["train", "--epochs", "1", "--out", "first"] + TINY) == 0
    return tmp_path / "first" / "last.npz"


def test_resume_from_a_checkpoint_without_out_stays_in_its_folder_and_leaves_others_alone(tmp_path, finished_run):
    os.makedirs("runs/custom")
    (tmp_path / "runs" / "custom" / "metrics.json").write_text("{}")          # an unrelated run
    assert main(["train", "--epochs", "2", "--resume", str(finished_run)] + TINY) == 0
    assert (tmp_path / "runs" / "custom" / "metrics.json").read_text() == "{}"
    assert '"epochs_run": 2' in (tmp_path / "first" / "metrics.json").read_text()


@pytest.mark.parametrize("argv, message", [
    (["--model", "shallow"], "is a checkpoint of model 'custom' (c4k3-p4 | f8), not of model 'shallow'"),
    (["--model", "c8k3-p4 | f8"], "not of model 'custom' (c8k3-p4 | f8)"),
    ([], "a run of model 'custom'; pass the --model it was trained as"),
    (["--model", SPEC, "--lr", "0.5"], "was made with other options (train differ)"),
    (["--model", SPEC, "--out", "@other-run"], "holds the checkpoints of another run"),
])
def test_resume_refuses_another_model_or_protocol_naming_it_before_data_loads(tmp_path, capsys, finished_run, argv,
                                                                              message):
    if "@other-run" in argv:
        assert main(["train", "--epochs", "1", "--out", "second"] + TINY) == 0
        argv = [str(tmp_path / "second") if a == "@other-run" else a for a in argv]
    capsys.readouterr()
    rest = [a for a in TINY if a not in ("--model", SPEC)]
    assert main(["train", "--epochs", "2", "--resume", str(finished_run)] + rest + argv) == 1
    assert message in one_line(capsys)
    assert '"epochs_run": 1' in (tmp_path / "first" / "metrics.json").read_text()


def test_a_paper_models_checkpoint_resumes_without_model(tmp_path, capsys, monkeypatch):
    common = ["--quick", "--subset", "14", "--width", "0.0625", "--quiet"]
    assert main(["train", "--model", "deep", "--out", "deep"] + common) == 0
    monkeypatch.setenv(VALIDATE_ONLY_ENV, "1")
    assert main(["train", "--resume", str(tmp_path / "deep" / "last.npz"), "--epochs", "2"] + common) == 0
    assert "the options are valid" in capsys.readouterr().out


# ------------------------------------------------------------------ memory
@pytest.fixture
def small_machine(monkeypatch):
    """A machine with 512 MiB free: enough for some images of the models below, never for a hundred."""
    monkeypatch.setattr(preflight, "available_bytes", lambda xp=None: 1 << 29)


@pytest.mark.parametrize("argv, batch", [
    (["train", "--model", "deep", "--batch-size", "100000", "--n-train", "100000"], 100000),
    (["train", "--model", "c32k3 | f64", "--batch-size", "5000", "--n-train", "3000"], 3000),
    (["demo", "--batch-size", "4096", "--width", "1", "--n-train", "4096"], 4096),
    (["experiment", "shallow", "--data", "synthetic", "--quick", "--subset", "200", "--recalibrate", "0"], 128),
])
def test_a_batch_that_cannot_fit_is_refused_before_data_loads_naming_the_largest(capsys, small_machine, no_data,
                                                                                  argv, batch):
    assert main(argv + ["--quiet"]) == 1
    line = one_line(capsys)
    assert line.startswith("minicnn " + argv[0] + ": error: a training batch")
    assert f" of {batch} images needs about" in line and "use a batch of at most" in line


@pytest.mark.parametrize("argv, faces", [
    (["train", "--model", SPEC, "--n-train", "300000"], "301400 synthetic faces"),
    (["demo", "--n-train", "100", "--n-val", "100", "--n-test", "300000"], "300200 synthetic faces"),
    (["train", "--model", SPEC, "--n-train", "60000", "--flips", "double"],        # fits once, not doubled
     "61400 synthetic faces and the 60000 mirror images of the training set"),
])
def test_synthetic_faces_beyond_memory_are_refused_before_any_is_drawn(capsys, small_machine, no_data, argv, faces):
    assert main(argv + ["--quiet", "--batch-size", "8"]) == 1
    line = one_line(capsys)
    assert f"{faces} need about" in line and "images fit in all" in line


# ------------------------------------------------------------------ train --trace
def test_train_trace_prints_the_first_step_layer_by_layer_and_the_run_goes_on(tmp_path, capsys):
    assert main(["train", "--epochs", "1", "--out", "run", "--trace"] + TINY) == 0
    out = capsys.readouterr().out
    assert "one training step, batch 16" in out and "conv1" in out and "cache keeps" in out
    assert (tmp_path / "run" / "metrics.json").exists()


# ------------------------------------------------------------------ validate-only mode
@pytest.mark.parametrize("argv", [
    ["train", "--quick", "--out", "run"],
    ["demo"],
    ["experiment", "deep_hog", "--data", "synthetic", "--quick"],
    ["ensemble", "@model", "@model", "--data", "synthetic"],
    ["explain", "@model", "--data", "synthetic"],
    ["predict", "@model", "photo.png", "--annotate", "boxes.png"],
    ["data", "samples", "--out", "grid.png"],
    ["data", "info", "synthetic"],
    ["trace", "deep"],
    ["gradcheck"],
    ["check-backends", "--kinds", "conv"],
])
def test_validate_only_mode_stops_every_command_after_its_checks(capsys, monkeypatch, checkpoint, no_data, argv):
    monkeypatch.setenv(VALIDATE_ONLY_ENV, "1")
    assert main([str(checkpoint) if a == "@model" else a for a in argv]) == 0
    out, err = capsys.readouterr()
    assert out.strip() == f"minicnn {argv[0]}: the options are valid (validate-only mode: nothing was done)"
    assert err == "" and not any(files for _, _, files in os.walk("."))


# ------------------------------------------------------------------ machine settings
@pytest.fixture
def default_machine():
    """The layer module's settings back at their defaults after the test."""
    yield
    layers.set_conv_memory_budget(None)
    layers.set_host_threads(None)


def test_conv_memory_and_threads_reach_the_layer_module_and_are_recorded(tmp_path, default_machine):
    assert main(["train", "--epochs", "1", "--out", "run", "--conv-memory-mib", "40", "--threads", "1"] + TINY) == 0
    assert layers.conv_memory_budget(np) == 40 * 2**20 and layers.host_threads(np) == 1
    timing = json.loads((tmp_path / "run" / "metrics.json").read_text())["timing"]
    assert (timing["conv_memory_bytes"], timing["host_threads"]) == (40 * 2**20, 1)


@pytest.mark.parametrize("argv", [
    ["demo", "--conv-memory-mib", "64", "--threads", "3"],
    ["experiment", "shallow", "--data", "synthetic", "--quick", "--conv-memory-mib", "64", "--threads", "3"],
])
def test_every_training_command_passes_conv_memory_and_threads_to_the_pipeline(monkeypatch, argv):
    seen = {}

    def fake_run(plan, data, **kw):
        seen.update(kw)
        raise ValidatedOnly
    monkeypatch.setattr(train_command, "run", fake_run)
    monkeypatch.setattr(experiment_command, "run", fake_run)
    assert main(argv) == 0
    assert (seen["conv_memory_bytes"], seen["host_threads"]) == (64 * 2**20, 3)


@pytest.mark.parametrize("argv, message", [
    (["train", "--conv-memory-mib", "0"], "argument --conv-memory-mib: must be in [1, 1048576], got '0'"),
    (["train", "--conv-memory-mib", "0.5"], "argument --conv-memory-mib: must be a whole number, got '0.5'"),
    (["demo", "--conv-memory-mib", str(2**21)], "argument --conv-memory-mib: must be in [1, 1048576]"),
    (["train", "--threads", "0"], "argument --threads: must be in [1, 256], got '0'"),
    (["experiment", "shallow", "--threads", "-2"], "argument --threads: must be in [1, 256], got '-2'"),
    (["train", "--threads", "many"], "argument --threads: must be a whole number, got 'many'"),
])
def test_bad_conv_memory_or_threads_are_refused_and_nothing_changes(capsys, default_machine, argv, message):
    before = layers.conv_memory_budget(np), layers.host_threads(np)
    assert main(argv) == 2
    assert message in one_line(capsys)
    assert (layers.conv_memory_budget(np), layers.host_threads(np)) == before and os.listdir(".") == []
