"""Eval-only float16 copies of checkpoints: a quarter of the training checkpoint, the same predictions."""
import numpy as np
import pytest

from minicnn.apps.inference import Classifier
from minicnn.commands import main
from minicnn.data.synthetic import load_synthetic
from minicnn.errors import ConfigError, NonFiniteError
from minicnn.training import Trainer
from minicnn.training.checkpoint import read_checkpoint, save_checkpoint
from minicnn.training.export import export_eval_only
from viz_models import tiny_model, train_checkpoint


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("export")
    return train_checkpoint(root / "best.npz", load_synthetic(160, 0, 0, seed=3), spec="c4k3-bn-p2 c8k3-bn-p2 | f16-bn")


def test_the_copy_keeps_what_prediction_needs_and_drops_the_training_state(trained, tmp_path):
    summary = export_eval_only(trained, tmp_path / "model.npz")
    raw = read_checkpoint(summary["path"])
    assert raw["meta"]["eval_only"] is True and raw["meta"]["dtype"] == "float16"
    assert raw["optimizer"] is None and "trainer" not in raw and "history" not in raw
    assert {v.dtype for v in raw["model_state"].values()} == {np.dtype(np.float16)}
    assert raw["preprocess"]["mean"].dtype == np.float16
    assert raw["source"] == {"file": "best.npz", "epoch": 2, "best": read_checkpoint(trained)["trainer"]["best"]}
    assert summary["bytes"] < summary["source_bytes"] / 3


def test_float16_weights_predict_what_the_float32_checkpoint_predicts(xp, trained, tmp_path):
    faces = load_synthetic(0, 0, 70, seed=9).test.images
    full = Classifier.load(trained).proba(faces)
    half = Classifier.load(export_eval_only(trained, tmp_path / "model.npz")["path"]).proba(faces)
    assert np.abs(full - half).max() < 5e-3
    assert (full.argmax(1) == half.argmax(1)).mean() >= 0.95


def test_float32_export_predicts_exactly_the_same(trained, tmp_path):
    faces = load_synthetic(0, 0, 35, seed=9).test.images
    copy = export_eval_only(trained, tmp_path / "model.npz", dtype="float32")["path"]
    np.testing.assert_array_equal(Classifier.load(trained).proba(faces), Classifier.load(copy).proba(faces))


def test_an_eval_only_copy_cannot_be_resumed(trained, tmp_path):
    data = load_synthetic(40, 0, 0, seed=1).train
    copy = export_eval_only(trained, tmp_path / "model.npz")["path"]
    with pytest.raises(ConfigError, match="no training state"):
        Trainer.resume(copy, (data.images[:, None] / 255.0, data.labels))


def test_a_copy_never_replaces_its_own_checkpoint(trained):
    with pytest.raises(ConfigError, match="is the checkpoint itself"):
        export_eval_only(trained, trained)
    assert read_checkpoint(trained)["optimizer"]


def test_a_weight_beyond_float16s_range_is_refused_not_written_as_infinity(tmp_path):
    model = tiny_model(16, spec="c2k3 | f4")
    model.params["conv1.W"][...] = 1e5
    save_checkpoint(tmp_path / "big.npz", model)
    with pytest.raises(NonFiniteError, match="conv1.W"):
        export_eval_only(tmp_path / "big.npz", tmp_path / "model.npz")
    assert not (tmp_path / "model.npz").exists()


def test_the_command_reports_sizes_and_refuses_an_unknown_dtype(trained, tmp_path, capsys):
    assert main(["export", str(trained), str(tmp_path / "model.npz")]) == 0
    out = capsys.readouterr().out
    assert "model.npz" in out and "float16" in out and "parameters" in out
    assert main(["export", str(trained), str(tmp_path / "other.npz"), "--dtype", "int8"]) == 2
    assert "--dtype" in capsys.readouterr().err
    assert main(["export", str(tmp_path / "missing.npz"), str(tmp_path / "x.npz")]) == 1
    assert "no such file" in capsys.readouterr().err
    assert main(["export", str(trained), str(trained)]) == 1
    assert "is the checkpoint itself" in capsys.readouterr().err and read_checkpoint(trained)["optimizer"]
