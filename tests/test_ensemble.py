"""minicnn ensemble: soft voting (mean class probabilities) of trained models, each with its own preprocessing."""
import json

import numpy as np
import pytest
from PIL import Image

from fer_files import small_dataset, write_csv
from minicnn.commands import main
from minicnn.apps.ensemble import evaluate_ensemble, member_probabilities, soft_vote
from minicnn.errors import ConfigError
from minicnn.apps.inference import Classifier
from minicnn.training.metrics import accuracy
from viz_models import tiny_classifier, train_checkpoint


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("ensemble")
    dataset = small_dataset(n_train=28, n_val=14, n_test=14)
    models = [train_checkpoint(root / f"m{seed}.npz", dataset, seed=seed) for seed in (1, 2)]
    return {"root": root, "dataset": dataset, "models": models, "csv": write_csv(root / "fer.csv", dataset)}


def test_the_ensemble_probabilities_are_the_mean_of_the_members(xp, trained):
    members = [Classifier.load(p) for p in trained["models"]]
    faces = trained["dataset"].test.images
    probs = member_probabilities(members, faces)
    assert probs.shape == (2, 14, 7)
    np.testing.assert_allclose(soft_vote(probs), (members[0].proba(faces) + members[1].proba(faces)) / 2)
    np.testing.assert_allclose(soft_vote(probs).sum(axis=1), 1.0, rtol=1e-6)


def test_each_member_and_the_vote_are_scored_on_validation_and_test(xp, trained):
    members = [Classifier.load(p) for p in trained["models"]]
    data = trained["dataset"]
    report = evaluate_ensemble(members, data)
    for split in ("val", "test"):
        s = getattr(data, split)
        probs = [m.proba(s.images) for m in members]
        assert [m[f"{split}_acc"] for m in report["members"]] == [accuracy(p, s.labels) for p in probs]
        assert report["ensemble"][f"{split}_acc"] == accuracy(sum(probs), s.labels)
    cm = np.array(report["confusion_test"])
    assert cm.sum(axis=1).tolist() == data.test.class_counts().tolist()


def test_the_cli_prints_the_table_and_writes_the_confusion_matrix(trained, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("MINICNN_CACHE_DIR", str(tmp_path / "cache"))
    code = main(["ensemble", *map(str, trained["models"]), "--data", str(trained["csv"]), "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0
    table = out.splitlines()
    assert table[0].split() == ["model", "val", "acc", "test", "acc"]
    assert [line.split()[0] for line in table[1:4]] == ["m1", "m2", "ensemble"]
    report = json.loads((tmp_path / "ensemble.json").read_text())
    assert f"{report['ensemble']['test_acc']:.4f}" in table[3]
    assert Image.open(tmp_path / "ensemble_confusion.png").format == "PNG"


def test_members_with_different_class_counts_cannot_vote(rng):
    members = [tiny_classifier(16), tiny_classifier(16, n_classes=5)]
    with pytest.raises(ConfigError, match="different numbers of classes"):
        member_probabilities(members, rng.uniform(0, 255, (2, 16, 16)))
