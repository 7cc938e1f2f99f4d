"""The prepared GPU check runs end to end on the CPU (--dry-run), so the first GPU minute is not spent on a typo."""
import json
import tarfile

import numpy as np
import pytest

from benchmarks import gpu_check
from minicnn import backend, models
from minicnn.apps.inference import Classifier
from minicnn.training.checkpoint import save_checkpoint


def test_the_dry_run_goes_through_every_step_and_leaves_at_most_8_small_files(tmp_path):
    before = backend.get_backend()
    assert gpu_check.main(["--dry-run", "--out", str(tmp_path / "out"), "--work", str(tmp_path / "work")]) == 0
    assert backend.get_backend() is before
    files = sorted((tmp_path / "out").iterdir())
    assert [p.name for p in files] == ["gpu-check.json", "gpu-check.md", "outputs.tar.gz"]
    assert all(p.stat().st_size <= gpu_check.MAX_FILE_BYTES for p in files)
    report = json.loads((tmp_path / "out" / "gpu-check.json").read_text())
    steps = {s["step"]: s for s in report["steps"]}
    assert list(steps) == ["environment", "tests", "benchmark", "experiment"]
    assert all(s["status"] == "ok" for s in steps.values()), report["steps"]
    assert "passed" in steps["tests"]["summary"] and "failed" not in steps["tests"]["summary"]
    assert [r["name"] for r in steps["benchmark"]["result"]["steps"]] == ["shallow model step", "deep model step"]
    experiment = steps["experiment"]["result"]
    assert experiment["reduced"] and experiment["epochs_run"] == 1 < experiment["planned_epochs"]
    assert "stopped by the GPU check's time budget after 1 epoch (of 3)" in experiment["reductions"]
    with tarfile.open(tmp_path / "out" / "outputs.tar.gz") as tar:
        names = tar.getnames()
        metrics = json.load(tar.extractfile("results/deep-gpu-check/metrics.json"))
    assert {"logs/tests.log", "logs/benchmark.log", "logs/experiment.log"} <= set(names)
    assert metrics["reduced"] and metrics["reductions"] == experiment["reductions"]
    text = (tmp_path / "out" / "gpu-check.md").read_text()
    assert "REDUCED" in text and "| experiment | ok |" in text


def test_pytorch_part_runs_on_the_cpu_where_installed():
    pytest.importorskip("torch")
    from benchmarks import cases, torch_ref
    result = gpu_check.torch_step_check("cpu", quick=True, repeat=1)
    assert result["device"] == "cpu" and not result["tf32"] and result["step_ms"] > 0
    for config in cases.step_configs(quick=True).values():      # the benchmark's twins of both steps build
        assert sum(p.numel() for p in torch_ref.torch_model(config).parameters()) == \
            models.Model(config, xp=np).n_params


class _Trainer:
    def __init__(self, epoch, epochs):
        self.epoch, self.config, self.stop_reason = epoch, {"epochs": epochs}, None

    def request_stop(self, reason=None):
        self.stop_reason = reason


def test_the_budget_stops_training_between_epochs_only_when_the_next_would_not_fit(monkeypatch):
    clock = iter([110.0, 120.0, 135.0])              # the ends of epochs 1, 2, 3
    monkeypatch.setattr(gpu_check.time, "time", lambda: next(clock))
    stop = gpu_check.BudgetStop(deadline=148.0, margin=1.0)
    trainer = _Trainer(1, 10)
    stop(trainer, {"epoch_time": 8.0})               # 110 + 8 (its training time) <= 148: go on
    trainer.epoch = 2
    stop(trainer, {"epoch_time": 8.0})               # 120 + 10 (since the last epoch) <= 148: go on
    assert trainer.stop_reason is None
    trainer.epoch = 3
    stop(trainer, {"epoch_time": 8.0})               # 135 + 15 > 148: stop
    assert trainer.stop_reason == "the GPU check's time budget" and stop.stopped


def test_the_fp16_weights_load_as_a_classifier_that_predicts_like_the_run(tmp_path, rng):
    model = models.shallow(input_shape=[1, 48, 48], width=0.125, xp=np).eval()
    mean = np.full((48, 48), 0.4, np.float32)
    save_checkpoint(tmp_path / "best.npz", model, preprocess={"mean": mean}, preprocess_info={"hog": None})
    path = gpu_check.fp16_weights(tmp_path / "best.npz", tmp_path / "deep-fp16.npz")
    assert path.stat().st_size < (tmp_path / "best.npz").stat().st_size
    faces = rng.integers(0, 256, (5, 48, 48))
    full, half = Classifier.load(tmp_path / "best.npz"), Classifier.load(path)
    np.testing.assert_allclose(half.proba(faces), full.proba(faces), atol=2e-3)


def test_without_dry_run_the_data_is_required(capsys):
    with pytest.raises(SystemExit):
        gpu_check.main(["--out", "somewhere"])
    assert "--data is required" in capsys.readouterr().err
