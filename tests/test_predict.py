"""minicnn predict: faces in any photo -> 48x48 grey -> the model's preprocessing -> emotions."""
import json

import numpy as np
import pytest
from PIL import Image
from skimage import data as skdata

from minicnn.backend import to_numpy
from minicnn.commands import main
from minicnn.errors import DataError
from minicnn.apps.faces import Box, crop_face, detect_faces, merge_overlapping, read_image, to_gray
from minicnn.apps.shipped import WEIGHTS as SHIPPED_WEIGHTS
from viz_models import save_random_checkpoint


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("predict")
    astronaut = skdata.astronaut()
    Image.fromarray(astronaut).save(root / "astronaut.png")
    Image.fromarray(astronaut).convert("L").save(root / "astronaut_grey.png")
    Image.fromarray(np.full((240, 320, 3), 200, np.uint8)).save(root / "blank.png")
    (root / "notes.txt").write_text("not an image\n")
    (root / "notes.npz").write_text("not a checkpoint\n")
    np.savez(root / "weights.npz", W=np.zeros(3))
    return {"root": root, "model": save_random_checkpoint(root / "model.npz")}


def run(capsys, *argv):
    code = main(["predict", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_cascade_finds_the_astronauts_face():
    boxes = detect_faces(to_gray(skdata.astronaut()))
    assert len(boxes) == 1
    b = boxes[0]
    assert 60 <= b.height <= 140 and 80 <= b.top + b.height / 2 <= 140 and 190 <= b.left + b.width / 2 <= 250


@pytest.mark.parametrize("photo", ["astronaut.png", "astronaut_grey.png"])
def test_predict_prints_each_faces_probabilities_summing_to_one(xp, capsys, files, photo):
    code, out, _ = run(capsys, files["model"], files["root"] / photo, "--json", "--top", "2")
    result = json.loads(out)
    assert code == 0 and len(result) == 1 and len(result[0]["faces"]) == 1
    face = result[0]["faces"][0]
    assert sum(face["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)
    top = [t["probability"] for t in face["top"]]
    assert len(top) == 2 and top[0] >= top[1] and top[0] == max(face["probabilities"].values())


def test_the_table_lists_the_top_k_emotions_of_each_face(capsys, files):
    code, out, _ = run(capsys, files["model"], files["root"] / "astronaut.png", "--top", "3")
    lines = out.strip().splitlines()
    assert code == 0 and lines[0].split()[:2] == ["photo", "face"] and len(lines) == 1 + 3
    assert lines[1].startswith("astronaut.png")


def test_no_detect_treats_the_whole_image_as_one_face(capsys, files):
    code, out, _ = run(capsys, files["model"], files["root"] / "blank.png", "--no-detect", "--json")
    box = json.loads(out)[0]["faces"][0]["box"]
    assert code == 0 and box == {"top": 0, "left": 0, "height": 240, "width": 320}


def test_annotate_draws_the_boxes_on_a_copy_of_the_photo(capsys, files, tmp_path):
    out_png = tmp_path / "out.png"
    code, _, _ = run(capsys, files["model"], files["root"] / "astronaut.png", "--annotate", out_png)
    drawn = np.asarray(Image.open(out_png).convert("RGB"))
    assert code == 0 and drawn.shape == (512, 512, 3)
    assert (drawn != skdata.astronaut()).any(axis=2).sum() > 200


@pytest.mark.parametrize("photo, message", [
    ("blank.png", "no face found in"),
    ("notes.txt", "cannot decode"),
    ("missing.jpg", "does not exist"),
])
def test_a_photo_without_a_face_or_not_an_image_gets_one_clear_line(capsys, files, photo, message):
    code, out, err = run(capsys, files["model"], files["root"] / photo)
    assert code == 1 and out == "" and len(err.strip().splitlines()) == 1 and message in err


def test_other_photos_are_still_predicted_when_one_fails(capsys, files):
    code, out, err = run(capsys, files["model"], files["root"] / "blank.png", files["root"] / "astronaut.png")
    assert code == 1 and "astronaut.png" in out and "no face found in" in err


@pytest.mark.parametrize("model", ["notes.npz", "weights.npz", "nothing.npz"])
def test_a_model_file_that_is_not_a_checkpoint_gets_one_clear_line(capsys, files, model):
    code, out, err = run(capsys, files["root"] / model, files["root"] / "astronaut.png")
    assert code == 1 and out == "" and len(err.strip().splitlines()) == 1
    assert "checkpoint" in err and "Traceback" not in err


def test_crops_grow_by_the_margin_and_repeat_edge_pixels_outside_the_photo():
    gray = np.zeros((100, 100))
    gray[:, 50:] = 1.0
    face = crop_face(gray, Box(-20, 40, 40, 40), margin=0.0, size=40)  # half above the photo
    assert face.shape == (40, 40) and face.dtype == np.float32
    np.testing.assert_allclose(face[:, :10], 0)
    np.testing.assert_allclose(face[:, 10:], 255)
    whole = crop_face(gray, Box(0, 0, 100, 100), size=48)
    assert whole.shape == (48, 48) and whole[:, 0].max() == 0 and whole[:, -1].min() == 255


def test_nested_detections_of_one_face_are_merged_into_the_largest():
    boxes = [Box(10, 10, 50, 50), Box(15, 15, 40, 40), Box(200, 200, 30, 30)]
    assert merge_overlapping(boxes) == [Box(10, 10, 50, 50), Box(200, 200, 30, 30)]


def test_read_image_gives_rgb_for_grey_and_palette_files(tmp_path):
    Image.fromarray(np.arange(256, dtype=np.uint8).reshape(16, 16)).convert("P").save(tmp_path / "p.gif")
    assert read_image(tmp_path / "p.gif").shape == (16, 16, 3)
    with pytest.raises(DataError, match="does not exist"):
        read_image(tmp_path / "none.png")


def test_a_hybrid_checkpoint_applies_its_mean_image_and_hog_parameters(xp, tmp_path, rng):
    from minicnn.training.checkpoint import save_checkpoint
    from minicnn.features.hog import hog_dim, hog_features
    from minicnn.apps.inference import Classifier
    from minicnn.models import hybrid, parse_spec

    params = {"orientations": 6, "pixels_per_cell": [12, 12], "cells_per_block": [2, 2]}
    model = hybrid(parse_spec("c2k3-p4 | f8", input_shape=[1, 48, 48]), hog_dim(**params))
    mean = rng.uniform(0.3, 0.7, (48, 48)).astype(np.float32)
    save_checkpoint(tmp_path / "h.npz", model, preprocess={"mean": mean}, preprocess_info={"hog": params})
    faces = rng.integers(0, 256, (3, 48, 48)).astype(np.uint8)
    expected = model.eval().predict_proba((faces[:, None] / np.float32(255) - mean, hog_features(faces, **params, use_cache=False)))
    np.testing.assert_allclose(Classifier.load(tmp_path / "h.npz").proba(faces), to_numpy(expected), rtol=1e-5)


# ------------------------------------------------------------------ the shipped model
@pytest.fixture
def shipped(monkeypatch, files, tmp_path):
    """A copy of minicnn that ships ``files["model"]`` exported as its eval-only float16 model."""
    from minicnn.apps import shipped
    from minicnn.training.export import export_eval_only

    weights = tmp_path / "weights" / "fer2013.npz"
    weights.parent.mkdir()
    export_eval_only(files["model"], weights)
    monkeypatch.setattr(shipped, "WEIGHTS", weights)
    return weights


def test_without_a_model_the_shipped_one_predicts(capsys, files, shipped):
    code, out, _ = run(capsys, files["root"] / "astronaut.png", files["root"] / "astronaut_grey.png", "--json")
    named_code, named_out, _ = run(capsys, shipped, files["root"] / "astronaut.png", files["root"] / "astronaut_grey.png",
                                   "--json")
    assert code == named_code == 0 and json.loads(out) == json.loads(named_out)
    assert [r["photo"] for r in json.loads(out)] == [str(files["root"] / p) for p in ("astronaut.png", "astronaut_grey.png")]


def test_the_shipped_model_sees_the_astronauts_smile(capsys, files):
    assert SHIPPED_WEIGHTS.is_file(), "the package ships the deep CNN (docs/model-card.md): python -m experiments.ship"
    code, out, _ = run(capsys, files["root"] / "astronaut.png", "--json")
    faces = json.loads(out)[0]["faces"]
    assert code == 0 and len(faces) == 1
    assert faces[0]["top"][0]["emotion"] == "Happy" and faces[0]["top"][0]["probability"] > 0.5


def test_a_first_argument_not_ending_in_npz_is_a_photo_for_the_shipped_model(capsys, files, shipped):
    code, out, err = run(capsys, files["root"] / "notes.txt", files["root"] / "astronaut.png")
    assert code == 1 and "astronaut.png" in out and "cannot decode" in err and "notes.txt" in err


def test_a_copy_without_a_shipped_model_says_how_to_name_one(capsys, files, monkeypatch, tmp_path):
    from minicnn.apps import shipped

    monkeypatch.setattr(shipped, "WEIGHTS", tmp_path / "none.npz")
    code, out, err = run(capsys, files["root"] / "astronaut.png")
    assert code == 1 and out == "" and len(err.strip().splitlines()) == 1
    assert "ships no trained model" in err and "minicnn predict MODEL.npz photo.jpg" in err


def test_a_model_named_without_a_photo_gets_one_clear_line(capsys, files):
    code, out, err = run(capsys, files["model"])
    assert code == 1 and out == "" and "no photo named after the model" in err
