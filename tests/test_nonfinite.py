"""No NaN or infinity passes silently: not into or out of a checkpoint, not through training, prediction or JSON."""
import json
import math
import re

import numpy as np
import pytest

from viz_models import save_random_checkpoint

from minicnn import models
from minicnn.apps.inference import Classifier
from minicnn.commands import main
from minicnn.errors import MiniCNNError, NonFiniteError
from minicnn.optim import make_optimizer
from minicnn.pipeline.outputs import _plain
from minicnn.training import Trainer, load_checkpoint, save_checkpoint
from minicnn.training import trainer as trainer_module

SMALL = dict(input_shape=[1, 8, 8], width=0.125)


def _data(n=32, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 1, 8, 8)).astype(np.float32), rng.integers(0, 7, n)


def _poison(path, key, value):
    """Rewrite one array of the checkpoint at ``path`` with ``value`` at its first element (as a crash or bug would)."""
    with np.load(path) as f:
        arrays = {k: f[k] for k in f.files}
    arrays[key] = arrays[key].copy()
    arrays[key].flat[0] = value
    with open(path, "wb") as f:
        np.savez(f, **arrays)
    return path


def strict_json(text):
    """json.loads that refuses NaN and Infinity, which are not JSON."""
    def refuse(name):
        raise ValueError(f"{name} in JSON output")
    return json.loads(text, parse_constant=refuse)


@pytest.fixture
def trained(tmp_path):
    trainer = Trainer(models.shallow(**SMALL), _data(), _data(16, 1), epochs=1, batch_size=16, quiet=True,
                      out_dir=str(tmp_path / "run"), preprocess={"mean": np.zeros((8, 8), np.float32)})
    trainer.train()
    return tmp_path / "run" / "last.npz"


# ------------------------------------------------------------------ checkpoints
@pytest.mark.parametrize("key, value", [
    ("model/conv1.W", np.nan), ("model/scores.b", np.inf), ("model/sbn1.running_var", -np.inf),
    ("optim/m/conv1.W", np.nan), ("preprocess/mean", np.nan),
], ids=["weight-nan", "bias-inf", "bn-statistic", "adam-slot", "mean-image"])
def test_loading_a_checkpoint_with_a_non_finite_number_is_refused_naming_the_array(trained, key, value):
    _poison(trained, key, value)
    for load in (load_checkpoint, Classifier.load, lambda p: Trainer.resume(p, _data(), _data(16, 1))):
        with pytest.raises(NonFiniteError, match=f"{key} holds 1 NaN or infinite value") as error:
            load(trained)
        assert str(trained) in str(error.value) and "\n" not in str(error.value)


def test_a_model_with_a_non_finite_weight_is_not_saved_and_the_old_file_stays(tmp_path):
    model = models.shallow(**SMALL)
    path = tmp_path / "m.npz"
    save_checkpoint(path, model)
    before = path.read_bytes()
    model.params["fc1.W"][0, 0] = np.nan
    with pytest.raises(NonFiniteError, match="refusing to write .*fc1.W holds 1 NaN"):
        save_checkpoint(path, model)
    opt = make_optimizer("adam", lr=1e-3)
    model.params["fc1.W"][0, 0] = 0.0
    with np.errstate(invalid="ignore"):                          # inf / inf in Adam's step: NaN slots
        opt.step(model.params, {"fc1.W": np.full_like(model.params["fc1.W"], np.inf)})
    with pytest.raises(NonFiniteError):
        save_checkpoint(path, model, optimizer=opt)
    assert path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]


# ------------------------------------------------------------------ training
def _blow_up_after(epoch, lr=1e30):
    def callback(trainer, record):
        if trainer.epoch == epoch:
            trainer.optimizer.lr = lr
    return callback


@pytest.mark.parametrize("lr", [1e30, np.inf, 1e9])
def test_a_diverging_run_stops_with_a_clear_error_and_keeps_its_last_good_checkpoint(tmp_path, lr):
    out = tmp_path / "run"
    t = Trainer(models.shallow(**SMALL), _data(), _data(16, 1), epochs=4, batch_size=8, quiet=True,
                out_dir=str(out), callbacks=[_blow_up_after(1, lr)], optimizer="sgd", log_every=1)
    with pytest.raises(NonFiniteError, match=r"training diverged: the loss of minibatch \d of epoch 2 is "
                                             r"(nan|inf).*the last good checkpoint, .*last.npz, is kept") as error:
        t.train()
    assert "\n" not in str(error.value)
    kept, extras = load_checkpoint(out / "last.npz")
    assert extras["trainer"]["position"]["epoch"] == 1
    assert all(np.isfinite(v).all() for v in kept.state_dict().values())
    assert sorted(p.name for p in out.iterdir()) == ["best.npz", "last.npz"]      # no lock, no temporaries


def test_divergence_in_the_first_epoch_says_no_checkpoint_was_written(tmp_path):
    t = Trainer(models.shallow(**SMALL), _data(), epochs=2, batch_size=8, quiet=True, lr=1e30,
                optimizer="sgd", out_dir=str(tmp_path / "run"))
    with pytest.raises(NonFiniteError, match="no checkpoint was written"):
        t.train()
    assert not (tmp_path / "run" / "last.npz").exists()


@pytest.mark.parametrize("which", ["training", "validation"])
def test_a_non_finite_evaluation_loss_stops_the_run_too(tmp_path, monkeypatch, which):
    real = trainer_module.evaluate
    calls = {"n": 0}

    def evaluate(model, X, y, batch_size=256):
        calls["n"] += 1
        loss, acc = real(model, X, y, batch_size)
        broken = (calls["n"] % 2 == 1) == (which == "training")     # train subset first, then validation
        return (math.nan, acc) if broken else (loss, acc)
    monkeypatch.setattr(trainer_module, "evaluate", evaluate)
    t = Trainer(models.shallow(**SMALL), _data(), _data(16, 1), epochs=1, batch_size=16, quiet=True,
                out_dir=str(tmp_path / "run"))
    with pytest.raises(NonFiniteError, match=f"the {which} loss after epoch 1 is nan"):
        t.train()
    assert not (tmp_path / "run" / "last.npz").exists()


def test_minicnn_train_exits_non_zero_on_a_diverging_run_and_writes_no_metrics(tmp_path, capsys):
    code = main(["train", "--model", "c4k3-p4 | f8", "--epochs", "2", "--lr", "1e30", "--optimizer", "sgd",
                 "--n-train", "64", "--n-val", "16", "--n-test", "16", "--batch-size", "16",
                 "--out", str(tmp_path / "run"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 1 and "training diverged" in err and "Traceback" not in err
    assert not (tmp_path / "run" / "metrics.json").exists()


# ------------------------------------------------------------------ prediction, ensembles, JSON
@pytest.fixture
def overflowing(tmp_path):
    """A checkpoint with finite weights whose scores overflow float32 on any face."""
    path = save_random_checkpoint(tmp_path / "overflow.npz")
    with np.load(path) as f:
        arrays = {k: f[k] for k in f.files}
    arrays["model/scores.W"] = np.full_like(arrays["model/scores.W"], 3e38)
    with open(path, "wb") as f:
        np.savez(f, **arrays)
    return path


def test_a_classifier_whose_outputs_overflow_raises_instead_of_returning_nan(overflowing):
    clf = Classifier.load(overflowing)
    faces = np.random.default_rng(0).integers(0, 256, (3, 48, 48))
    with pytest.raises(NonFiniteError, match="overflow gives NaN or infinite class probabilities for 3 of 3"):
        clf.proba(faces)


@pytest.mark.parametrize("fmt", [[], ["--json"]])
def test_predict_never_prints_nan(tmp_path, capsys, overflowing, fmt):
    from PIL import Image
    photo = tmp_path / "face.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (48, 48), dtype=np.uint8)).save(photo)
    code = main(["predict", str(overflowing), str(photo), "--no-detect", *fmt])
    out, err = capsys.readouterr()
    assert code == 1 and not re.search(r"\b(nan|inf)\b", out)        # how Python prints a non-finite float
    if fmt:
        assert "NaN or infinite class probabilities" in strict_json(out)[0]["error"]
    else:
        assert out == "" and "NaN or infinite class probabilities" in err


def test_predict_with_a_nan_checkpoint_is_one_line_and_non_zero(tmp_path, capsys, trained):
    _poison(trained, "model/scores.W", np.nan)
    code = main(["predict", str(trained), str(tmp_path / "any.png"), "--json"])
    out, err = capsys.readouterr()
    assert code == 1 and out == "" and len(err.strip().splitlines()) == 1 and "NaN or infinite" in err


def test_ensemble_refuses_a_member_with_non_finite_weights(tmp_path, capsys):
    good = save_random_checkpoint(tmp_path / "good.npz")
    bad = _poison(save_random_checkpoint(tmp_path / "bad.npz", seed=1), "model/conv1.W", np.inf)
    code = main(["ensemble", str(good), str(bad), "--data", "synthetic", "--out", str(tmp_path / "ens")])
    err = capsys.readouterr().err
    assert code == 1 and "bad.npz" in err and "NaN or infinite" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "ens" / "ensemble.json").exists()


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, np.float32("nan"), np.float64("inf")])
def test_metrics_json_writes_null_for_a_non_finite_number(value):
    text = json.dumps(_plain({"val": {"loss": value, "accuracy": 0.5}, "curve": [1.0, value]}))
    assert strict_json(text) == {"val": {"loss": None, "accuracy": 0.5}, "curve": [1.0, None]}


def test_checkpoint_json_entries_refuse_nan_rather_than_write_it(tmp_path):
    with pytest.raises(ValueError, match="not JSON compliant"):
        save_checkpoint(tmp_path / "h.npz", models.shallow(**SMALL), history={"val_loss": [math.nan]})
    assert not list(tmp_path.iterdir())
    assert issubclass(NonFiniteError, MiniCNNError)
