"""minicnn explain: every figure of a trained model, as PNGs with titles and colorbars."""
import pytest
from PIL import Image
from skimage import data as skdata

from fer_files import small_dataset, write_csv
from minicnn.commands import main
from minicnn.apps.explain import run_checkpoints
from viz_models import train_checkpoint


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("explain")
    dataset = small_dataset(n_train=28, n_val=14, n_test=28)
    train_checkpoint(root / "run" / "last.npz", dataset, epochs=3, keep_epochs=True)
    write_csv(root / "fer.csv", dataset)
    return root


def test_explain_writes_every_figure(run_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("MINICNN_CACHE_DIR", str(tmp_path / "cache"))
    code = main(["explain", str(run_dir / "run" / "last.npz"), "--data", str(run_dir / "fer.csv"),
                 "--out", str(tmp_path / "out"), "--per-class", "1", "--dream-steps", "2", "--face", "3"])
    assert code == 0
    names = sorted(p.name for p in (tmp_path / "out").glob("*.png"))
    classes = ["Angry", "Disgust", "Fear", "Happy", "Neutral", "Sad", "Surprise"]
    assert names == sorted(["filters.png", "activations_relu1.png", "dream_classes.png", "dream_relu1.png",
                            "epochs_relu1.png", "saliency_face.png", "gradcam_face.png"] + [f"{k}_{c}.png" for k in ("saliency", "gradcam") for c in classes])
    assert all(Image.open(tmp_path / "out" / n).format == "PNG" for n in names)
    assert capsys.readouterr().out.count("wrote ") == len(names)


def test_the_epochs_come_from_every_checkpoint_of_the_run_in_order(run_dir):
    runs = run_checkpoints(run_dir / "run")
    assert [epoch for epoch, _ in runs] == [1, 2, 3]  # last.npz repeats epoch 3 and is counted once
    assert [e for e, _ in run_checkpoints(run_dir / "run", max_rows=2)] == [1, 3]


@pytest.mark.parametrize("argv, message", [
    (["--what", "filters,colours"], "--what colours: choose from"),
    (["--layer", "fc1"], "no spatial maps"),
    (["--face", "999"], "--face 999"),
])
def test_bad_choices_get_one_clear_line(run_dir, tmp_path, capsys, monkeypatch, argv, message):
    monkeypatch.setenv("MINICNN_CACHE_DIR", str(tmp_path / "cache"))
    code = main(["explain", str(run_dir / "run" / "last.npz"), "--data", str(run_dir / "fer.csv"),
                 "--out", str(tmp_path), *argv])
    err = capsys.readouterr().err
    assert code == 1 and message in err and err.count("error:") == 1


def test_a_photos_first_face_can_stand_in_for_the_test_face(xp, run_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("MINICNN_CACHE_DIR", str(tmp_path / "cache"))
    Image.fromarray(skdata.astronaut()).save(tmp_path / "astronaut.png")
    code = main(["explain", str(run_dir / "run" / "last.npz"), "--data", str(run_dir / "fer.csv"),
                 "--out", str(tmp_path / "out"), "--what", "activations", "--photo", str(tmp_path / "astronaut.png")])
    assert code == 0 and [p.name for p in (tmp_path / "out").glob("*.png")] == ["activations_relu1.png"]
