"""The per-image layout (folder, zip or tar): splits from names, halves when names carry none, errors."""
import zipfile

import numpy as np
import pytest
from fer_files import assert_same_splits, small_dataset, tar_layout, write_csv, write_layout, zip_layout
from PIL import Image

from minicnn.data import load_fer2013
from minicnn.errors import DataError


@pytest.fixture(scope="module")
def data():
    return small_dataset(seed=1)


def load(path, tmp_path, **kw):
    return load_fer2013(path, cache_dir=tmp_path / "cache", progress=False, **kw)


def test_png_folder_gives_the_same_arrays_as_the_csv(data, tmp_path):
    from_folder = load(write_layout(tmp_path / "faces", data, "png"), tmp_path)
    from_csv = load(write_csv(tmp_path / "faces.csv", data), tmp_path)
    assert_same_splits(from_folder, data)
    assert_same_splits(from_folder, from_csv)
    assert "PublicTest_* -> val" in from_folder.source


def test_jpg_folder_keeps_labels_and_splits_and_pixels_within_jpeg_error(data, tmp_path):
    ds = load(write_layout(tmp_path / "faces", data, "jpg"), tmp_path)
    for name in ("train", "val", "test"):
        np.testing.assert_array_equal(getattr(ds, name).labels, getattr(data, name).labels)
        error = np.abs(getattr(ds, name).images.astype(int) - getattr(data, name).images)
        assert error.mean() < 4  # JPEG at quality 100 is lossy by a few grey levels


@pytest.mark.parametrize("prefix", ["", "fer2013/"])
def test_a_zip_of_the_layout_reads_like_the_folder(data, tmp_path, prefix):
    archive = zip_layout(write_layout(tmp_path / "faces", data), tmp_path / "faces.zip", prefix)
    assert_same_splits(load(archive, tmp_path), data)


@pytest.mark.parametrize("name, prefix", [("faces.tar", ""), ("faces.tar.gz", "fer2013/"), ("faces.tar.xz", "")])
def test_a_tar_of_the_layout_reads_like_the_folder_whatever_its_compression(data, tmp_path, name, prefix):
    archive = tar_layout(write_layout(tmp_path / "faces", data), tmp_path / name, prefix)
    assert_same_splits(load(archive, tmp_path), data)


def test_a_folder_holding_fer2013_images_tar_xz_is_read_through_it(data, tmp_path):
    tar_layout(write_layout(tmp_path / "faces", data), tmp_path / "shared" / "fer2013-images.tar.xz")
    assert_same_splits(load(tmp_path / "shared", tmp_path), data)


def test_files_are_ordered_by_the_number_in_their_name_not_by_text(tmp_path):
    data = small_dataset(seed=2, n_train=14)  # names Training_0 .. Training_13: "10" sorts before "2" as text
    assert_same_splits(load(write_layout(tmp_path / "faces", data), tmp_path), data)


def test_test_folder_without_split_names_is_halved_per_class_with_a_warning(data, tmp_path):
    root = write_layout(tmp_path / "faces", data, named=False)
    with pytest.warns(UserWarning, match="carry no split"):
        ds = load(root, tmp_path)
    assert "split per class into halves" in ds.source
    held_out = np.concatenate([data.val.labels, data.test.labels])
    np.testing.assert_array_equal(ds.val.class_counts() + ds.test.class_counts(), np.bincount(held_out, minlength=7))
    np.testing.assert_array_equal(ds.val.class_counts(), np.bincount(held_out, minlength=7) // 2)
    with pytest.warns(UserWarning):
        again = load_fer2013(root, cache_dir=tmp_path / "other-cache", progress=False)
    assert_same_splits(again, ds)  # deterministic


def test_a_val_folder_is_used_as_the_validation_split(data, tmp_path):
    root = write_layout(tmp_path / "faces", data)
    for p in sorted((root / "test").rglob("PublicTest_*")):
        target = root / "val" / p.parent.name / p.name
        target.parent.mkdir(parents=True, exist_ok=True)
        p.rename(target)
    ds = load(root, tmp_path)
    np.testing.assert_array_equal(ds.val.labels, data.val.labels)
    assert "val/ -> val" in ds.source


def test_an_unknown_class_folder_is_named(data, tmp_path):
    root = write_layout(tmp_path / "faces", data)
    (root / "train" / "contempt").mkdir()
    Image.fromarray(data.train.images[0]).save(root / "train" / "contempt" / "Training_999.png")
    with pytest.raises(DataError, match=r"unknown class folder train/contempt"):
        load(root, tmp_path)


def test_an_unreadable_image_is_named(data, tmp_path):
    root = write_layout(tmp_path / "faces", data)
    (root / "train" / "happy" / "Training_500.png").write_bytes(b"not a png")
    with pytest.raises(DataError, match=r"cannot decode the image train/happy/Training_500\.png"):
        load(root, tmp_path)


def test_an_image_of_the_wrong_size_is_named(data, tmp_path):
    root = write_layout(tmp_path / "faces", data)
    Image.new("L", (64, 64)).save(root / "train" / "sad" / "Training_501.png")
    with pytest.raises(DataError, match=r"Training_501\.png is 64x64, expected 48x48"):
        load(root, tmp_path)


def test_a_missing_test_folder_is_an_error(data, tmp_path):
    root = write_layout(tmp_path / "faces", data)
    for p in (root / "test").rglob("*.png"):
        p.unlink()
    with pytest.raises(DataError, match="no images in a test/ folder"):
        load(root, tmp_path)


def test_an_empty_split_is_an_error(data, tmp_path):
    root = write_layout(tmp_path / "faces", data)
    for p in (root / "test").rglob("PrivateTest_*"):
        p.unlink()
    with pytest.raises(DataError, match="the test split is empty"):
        load(root, tmp_path)


def test_a_broken_zip_is_a_clear_error(tmp_path):
    (tmp_path / "faces.zip").write_bytes(b"PK not really")
    with pytest.raises(DataError, match=r"faces\.zip: not a readable zip file"):
        load(tmp_path / "faces.zip", tmp_path)


def test_a_broken_tar_is_a_clear_error(tmp_path):
    (tmp_path / "faces.tar.xz").write_bytes(b"\xfd7zXZ not really")
    with pytest.raises(DataError, match=r"faces\.tar\.xz: not a readable tar archive"):
        load(tmp_path / "faces.tar.xz", tmp_path)


def test_a_zip_without_the_layout_says_what_it_expected(tmp_path):
    with zipfile.ZipFile(tmp_path / "faces.zip", "w") as z:
        z.writestr("readme.txt", "hello")
    with pytest.raises(DataError, match="no images found in the layout train/<class>"):
        load(tmp_path / "faces.zip", tmp_path)
