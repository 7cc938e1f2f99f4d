"""Files minicnn did not write: every surprise is one line naming the file, or is repaired with a warning.

Image sizes are checked before any pixel is decoded; unreadable and damaged
files give a DataError; 16-bit images keep their grey levels; CSV pixel values
beyond 255 are refused however long; a damaged cache entry is rebuilt; a
damaged JSON entry in a checkpoint is named.
"""
import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from fer_files import assert_same_splits, csv_lines, small_dataset, write_csv, write_layout

from minicnn import models
from minicnn.apps.faces import read_image
from minicnn.data import load_fer2013
from minicnn.data.imagefile import MAX_PIXELS, decode_image
from minicnn.errors import DataError
from minicnn.optim import make_optimizer
from minicnn.training import Trainer
from minicnn.training.checkpoint import load_checkpoint, save_checkpoint


def png_header(width, height, depth=8):
    """A PNG that declares ``width`` x ``height`` grey pixels but holds none (a decompression bomb's header)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b""))


def png_bytes(array):
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


# ------------------------------------------------------------------ image sizes, before decoding
@pytest.mark.parametrize("width, height, message", [
    (64, 64, "is 64x64, expected 48x48"),
    (48, 47, "is 48x47, expected 48x48"),
    (100_000, 100_000, "declares too many pixels"),       # beyond Pillow's own hard limit
    (1, 2**31 - 1, "declares too many pixels"),
], ids=["64x64", "48x47", "10-gigapixel", "one-column-2G"])
def test_a_data_set_image_of_the_wrong_size_is_refused_before_decoding(tmp_path, width, height, message):
    root = write_layout(tmp_path / "faces", small_dataset())
    victim = next((root / "train").rglob("*.png"))
    victim.write_bytes(png_header(width, height))       # no pixel data: decoding it would fail otherwise
    with pytest.raises(DataError, match=message) as error:
        load_fer2013(root, cache_dir=tmp_path / "c", progress=False)
    assert victim.name in str(error.value) and "\n" not in str(error.value)


@pytest.mark.parametrize("width, height, message", [
    (12_000, 9_000, f"more than the {MAX_PIXELS // 10**6} megapixels"),   # between our limit and Pillow's
    (MAX_PIXELS // 1000 + 1, 1000, "megapixels minicnn decodes"),
    (200_000, 200_000, "declares too many pixels"),
], ids=["108MP", "just-over", "40-gigapixel"])
def test_a_photo_larger_than_the_limit_is_refused_before_decoding(tmp_path, recwarn, width, height, message):
    path = tmp_path / "bomb.png"
    path.write_bytes(png_header(width, height))
    with pytest.raises(DataError, match=message):
        read_image(path)
    assert not [w for w in recwarn if "DecompressionBomb" in type(w.message).__name__]


@pytest.mark.parametrize("content", [
    b"not an image at all\n",
    png_bytes(np.zeros((48, 48), np.uint8))[:60],          # truncated inside the pixel data
    png_bytes(np.zeros((48, 48), np.uint8))[:20],          # truncated inside the header
    b"\x89PNG\r\n\x1a\n" + b"\x00" * 40,
    b"GIF89a" + b"\xff" * 30,
], ids=["text", "truncated-pixels", "truncated-header", "zero-chunks", "garbage-gif"])
def test_a_damaged_image_is_one_line_naming_it(tmp_path, content):
    with pytest.raises(DataError, match="cannot decode the image x.png") as error:
        decode_image(content, "the image x.png", size=(48, 48))
    assert "\n" not in str(error.value)
    path = tmp_path / "photo.png"
    path.write_bytes(content)
    with pytest.raises(DataError, match="cannot decode"):
        read_image(path)


def test_an_unreadable_image_file_in_a_folder_is_one_line_naming_it(tmp_path, monkeypatch):
    root = write_layout(tmp_path / "faces", small_dataset())
    victim = sorted((root / "test").rglob("*.png"))[3]
    real = type(victim).read_bytes

    def read_bytes(path):
        if path == victim:
            raise PermissionError(13, "Permission denied")
        return real(path)
    monkeypatch.setattr(type(victim), "read_bytes", read_bytes)
    with pytest.raises(DataError, match=f"cannot read test/.*/{victim.name} \\(Permission denied\\)"):
        load_fer2013(root, cache_dir=tmp_path / "c", progress=False)


# ------------------------------------------------------------------ 16-bit images
@pytest.mark.parametrize("value, expected", [(0, 0), (65535, 255), (257, 1), (32896, 128), (128, 0), (129, 1),
                                             (1000, 4), (65406, 254), (65407, 255)])
def test_16_bit_grey_is_scaled_to_8_bits_not_clipped(value, expected):
    array = np.full((48, 48), value, np.uint16)
    assert Image.fromarray(array).mode == "I;16"
    np.testing.assert_array_equal(decode_image(png_bytes(array), "x", size=(48, 48)), expected)
    rgb = decode_image(png_bytes(array), "x", mode="RGB")
    assert rgb.shape == (48, 48, 3) and (rgb == expected).all()


def test_a_16_bit_data_set_gives_the_same_faces_as_the_8_bit_one(tmp_path):
    data = small_dataset()
    root = write_layout(tmp_path / "faces", data)
    for path in root.rglob("*.png"):
        pixels = np.asarray(Image.open(path)).astype(np.uint16) * 257     # 8 -> 16 bits exactly
        Image.fromarray(pixels).save(path)
    assert Image.open(next(root.rglob("*.png"))).mode == "I;16"
    assert_same_splits(load_fer2013(root, cache_dir=tmp_path / "c", progress=False), data)


@pytest.mark.parametrize("array, message", [
    (np.full((48, 48), 70_000, np.int32), "outside the 16-bit range"),
    (np.full((48, 48), -1, np.int32), "outside the 16-bit range"),
    (np.full((48, 48), 0.5, np.float32), "floating-point pixels"),
], ids=["above-65535", "negative", "float"])
def test_images_of_unknown_range_are_refused(array, message):
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="TIFF")
    with pytest.raises(DataError, match=message):
        decode_image(buffer.getvalue(), "x", size=(48, 48))


# ------------------------------------------------------------------ CSV pixel values
@pytest.mark.parametrize("value", ["256", "4294967301", "2147483648", "99999999999999999999", "0000000000000300"])
def test_a_csv_pixel_above_255_is_refused_naming_its_row_however_it_would_overflow(tmp_path, value):
    data = small_dataset()
    lines = csv_lines(data)
    label, pixels, usage = lines[4].split(",")
    lines[4] = f"{label},{value} {pixels.split(' ', 1)[1]},{usage}"
    path = write_csv(tmp_path / "f.csv", lines=lines)
    with pytest.raises(DataError, match=f"line 5: pixel value {int(value)} is outside 0..255"):
        load_fer2013(path, cache_dir=tmp_path / "c", progress=False)
    with pytest.warns(UserWarning, match="skipped 1 bad row"):
        skipped = load_fer2013(path, cache_dir=tmp_path / "c", progress=False, skip_bad_rows=True)
    np.testing.assert_array_equal(skipped.train.images, np.delete(data.train.images, 3, axis=0))


def test_csv_rows_are_parsed_in_chunks_with_the_same_result(tmp_path):
    from minicnn.data.kaggle_csv import _parse_pixels
    rows = [" ".join(map(str, image.ravel())) for image in small_dataset().train.images]
    whole, _ = _parse_pixels(rows, chunk=len(rows))
    chunked, too_large = _parse_pixels(rows[:5] + ["300 " + rows[5].split(" ", 1)[1]] + rows[6:], chunk=4)
    assert too_large == [5]
    np.testing.assert_array_equal(np.delete(chunked, 5, axis=0), np.delete(whole, 5, axis=0))


# ------------------------------------------------------------------ the parsed-data cache
def _keep_arrays(arrays):
    return arrays


def _drop_key(arrays):
    return {k: v for k, v in arrays.items() if k != "val_labels"}


def _wrong_dtype(arrays):
    return {**arrays, "train_images": arrays["train_images"].astype(np.int64)}


def _bad_label(arrays):
    return {**arrays, "test_labels": arrays["test_labels"] + 40}


def _wrong_shape(arrays):
    return {**arrays, "train_images": arrays["train_images"][:, :40]}


@pytest.mark.parametrize("damage", [
    lambda path: path.write_bytes(path.read_bytes()[: path.stat().st_size // 2]),
    lambda path: path.write_bytes(b"\x00" * 1000),
    lambda path: path.write_bytes(b""),
    lambda path: _rewrite(path, _drop_key),
    lambda path: _rewrite(path, _wrong_dtype),
    lambda path: _rewrite(path, _bad_label),
    lambda path: _rewrite(path, _wrong_shape),
    lambda path: _flip_a_byte(path),
], ids=["truncated", "zeros", "empty", "missing-array", "wrong-dtype", "bad-label", "wrong-shape", "flipped-byte"])
def test_a_damaged_cache_entry_is_rebuilt_with_a_warning_and_later_loads_work(tmp_path, damage):
    data = small_dataset()
    path = write_csv(tmp_path / "f.csv", data)
    load_fer2013(path, cache_dir=tmp_path / "c", progress=False)
    [entry] = (tmp_path / "c").glob("fer2013-*.npz")
    damage(entry)
    with pytest.warns(UserWarning, match="cache entry .* is damaged .* rebuilt"):
        rebuilt = load_fer2013(path, cache_dir=tmp_path / "c", progress=False)
    assert not rebuilt.from_cache
    again = load_fer2013(path, cache_dir=tmp_path / "c", progress=False)
    assert again.from_cache
    assert_same_splits(rebuilt, data)
    assert_same_splits(again, data)


def _rewrite(path, change):
    with np.load(path) as f:
        arrays = {k: f[k] for k in f.files}
    with open(path, "wb") as f:
        np.savez(f, **change(arrays))


def _flip_a_byte(path):
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF          # inside an array: the zip's CRC no longer matches
    path.write_bytes(bytes(raw))


# ------------------------------------------------------------------ damaged JSON inside a checkpoint
SMALL = dict(input_shape=[1, 8, 8], width=0.125)


@pytest.fixture
def run_checkpoint(tmp_path):
    rng = np.random.default_rng(0)
    data = (rng.standard_normal((32, 1, 8, 8)).astype(np.float32), rng.integers(0, 7, 32))
    trainer = Trainer(models.shallow(**SMALL), data, data, epochs=1, batch_size=16, quiet=True,
                      out_dir=str(tmp_path / "run"))
    trainer.train()
    return tmp_path / "run" / "last.npz", data


@pytest.mark.parametrize("key, text", [
    ("model_config", "{\"input_shape\": [1, 8,"),
    ("model_config", "[1, 2, 3]"),
    ("trainer", "not json"),
    ("trainer", "{\"config\": 1}"),
    ("history", "{\"val_acc\": [NaN]}"),
    ("layer_state", "\"text\""),
    ("schedule", "{]"),
], ids=["config-cut", "config-list", "trainer-text", "trainer-shape", "history-nan", "layer-state", "schedule"])
def test_a_damaged_json_entry_of_a_checkpoint_is_named_in_one_line(run_checkpoint, key, text):
    path, data = run_checkpoint
    with np.load(path) as f:
        arrays = {k: f[k] for k in f.files}
    arrays[key] = np.array(text)
    with open(path, "wb") as f:
        np.savez(f, **arrays)
    with pytest.raises(DataError, match=f"'{key}' entry is damaged") as error:
        Trainer.resume(path, data, data)
    assert "\n" not in str(error.value) and str(path) in str(error.value)


def test_a_json_entry_stored_as_numbers_is_damaged_too(tmp_path):
    model = models.shallow(**SMALL)
    path = save_checkpoint(tmp_path / "m.npz", model, optimizer=make_optimizer("adam", lr=1e-3))
    with np.load(path) as f:
        arrays = {k: f[k] for k in f.files}
    arrays["model_config"] = np.arange(3)
    np.savez(path, **arrays)
    with pytest.raises(DataError, match="'model_config' entry is damaged .*not JSON text"):
        load_checkpoint(path)
