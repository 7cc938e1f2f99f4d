"""Test helpers: write small FER-2013 files in every supported layout from a FERDataset."""
import gzip
import lzma
import tarfile
import zipfile
from pathlib import Path

from PIL import Image

from minicnn.data import load_synthetic

FOLDERS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
USAGE = {"train": "Training", "val": "PublicTest", "test": "PrivateTest"}


def small_dataset(seed=0, n_train=21, n_val=14, n_test=14):
    return load_synthetic(n_train=n_train, n_val=n_val, n_test=n_test, seed=seed)


def csv_lines(dataset):
    lines = ["emotion,pixels,Usage"]
    for name, split in dataset.splits().items():
        lines += [f"{label},{' '.join(map(str, image.ravel()))},{USAGE[name]}"
                  for image, label in zip(split.images, split.labels)]
    return lines


def write_csv(path, dataset=None, lines=None):
    """Write the Kaggle CSV (plain, .gz or .xz by suffix) of ``dataset`` or raw ``lines``."""
    path = Path(path)
    text = "\n".join(lines if lines is not None else csv_lines(dataset)) + "\n"
    opener = {".gz": gzip.open, ".xz": lzma.open}.get(path.suffix, open)
    with opener(path, "wt") as f:
        f.write(text)
    return path


def write_layout(root, dataset, ext="png", named=True):
    """The per-image layout train/<class>/Training_<i>.<ext>, test/<class>/PublicTest_<i>... (or <i> if not named)."""
    root = Path(root)
    for name, split in dataset.splits().items():
        folder = "train" if name == "train" else "test"
        for i, (image, label) in enumerate(zip(split.images, split.labels)):
            stem = f"{USAGE[name]}_{i}" if named or name == "train" else f"{name}{i}"
            target = root / folder / FOLDERS[label] / f"{stem}.{ext}"
            target.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(image).save(target, quality=100) if ext == "jpg" else Image.fromarray(image).save(target)
    return root


def zip_layout(root, zip_path, prefix=""):
    """Zip the folder ``root`` (members under ``prefix``)."""
    root = Path(root)
    with zipfile.ZipFile(zip_path, "w") as z:
        for p in sorted(root.rglob("*")):
            if p.is_file():
                z.write(p, prefix + str(p.relative_to(root)).replace("\\", "/"))
    return Path(zip_path)


def tar_layout(root, tar_path, prefix=""):
    """Tar the folder ``root`` (members under ``prefix``), compressed by suffix: .tar, .tar.gz or .tar.xz."""
    root, tar_path = Path(root), Path(tar_path)
    mode = {".gz": "w:gz", ".xz": "w:xz"}.get(tar_path.suffix, "w")
    tar_path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(tar_path, mode) as t:
        for p in sorted(root.rglob("*")):
            if p.is_file():
                t.add(p, prefix + str(p.relative_to(root)).replace("\\", "/"))
    return tar_path


def assert_same_splits(a, b):
    import numpy as np
    for name in ("train", "val", "test"):
        np.testing.assert_array_equal(getattr(a, name).labels, getattr(b, name).labels)
        np.testing.assert_array_equal(getattr(a, name).images, getattr(b, name).images)
