"""experiments.ship: a full run's best model goes into the package, with a model card written from its numbers.

The runs here are fabricated metrics (tests/fabricated_runs.py) beside a tiny
model really trained on the small FER-2013-format faces of tests/fer_files.py.
"""
import json

import numpy as np
import pytest
from fabricated_runs import fabricated_run
from fer_files import small_dataset, write_csv

from experiments import ship
from minicnn.apps import shipped
from minicnn.apps.inference import Classifier
from minicnn.data.preprocess import MeanImage
from minicnn.errors import ConfigError
from minicnn.models import Model, parse_spec
from minicnn.pipeline.outputs import write_metrics
from minicnn.training import Trainer
from minicnn.training.checkpoint import read_checkpoint

IDENTITY = {"model": "sha256:tiny", "data": "sha256:small", "seed": 0}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny model trained 2 epochs on the small faces, its best checkpoint, and the CSV of those faces."""
    root = tmp_path_factory.mktemp("ship")
    data = small_dataset()
    mean = MeanImage().fit(data.train.images)
    model = Model(parse_spec("c2k3-p4 | f8", input_shape=[1, 48, 48], seed=0))
    trainer = Trainer(model, (mean.transform(data.train.images), data.train.labels), epochs=2, batch_size=8,
                      val_data=(mean.transform(data.val.images), data.val.labels), seed=0, quiet=True,
                      preprocess=mean.to_dict(), run=IDENTITY, out_dir=str(root / "ckpt"))
    trainer.train()
    trainer.save(root / "best.npz")
    return {"root": root, "checkpoint": root / "best.npz", "csv": write_csv(root / "fer2013.csv", data),
            "best_epoch": read_checkpoint(root / "best.npz")["trainer"]["best"]["epoch"]}


@pytest.fixture
def run(tmp_path, trained):
    """A results folder whose metrics.json names the trained checkpoint's identity and best epoch."""
    metrics = dict(fabricated_run("deep", 0.62, 0.61), identity=IDENTITY, best_epoch=trained["best_epoch"])
    folder = tmp_path / "results" / "deep-full"
    folder.mkdir(parents=True)
    write_metrics(folder / "metrics.json", metrics)
    return folder


@pytest.fixture
def weights(monkeypatch, tmp_path):
    """Where this test's package keeps its shipped model."""
    path = tmp_path / "package" / "weights" / "fer2013.npz"
    monkeypatch.setattr(shipped, "WEIGHTS", path)
    monkeypatch.setattr(ship, "WEIGHTS", path)
    return path


def edit(folder, **changes):
    metrics = json.loads((folder / "metrics.json").read_text())
    write_metrics(folder / "metrics.json", dict(metrics, **changes))


def test_shipping_writes_the_float16_copy_and_a_card_from_the_runs_numbers(tmp_path, trained, run, weights, capsys):
    card = tmp_path / "model-card.md"
    assert ship.main([str(run), str(trained["checkpoint"]), "--card", str(card), "--data", str(trained["csv"])]) == 0
    assert read_checkpoint(weights)["meta"]["eval_only"] and shipped.shipped_model() == weights
    text = card.read_text()
    metrics = json.loads((run / "metrics.json").read_text())
    for number in ("61.", "62.", "| Angry |", f"epoch {trained['best_epoch']} of", "FABRICATED test fixture",
                   "Known weaknesses", "python -m experiments.ship"):
        assert number in text
    assert f"n = {metrics['test']['n']:,}" in text and "do not edit by hand" in text
    assert "The shipped float16 copy itself" in text        # evaluated, since --data was given
    assert "shipped " in capsys.readouterr().out


def test_the_copy_evaluated_on_the_test_split_predicts_what_the_checkpoint_predicts(trained, run, weights):
    ship.ship(trained["checkpoint"])
    metrics = json.loads((run / "metrics.json").read_text())
    copy = ship.evaluate_copy(weights, str(trained["csv"]), metrics)
    test = small_dataset().test
    float32 = Classifier.load(trained["checkpoint"]).proba(test.images).argmax(axis=1)
    assert copy["n"] == len(test) and copy["accuracy"] == pytest.approx(np.mean(float32 == test.labels))


@pytest.mark.parametrize("change, message", [
    ({"reduced": True, "reductions": ["epochs 35 -> 2"]}, "REDUCED run"),
    ({"data": dict(fabricated_run("deep", 0.62, 0.61)["data"], kind="synthetic", source="synthetic faces")},
     "not FER-2013"),
    ({"identity": dict(IDENTITY, seed=1)}, "not a checkpoint of run"),
    ({"best_epoch": 99}, "the run's best epoch is 99"),
])
def test_a_run_unfit_to_ship_is_refused_in_one_line_and_nothing_is_written(trained, run, weights, capsys,
                                                                          change, message):
    edit(run, **change)
    assert ship.main([str(run), str(trained["checkpoint"])]) == 1
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and not weights.exists()


def test_a_copy_over_the_size_limit_is_refused_and_leaves_no_file(trained, weights, monkeypatch):
    monkeypatch.setattr(ship, "MAX_BYTES", 1000)
    with pytest.raises(ConfigError, match="over the 0 MB|ship a smaller model"):
        ship.ship(trained["checkpoint"])
    assert list(weights.parent.iterdir()) == []


def test_the_most_frequent_confusions_are_the_largest_off_diagonal_cells():
    cm = [[5, 3, 0], [1, 4, 0], [0, 7, 2]]
    top = ship.confusions(np.pad(cm, ((0, 4), (0, 4))), top=2)
    assert [(t, p, c) for t, p, c, _ in top] == [("Fear", "Disgust", 7), ("Angry", "Disgust", 3)]
    assert top[0][3] == pytest.approx(7 / 9)
