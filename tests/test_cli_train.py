"""`minicnn train` and `minicnn demo` end to end, at tiny sizes."""
import json

import pytest

from minicnn.backend import backend_name
from minicnn.commands import main

TINY = ["--n-train", "42", "--n-val", "21", "--n-test", "21", "--batch-size", "16", "--quiet"]


@pytest.fixture(autouse=True)
def _cache(request, tmp_path, monkeypatch):
    """HOG caches go to a temporary folder (the real-data test keeps the shared parsed-data cache)."""
    if "fer2013_path" not in request.fixturenames:
        monkeypatch.setenv("MINICNN_CACHE_DIR", str(tmp_path / "cache"))


def test_demo_runs_end_to_end_and_writes_its_plots(tmp_path):
    out = tmp_path / "demo"
    assert main(["demo", "--epochs", "1", "--width", "0.125", "--out", str(out)] + TINY) == 0
    for name in ("curves.png", "confusion.png", "metrics.json", "last.npz", "best.npz"):
        assert (out / name).stat().st_size > 0, name
    metrics = json.loads((out / "metrics.json").read_text())
    assert 0 <= metrics["test_acc"] <= 1 and len(metrics["confusion_test"]) == 7
    assert metrics["epochs_trained"] == 1


def test_train_with_a_spec_string_then_resume_for_more_epochs(xp, tmp_path):
    out = tmp_path / "run"
    args = ["train", "--model", "c4k3-bn-p4 | f8-d0.5", "--backend", backend_name(xp), "--out", str(out)] + TINY
    assert main(args + ["--epochs", "1"]) == 0
    assert main(args + ["--epochs", "2", "--resume"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["epochs_trained"] == 2 and metrics["spec"] == "c4k3-bn-p4 | f8-d0.5"


def test_train_a_hybrid_with_hog_features(tmp_path):
    out = tmp_path / "hog"
    assert main(["train", "--model", "shallow-hog", "--width", "0.0625", "--epochs", "1",
                 "--out", str(out)] + TINY) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert "| f32" in metrics["spec"]


@pytest.mark.parametrize("args, message", [
    (["--model", "c4k3-zz | f8"], "unknown option 'zz'"),
    (["--model", "shallow-hog", "--flip", "batch"], "HOG"),
    (["--model", "nothere.json"], "no such file"),
    (["--schedule", "sometimes"], "unknown schedule"),
])
def test_user_mistakes_print_one_line_and_exit_1(tmp_path, capsys, args, message):
    assert main(["train", "--epochs", "1", "--out", str(tmp_path)] + TINY + args) == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_resume_from_a_file_that_is_not_a_checkpoint(tmp_path, capsys):
    bad = tmp_path / "last.npz"
    bad.write_text("hello")
    assert main(["train", "--resume", str(bad), "--out", str(tmp_path)] + TINY) == 1
    assert "not a minicnn checkpoint" in capsys.readouterr().err


def test_train_on_real_fer2013_with_a_small_subset(tmp_path, fer2013_path):
    out = tmp_path / "fer"
    source = fer2013_path / "fer2013.csv.xz"
    source = source if source.exists() else fer2013_path / "fer2013-images.zip"
    assert main(["train", "--data", str(source), "--subset", "140", "--epochs", "1",
                 "--width", "0.0625", "--batch-size", "32", "--quiet", "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert sum(map(sum, metrics["confusion_test"])) == 3589          # PrivateTest
