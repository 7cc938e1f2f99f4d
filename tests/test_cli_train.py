"""`minicnn train`, `minicnn demo` and `minicnn experiment` end to end, at tiny sizes: front ends of one pipeline."""
import json
import runpy
import sys

import pytest

from minicnn.backend import backend_name
from minicnn.commands import build_parser, main

TINY = ["--n-train", "42", "--n-val", "21", "--n-test", "21", "--batch-size", "16", "--quiet"]


@pytest.fixture(autouse=True)
def _cache(request, tmp_path, monkeypatch):
    """HOG caches go to a temporary folder (the real-data test keeps the shared parsed-data cache)."""
    if "fer2013_path" not in request.fixturenames:
        monkeypatch.setenv("MINICNN_CACHE_DIR", str(tmp_path / "cache"))


def metrics_of(folder):
    return json.loads((folder / "metrics.json").read_text())


def test_demo_runs_end_to_end_and_writes_its_plots(tmp_path):
    out = tmp_path / "demo"
    assert main(["demo", "--epochs", "1", "--width", "0.125", "--out", str(out)] + TINY) == 0
    for name in ("curves.png", "confusion.png", "metrics.json", "per_class.md", "last.npz", "best.npz"):
        assert (out / name).stat().st_size > 0, name
    metrics = metrics_of(out)
    assert metrics["schema"] == 2 and metrics["epochs_run"] == 1
    assert 0 <= metrics["test"]["accuracy"] <= 1 and len(metrics["test"]["confusion_matrix"]) == 7
    assert main(["demo", "--epochs", "1", "--width", "0.125", "--out", str(out)] + TINY) == 0   # a new demo


def test_train_with_a_spec_string_then_resume_for_more_epochs(xp, tmp_path):
    out = tmp_path / "run"
    args = ["train", "--model", "c4k3-bn-p4 | f8-d0.5", "--backend", backend_name(xp), "--out", str(out)] + TINY
    assert main(args + ["--epochs", "1"]) == 0
    assert main(args + ["--epochs", "2", "--resume"]) == 0
    metrics = metrics_of(out)
    assert metrics["epochs_run"] == 2 and metrics["spec"] == "c4k3-bn-p4 | f8-d0.5"
    assert metrics["model"] == "custom" and any("network" in c for c in metrics["changes"])


def test_keep_epochs_writes_an_eval_only_copy_per_epoch_that_explain_finds(tmp_path):
    from minicnn.apps.explain import run_checkpoints
    from minicnn.commands.explain import default_run_dir
    from minicnn.training.checkpoint import read_checkpoint
    out = tmp_path / "run"
    args = ["train", "--model", "c4k3-bn-p4 | f8-d0.5", "--out", str(out), "--keep-epochs"] + TINY
    assert main(args + ["--epochs", "1"]) == 0
    assert main(args + ["--epochs", "2", "--resume"]) == 0
    copies = sorted(p.name for p in (out / "epochs").iterdir())
    assert copies == ["epoch001.npz", "epoch002.npz"]                  # and nothing else
    assert read_checkpoint(out / "epochs" / "epoch002.npz")["meta"]["eval_only"] is True
    assert default_run_dir(out / "best.npz") == out / "epochs"
    assert [epoch for epoch, _ in run_checkpoints(out / "epochs")] == [1, 2]
    assert metrics_of(out)["epochs_run"] == 2


def test_resume_from_a_checkpoint_continues_in_its_own_folder(tmp_path, monkeypatch):
    out = tmp_path / "run"
    args = ["train", "--model", "c4k3-p4 | f8"] + TINY
    assert main(args + ["--epochs", "1", "--out", str(out)]) == 0
    monkeypatch.chdir(tmp_path)
    assert main(args + ["--epochs", "2", "--resume", str(out / "last.npz")]) == 0
    assert metrics_of(out)["epochs_run"] == 2 and not (tmp_path / "runs").exists()


def test_a_hybrid_trains_with_random_flips_and_the_hog_of_each_mirror_image(xp, tmp_path):
    out = tmp_path / "hog"
    assert main(["train", "--model", "shallow_hog", "--width", "0.0625", "--epochs", "1",
                 "--backend", backend_name(xp), "--out", str(out)] + TINY) == 0
    metrics = metrics_of(out)
    assert "| f32" in metrics["spec"] and metrics["trainer"]["flip"]
    assert metrics["config"]["train"]["flips"] == "random" and metrics["config"]["hog"]["orientations"] == 9


@pytest.mark.parametrize("args, message", [
    (["--model", "c4k3-zz | f8"], "unknown option 'zz'"),
    (["--model", "shallow-hog"], "did you mean 'shallow_hog'"),
    (["--model", "nothere.json"], "no such file"),
    (["--schedule", "sometimes"], "unknown schedule"),
    (["--schedule", '{"name": "step", "step_epochs": 3, "gamma": 2}'], "gamma must be in"),
])
def test_user_mistakes_print_one_line_and_exit_1(tmp_path, capsys, args, message):
    assert main(["train", "--epochs", "1", "--out", str(tmp_path)] + TINY + args) == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "last.npz").exists()


@pytest.mark.parametrize("args, message", [
    (["--epochs", "0"], "argument --epochs: must be in [1, inf), got '0'"),
    (["--recalibrate", "-1"], "argument --recalibrate: must be in [0, inf), got '-1'"),
    (["--optimizer", "adamw"], "argument --optimizer: invalid choice: 'adamw'"),
])
def test_option_values_argparse_refuses_are_one_line_and_exit_2(tmp_path, capsys, args, message):
    assert main(["train", "--epochs", "1", "--out", str(tmp_path)] + TINY + args) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "usage:" not in err


def test_a_second_run_into_a_run_folder_is_refused(tmp_path, capsys):
    args = ["train", "--model", "c4k3-p4 | f8", "--epochs", "1", "--out", str(tmp_path)] + TINY
    assert main(args) == 0
    assert main(args) == 1 and "pass --resume" in capsys.readouterr().err


def test_resume_from_a_file_that_is_not_a_checkpoint(tmp_path, capsys):
    bad = tmp_path / "last.npz"
    bad.write_text("hello")
    assert main(["train", "--resume", str(bad), "--out", str(tmp_path)] + TINY) == 1
    assert "not a minicnn checkpoint" in capsys.readouterr().err


def test_train_and_the_experiment_runner_share_the_papers_defaults_and_one_schema(tmp_path, monkeypatch):
    """`minicnn train --model shallow_hog` and `python -m experiments.run shallow_hog`: the same run."""
    common = ["--data", "synthetic", "--quick", "--subset", "24", "--quiet"]
    assert main(["train", "--model", "shallow_hog", "--out", str(tmp_path / "train")] + common) == 0
    monkeypatch.setattr(sys, "argv", ["experiments.run", "shallow_hog", "--out", str(tmp_path / "results"),
                                      "--checkpoints", str(tmp_path / "checkpoints")] + common)
    with pytest.raises(SystemExit) as done:
        runpy.run_module("experiments.run", run_name="__main__")
    assert done.value.code == 0
    trained, experiment = metrics_of(tmp_path / "train"), metrics_of(tmp_path / "results" / "shallow_hog-quick")
    assert trained.keys() == experiment.keys() and trained["schema"] == experiment["schema"] == 2
    assert trained["config"] == experiment["config"] and trained["changes"] == []
    assert trained["config"]["train"]["flips"] == "random" and trained["trainer"]["flip"]
    assert trained["identity"] == experiment["identity"]
    for split in ("val", "test"):
        assert trained[split] == experiment[split]


def test_the_runner_takes_a_run_config_json_such_as_a_sweeps_best_config(tmp_path):
    from minicnn.pipeline.config import load_config
    config = load_config("shallow")
    config["name"] = "tuned"
    config["train"]["lr"] = 2e-3
    config["model"] = {"conv": [{"filters": 4, "pool": 4}], "fc": [{"units": 8}]}
    path = tmp_path / "best_config.json"
    path.write_text(json.dumps(config))
    assert main(["experiment", str(path), "--data", "synthetic", "--quick", "--subset", "24", "--quiet",
                 "--out", str(tmp_path / "results"), "--checkpoints", str(tmp_path / "ckpt")]) == 0
    metrics = metrics_of(tmp_path / "results" / "tuned-quick")
    assert metrics["config"]["train"]["lr"] == 2e-3 and metrics["model"] == "tuned"
    assert main(["train", "--model", str(path), "--quick", "--subset", "24", "--quiet",
                 "--out", str(tmp_path / "trained")]) == 0
    assert metrics_of(tmp_path / "trained")["config"] == metrics["config"]


def test_resume_without_a_checkpoint_is_an_error_before_any_work(tmp_path, capsys):
    code = main(["experiment", "shallow", "--data", "synthetic", "--quick", "--resume",
                 "--out", str(tmp_path / "r"), "--checkpoints", str(tmp_path / "c")])
    assert code == 1 and "no checkpoint" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_the_experiment_command_takes_the_shared_run_options():
    args = build_parser().parse_args(["experiment", "deep", "--data", "synthetic", "--epochs", "3",
                                      "--recalibrate", "0", "--time-budget", "60"])
    assert args.model == "deep" and args.epochs == 3 and args.recalibrate == 0 and args.time_budget == 60
    assert args.keep_epochs is False and callable(args.func)


def test_train_on_real_fer2013_with_a_small_subset(tmp_path, fer2013_path):
    out = tmp_path / "fer"
    source = fer2013_path / "fer2013.csv.xz"
    source = source if source.exists() else fer2013_path / "fer2013-images.zip"
    assert main(["train", "--data", str(source), "--subset", "140", "--epochs", "1",
                 "--width", "0.0625", "--batch-size", "32", "--quiet", "--out", str(out)]) == 0
    metrics = metrics_of(out)
    assert metrics["test"]["n"] == 3589 and metrics["data"]["name"] == source.name          # PrivateTest
    assert str(fer2013_path) not in (out / "metrics.json").read_text()
