"""Specifications of the paper experiments: configs, runner outputs, the report.

Runs here are --quick smoke runs on tiny subsets written to tmp_path (never
into the repository's results/); report tests use fabricated metrics.json
files that say so in their data source.
"""
import json
import math

import numpy as np
import pytest

from minicnn.pipeline import paper
from minicnn.pipeline.config import MODEL_NAMES, default_run_id, load_config, plan_run
from minicnn.pipeline.outputs import METRICS_KEYS, SPLIT_KEYS, split_metrics, write_metrics
from experiments.report import build_report, collect_runs, difference_verdict, write_report
from experiments.report import main as report_main
from experiments.run import EpochFlips, main as run_main, run_experiment
from minicnn import models
from minicnn.commands import build_parser
from minicnn.errors import ConfigError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


# ------------------------------------------------------------------ configs

@pytest.mark.parametrize("name", MODEL_NAMES)
def test_config_has_the_papers_hyperparameters(name):
    train = load_config(name)["train"]
    stated = paper.HYPERPARAMS[name]
    assert {k: train[k] for k in stated} == stated
    assert train["batch_size"] == 128


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_config_architecture_is_the_papers(name):
    config = load_config(name)
    reference = (models.deep_config() if name.startswith("deep") else models.shallow_config())
    assert models.normalize_config(config["model"])["conv"] == reference["conv"]
    assert models.normalize_config(config["model"])["fc"] == reference["fc"]
    assert (config["hog"] is not None) == name.endswith("_hog")


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_every_choice_the_paper_leaves_open_has_a_reason(name):
    config = load_config(name)
    needed = {"optimizer", "dropout", "pad", "init", "schedule", "flips"} | ({"hog"} if config["hog"] else set())
    assert needed <= set(config["why"])
    assert all(isinstance(v, str) and len(v) > 20 for v in config["why"].values())


def test_deep_model_uses_momentum_sgd_not_adam_at_its_high_rate():
    assert load_config("deep")["train"]["optimizer"]["name"] in ("momentum", "nesterov", "sgd")


def test_unknown_experiment_name_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown experiment"):
        load_config("resnet")


def test_a_config_missing_a_part_names_it(tmp_path):
    broken = load_config("shallow")
    del broken["train"]["lr"]
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(broken))
    with pytest.raises(ConfigError, match=r"broken.json: train missing key\(s\) lr"):
        load_config(str(path))


def test_full_protocol_is_not_reduced_and_named_full():
    run = plan_run(load_config("shallow"))
    assert not run["reduced"] and run["reductions"] == [] and default_run_id(run) == "full"


def test_every_reduction_is_recorded():
    run = plan_run(load_config("shallow_hog"), epochs=3, subset=5000, flips="random")
    assert run["reduced"]
    text = " | ".join(run["reductions"])
    assert "epochs 30 -> 3" in text and "flips double -> random" in text and "5000" in text
    assert run["train"]["epochs"] == 3 and run["train"]["flips"] == "random"
    assert run["data_limits"]["train"] == 5000
    assert default_run_id(run) == "reduced-e3-random-n5000"


def test_quick_runs_are_labelled_quick_and_reduced():
    run = plan_run(load_config("deep"), quick=True)
    assert run["quick"] and run["reduced"] and default_run_id(run) == "quick"
    assert run["train"]["epochs"] <= 2 and sum(run["data_limits"].values()) < 1000


@pytest.mark.parametrize("options", [{"epochs": 0}, {"subset": -5}, {"flips": "sideways"}])
def test_bad_run_options_are_config_errors(options):
    with pytest.raises(ConfigError):
        plan_run(load_config("shallow"), **options)


# ------------------------------------------------------------------ runner

def assert_run_outputs(folder, model):
    """Every output file of a run exists and is well formed."""
    metrics = json.loads((folder / "metrics.json").read_text())
    assert set(METRICS_KEYS) <= set(metrics)
    assert metrics["model"] == model
    for split in ("val", "test"):
        assert set(SPLIT_KEYS) <= set(metrics[split])
        cm = np.asarray(metrics[split]["confusion_matrix"])
        assert cm.shape == (7, 7) and cm.sum() == metrics[split]["n"]
        assert metrics[split]["accuracy"] == pytest.approx(np.trace(cm) / cm.sum())
        assert list(metrics[split]["per_class_accuracy"]) == list(paper.CLASS_NAMES)
        assert math.isfinite(metrics[split]["loss"])
    assert metrics["config"]["name"] == model and "train" in metrics["config"]
    assert metrics["git"]["commit"] and metrics["hardware"]["cpu_count"]
    assert metrics["timing"]["images_per_s"] > 0 and metrics["timing"]["wall_time_s"] > 0
    assert len(metrics["history"]["val_acc"]) == metrics["epochs_run"]
    for png in ("curves.png", "confusion.png"):
        data = (folder / png).read_bytes()
        assert data.startswith(PNG_SIGNATURE) and len(data) > 5000
    table = (folder / "per_class.md").read_text()
    assert all(f"| {name} |" in table for name in paper.CLASS_NAMES)
    return metrics


def test_quick_shallow_run_writes_every_output_and_resumes(tmp_path):
    out, ckpt = tmp_path / "results", tmp_path / "checkpoints"
    folder = run_experiment("shallow", data="synthetic", quick=True, subset=24, run_id="t",
                            out=out, checkpoints=ckpt, quiet=True)
    assert folder == out / "shallow-t"
    metrics = assert_run_outputs(folder, "shallow")
    assert metrics["reduced"] and metrics["data"]["kind"] == "synthetic"
    assert metrics["data"]["n_train_per_epoch"] == 48          # "double": the images and their mirrors
    assert (ckpt / "shallow-t" / "last.npz").exists() and (ckpt / "shallow-t" / "best.npz").exists()
    with pytest.raises(ConfigError, match="--resume"):
        run_experiment("shallow", data="synthetic", quick=True, subset=24, run_id="t",
                       out=out, checkpoints=ckpt, quiet=True)
    run_experiment("shallow", data="synthetic", quick=True, subset=24, epochs=2, run_id="t", resume=True,
                   out=out, checkpoints=ckpt, quiet=True)
    with pytest.raises(ConfigError, match="other options"):
        run_experiment("shallow", data="synthetic", quick=True, subset=24, epochs=2, flips="random", run_id="t",
                       resume=True, out=out, checkpoints=ckpt, quiet=True)
    resumed = assert_run_outputs(folder, "shallow")
    assert resumed["epochs_run"] == 2 and resumed["history"]["epoch"] == [1, 2]
    assert resumed["timing"]["resumed"]


def test_quick_hybrid_run_with_random_flips(tmp_path):
    folder = run_experiment("shallow_hog", data="synthetic", quick=True, subset=24, flips="random",
                            out=tmp_path / "results", checkpoints=tmp_path / "checkpoints", quiet=True)
    metrics = assert_run_outputs(folder, "shallow_hog")
    assert metrics["config"]["hog"]["orientations"] == 9
    assert any("flips double -> random" in r for r in metrics["reductions"])
    assert write_report(tmp_path / "results").read_text().count("shallow_hog-quick") >= 1


def test_resume_without_a_checkpoint_is_an_error_before_any_work(tmp_path, capsys):
    code = run_main(["shallow", "--data", "synthetic", "--quick", "--resume",
                     "--out", str(tmp_path / "r"), "--checkpoints", str(tmp_path / "c")])
    assert code == 1 and "no checkpoint" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_hybrid_epoch_flips_pair_each_mirror_image_with_its_own_hog():
    rng = np.random.default_rng(0)
    images = rng.standard_normal((50, 1, 4, 4)).astype(np.float32)
    hog = rng.standard_normal((50, 3)).astype(np.float32)
    flips = EpochFlips((images, hog), (images[..., ::-1], hog + 100), seed=1, xp=np)
    X, F = flips.inputs(epoch=0)
    mirrored = F[:, 0] > 50
    assert 0 < mirrored.sum() < 50
    np.testing.assert_array_equal(X[mirrored], images[mirrored][..., ::-1])
    np.testing.assert_array_equal(X[~mirrored], images[~mirrored])
    assert not np.array_equal(flips.inputs(epoch=1)[1], F)       # fresh draws every epoch
    np.testing.assert_array_equal(flips.inputs(epoch=0)[1], F)   # reproducible (resume)


def test_runner_is_a_minicnn_subcommand():
    args = build_parser().parse_args(["experiment", "deep", "--data", "synthetic", "--epochs", "3"])
    assert args.model == "deep" and args.epochs == 3 and callable(args.func)


def test_quick_run_on_real_fer2013(tmp_path, fer2013_path):
    folder = run_experiment("shallow", data=str(fer2013_path), quick=True, subset=32, flips="random",
                            out=tmp_path / "results", checkpoints=tmp_path / "checkpoints", quiet=True)
    metrics = assert_run_outputs(folder, "shallow")
    assert metrics["data"]["kind"] == "fer2013" and "FER-2013" in metrics["data"]["source"]
    report = write_report(tmp_path / "results").read_text()
    assert "smoke" in report and "not yet measured" in report   # a quick run answers nothing


# ------------------------------------------------------------------ report (fabricated fixtures)

def fabricated_run(model, val, test, reduced=False, epochs=None, flips="double", n=3589, kind="fer2013"):
    """A metrics dict of a run that never happened: a TEST FIXTURE for the report builder."""
    epochs = epochs or paper.HYPERPARAMS[model]["epochs"]
    rng = np.random.default_rng(abs(hash((model, val, test))) % 2 ** 32)

    def split(acc):
        counts = np.full(7, n // 7)
        counts[0] += n - counts.sum()
        cm = np.zeros((7, 7), dtype=np.int64)
        for c, count in enumerate(counts):
            right = int(round(acc * count))
            cm[c, c] = right
            cm[c, (c + 1 + rng.integers(6)) % 7] += count - right
        return split_metrics(cm, loss=1.1)

    config = plan_run(load_config(model), epochs=epochs if reduced else None, flips=flips)
    return {
        "schema": 1, "model": model, "run_id": "fixture", "reduced": config["reduced"],
        "reductions": config["reductions"],
        "data": {"source": "FABRICATED test fixture", "kind": kind, "n_train": 28709, "n_val": n, "n_test": n,
                 "n_train_per_epoch": 57418},
        "val": split(val), "test": split(test), "best_epoch": epochs, "epochs_run": epochs,
        "iterations": 100 * epochs,
        "history": {"iterations": [100 * (e + 1) for e in range(epochs)], "train_acc": [0.5] * epochs,
                    "val_acc": [val] * epochs, "train_loss": [1.0] * epochs, "val_loss": [1.1] * epochs,
                    "iter_loss": [1.2] * (100 * epochs), "epoch": list(range(1, epochs + 1))},
        "timing": {"wall_time_s": 600.0, "train_time_s": 500.0, "train_images": 57418 * epochs,
                   "images_per_s": 57418 * epochs / 500.0, "resumed": False},
        "hardware": {"processor": "fixture CPU", "cpu_count": 2, "omp_num_threads": "1", "gpu": None},
        "backend": "numpy", "seed": 0, "git": {"commit": "0123456789abcdef", "dirty": False}, "config": config,
        "started_at": "2026-01-01T00:00:00+00:00", "finished_at": "2026-01-01T00:10:00+00:00",
    }


def write_fixture_runs(results, runs):
    for i, run in enumerate(runs):
        folder = results / f"{run['model']}-fixture{i}"
        folder.mkdir(parents=True)
        write_metrics(folder / "metrics.json", run)
    return results


@pytest.mark.parametrize("layout, message", [
    (lambda root: None, "resultz is not a folder"),
    (lambda root: root.mkdir(), "resultz holds no readable <run>/metrics.json"),
    (lambda root: (root / "a").mkdir(parents=True) or (root / "a" / "metrics.json").write_text("{}"),
     "holds no readable"),
    (lambda root: root.mkdir() or (root / "notes.txt").write_text("x"), "holds no readable"),
], ids=["missing", "empty", "unreadable-run", "no-runs"])
def test_report_of_a_mistyped_or_empty_results_folder_is_refused_and_writes_nothing(tmp_path, capsys, layout,
                                                                                      message):
    root = tmp_path / "resultz"
    layout(root)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    assert report_main(["--results", str(root)]) == 1
    err = capsys.readouterr().err
    last = err.strip().splitlines()[-1]        # after any "skipping <unreadable file>" notes
    assert message in last and last.startswith("experiments.report: error:") and "Traceback" not in err
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


def test_report_sets_our_numbers_beside_the_papers(tmp_path):
    run = fabricated_run("shallow", 0.512, 0.505)
    results = write_fixture_runs(tmp_path / "results", [run])
    report = write_report(results).read_text()
    row = next(line for line in report.splitlines() if line.startswith("| shallow CNN |"))
    ours = [f"{100 * run[s]['accuracy']:.1f}%" for s in ("val", "test")]
    for cell in ours + ["55.0%", "54.0%", "53.0%", "52.9%", "fixture CPU", "0123456789"]:
        assert cell in row
    gap = 100 * (0.55 - run["val"]["accuracy"])
    assert f"falls short of the paper's validation 55.0% by **{gap:.1f} points**" in report
    assert "| Angry |" in report and "shallow-fixture0/curves.png" in report
    overview = report.split("## Per-class test accuracy")[1].split("##")[0]
    angry = next(line for line in overview.splitlines() if line.startswith("| Angry |"))
    assert f"{100 * run['test']['per_class_accuracy']['Angry']:.1f}%" in angry and "41.0%" in angry
    assert "not yet measured" in angry                                   # no deep run


def test_report_says_not_yet_measured_without_the_needed_runs(tmp_path):
    report = build_report(collect_runs(write_fixture_runs(tmp_path, [fabricated_run("shallow", 0.5, 0.5)])))
    depth = report.split("**Does depth help?**")[1].split("**Does HOG help?**")[0]
    hog = report.split("**Does HOG help?**")[1].split("## Where")[0]
    assert "not yet measured" in depth and "no FER-2013 run of deep" in depth
    assert hog.count("not yet measured") == 2


def test_report_answers_the_papers_questions_from_our_numbers(tmp_path):
    runs = [fabricated_run("shallow", 0.55, 0.54), fabricated_run("deep", 0.64, 0.63),
            fabricated_run("shallow_hog", 0.552, 0.545), fabricated_run("deep_hog", 0.60, 0.58)]
    report = build_report(collect_runs(write_fixture_runs(tmp_path, runs)))
    depth = report.split("**Does depth help?**")[1].split("**Does HOG help?**")[0]
    hog = report.split("**Does HOG help?**")[1].split("## Where")[0]
    assert "**yes**" in depth and "+9." in depth
    assert "shallow CNN → shallow CNN + HOG: **no clear difference**" in hog
    assert "deep CNN → deep CNN + HOG: **no, it is worse**" in hog
    assert "not yet measured" not in depth + hog


def test_reduced_runs_are_labelled_and_their_shortfall_explained(tmp_path):
    runs = [fabricated_run("shallow", 0.45, 0.44, reduced=True, epochs=2, flips="random"),
            fabricated_run("shallow_hog", 0.46, 0.45, reduced=True, epochs=2, flips="random")]
    report = build_report(collect_runs(write_fixture_runs(tmp_path, runs)))
    assert "**REDUCED**: epochs 30 -> 2" in report
    assert "Likely reason: the reduced protocol" in report
    assert "From reduced runs" in report


def test_report_keeps_synthetic_runs_out_of_the_comparison(tmp_path):
    runs = [fabricated_run("shallow", 0.9, 0.9, kind="synthetic"), fabricated_run("deep", 0.95, 0.95)]
    report = build_report(collect_runs(write_fixture_runs(tmp_path, runs)))
    assert "no FER-2013 run of shallow" in report
    assert "Other runs (synthetic data" in report


def test_a_difference_within_twice_its_standard_error_is_no_clear_difference():
    assert difference_verdict(0.55, 0.56, 3589)[0] == "no clear difference"
    assert difference_verdict(0.55, 0.60, 3589)[0] == "yes"
    assert difference_verdict(0.60, 0.55, 3589)[0] == "no, it is worse"
    word, delta, margin = difference_verdict(0.5, 0.5, 100)
    assert delta == 0 and margin == pytest.approx(2 * math.sqrt(2 * 0.25 / 100))



def test_the_runner_command_line_takes_a_config_json_such_as_a_sweeps_best_config(tmp_path):
    config = load_config("shallow")
    config["name"] = "tuned"
    config["train"]["lr"] = 2e-3
    path = tmp_path / "best_config.json"
    path.write_text(json.dumps(config))
    code = run_main([str(path), "--data", "synthetic", "--quick", "--quiet",
                     "--out", str(tmp_path / "results"), "--checkpoints", str(tmp_path / "ckpt")])
    assert code == 0
    (folder,) = (tmp_path / "results").iterdir()
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["config"]["train"]["lr"] == 2e-3
