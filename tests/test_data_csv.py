"""The Kaggle CSV reader: formats, splits and one-line errors for bad input."""
import re

import numpy as np
import pytest
from fer_files import assert_same_splits, csv_lines, small_dataset, write_csv

from minicnn.data import load_fer2013
from minicnn.errors import DataError


@pytest.fixture(scope="module")
def data():
    return small_dataset()


def load(path, tmp_path, **kw):
    return load_fer2013(path, cache_dir=tmp_path / "cache", progress=False, **kw)


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz", ".csv.xz"])
def test_plain_gz_and_xz_csv_give_the_written_splits(data, tmp_path, suffix):
    ds = load(write_csv(tmp_path / f"fer2013{suffix}", data), tmp_path)
    assert_same_splits(ds, data)
    assert ds.train.images.dtype == np.uint8 and ds.train.labels.dtype == np.int64
    assert "PublicTest -> val" in ds.source and "PrivateTest -> test" in ds.source


def test_a_folder_holding_the_csv_is_accepted(data, tmp_path):
    write_csv(tmp_path / "fer2013.csv.gz", data)
    assert_same_splits(load(tmp_path, tmp_path), data)


def test_the_environment_variable_names_the_data_when_no_path_is_given(data, tmp_path, monkeypatch):
    monkeypatch.setenv("MINICNN_FER2013", str(write_csv(tmp_path / "x.csv", data)))
    assert_same_splits(load(None, tmp_path), data)


def test_missing_file_names_the_path_and_the_variable(tmp_path):
    with pytest.raises(DataError, match=r"nothere\.csv.*MINICNN_FER2013"):
        load(tmp_path / "nothere.csv", tmp_path)


def test_no_path_and_no_variable_says_how_to_point_at_the_data(tmp_path, monkeypatch):
    monkeypatch.delenv("MINICNN_FER2013", raising=False)
    with pytest.raises(DataError, match="MINICNN_FER2013"):
        load(None, tmp_path)


def test_wrong_columns_lists_found_and_expected(tmp_path):
    path = write_csv(tmp_path / "bad.csv", lines=["label,pixels", "0,1 2 3"])
    with pytest.raises(DataError, match=r"found columns label, pixels; expected emotion, pixels, Usage"):
        load(path, tmp_path)


def _corrupt(data, tmp_path, row, field, value):
    """Write the CSV with data row ``row`` (0-based) having ``field`` replaced; returns the path."""
    lines = csv_lines(data)
    emotion, pixels, usage = lines[row + 1].split(",")
    fields = {"emotion": emotion, "pixels": pixels, "Usage": usage, field: value}
    lines[row + 1] = f"{fields['emotion']},{fields['pixels']},{fields['Usage']}"
    return write_csv(tmp_path / "bad.csv", lines=lines)


@pytest.mark.parametrize("field, value, message", [
    ("pixels", " ".join(["7"] * 2303), "2303 pixel values, expected 2304"),
    ("pixels", " ".join(["7"] * 2305), "2305 pixel values, expected 2304"),
    ("pixels", "7 x " + " ".join(["7"] * 2302), "pixels contain 'x', not a number"),
    ("pixels", "7 256 " + " ".join(["7"] * 2302), "pixel value 256 is outside 0..255"),
    ("pixels", "", "0 pixel values"),
    ("emotion", "7", "emotion '7' is not a label 0..6"),
    ("emotion", "happy", "emotion 'happy' is not a label"),
    ("Usage", "Validation", "Usage 'Validation' is not one of Training, PublicTest, PrivateTest"),
], ids=["too-few", "too-many", "letter", "over-255", "empty", "label-7", "label-text", "usage"])
def test_a_bad_row_is_named_by_its_line_in_the_file(data, tmp_path, field, value, message):
    row = 5  # data row 5 is line 7 (line 1 is the header)
    path = _corrupt(data, tmp_path, row, field, value)
    with pytest.raises(DataError, match=re.escape(f"line 7: {message}")):
        load(path, tmp_path)


def test_extra_spaces_between_pixels_are_not_an_error(data, tmp_path):
    pixels = " " + "  ".join(map(str, data.train.images[2].ravel())) + " "
    ds = load(_corrupt(data, tmp_path, 2, "pixels", pixels), tmp_path)
    assert_same_splits(ds, data)


def test_skip_bad_rows_drops_them_and_warns_with_the_count(data, tmp_path):
    lines = csv_lines(data)
    lines[3] = lines[3].replace(" ", " x ", 1)
    lines[4] = "9" + lines[4][1:]
    path = write_csv(tmp_path / "bad.csv", lines=lines)
    with pytest.warns(UserWarning, match=r"skipped 2 bad row\(s\); the first, line 4"):
        ds = load(path, tmp_path, skip_bad_rows=True)
    assert len(ds.train) == len(data.train) - 2
    keep = np.setdiff1d(np.arange(len(data.train)), [2, 3])
    np.testing.assert_array_equal(ds.train.images, data.train.images[keep])


def test_an_empty_split_is_an_error_naming_the_split(data, tmp_path):
    lines = [line for line in csv_lines(data) if not line.endswith("PrivateTest")]
    with pytest.raises(DataError, match="the test split is empty"):
        load(write_csv(tmp_path / "x.csv", lines=lines), tmp_path)


def test_an_empty_file_is_a_clear_error(tmp_path):
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(DataError, match="empty"):
        load(tmp_path / "empty.csv", tmp_path)


def test_a_corrupt_compressed_file_is_a_clear_error(tmp_path):
    (tmp_path / "broken.csv.xz").write_bytes(b"not xz at all")
    with pytest.raises(DataError, match=r"broken\.csv\.xz: not a readable CSV"):
        load(tmp_path / "broken.csv.xz", tmp_path)


def test_an_unknown_file_type_is_a_clear_error(tmp_path):
    (tmp_path / "faces.txt").write_text("hello")
    with pytest.raises(DataError, match=r"faces\.txt: unknown FER-2013 format"):
        load(tmp_path / "faces.txt", tmp_path)
