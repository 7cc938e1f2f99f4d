"""``load_fer2013``: find FER-2013 in any of its common forms, parse it once, cache the arrays.

Accepted ``path`` (or, when None, the environment variable ``MINICNN_FER2013``):

- the Kaggle CSV: ``*.csv``, ``*.csv.gz`` or ``*.csv.xz``;
- the per-image layout (``train/<class>/...``, ``test/<class>/...``) as a folder, a ``*.zip``
  or a tar archive (``*.tar``, ``*.tar.gz``, ``*.tar.xz``);
- a folder holding one of those: ``fer2013.csv[.gz|.xz]`` is preferred, then
  ``fer2013-images.zip`` / ``fer2013.zip``, then ``fer2013-images.tar.xz``, then a
  ``train/`` + ``test/`` layout.

No data path is built in: data is found only through the argument or the variable.
"""
import hashlib
import os
from pathlib import Path

import numpy as np

from ..errors import DataError
from . import cache
from .images import ARCHIVE_SUFFIXES, read_images
from .kaggle_csv import read_csv
from .messages import say
from .splits import IMAGE_SHAPE, SPLIT_NAMES, FERDataset, Split, check_splits

DATA_ENV = "MINICNN_FER2013"
CSV_SUFFIXES = (".csv", ".csv.gz", ".csv.xz")
FOLDER_CANDIDATES = ("fer2013.csv", "fer2013.csv.gz", "fer2013.csv.xz", "fer2013-images.zip", "fer2013.zip",
                     "fer2013-images.tar.xz")


def load_fer2013(path=None, cache_dir=None, skip_bad_rows=False, progress=True, use_cache=True):
    """Load FER-2013 as a ``FERDataset`` (train/val/test Splits, uint8 (N,48,48), int64 labels).

    The parsed arrays are cached under ``cache_dir`` (see ``minicnn.data.cache``)
    keyed by the source file's absolute path, size, mtime and ``skip_bad_rows``;
    the second load reads the cache (``dataset.from_cache`` is then True).
    Every user mistake raises DataError with one line naming the file.
    """
    source = resolve_source(path)
    kind = "csv" if source.name.lower().endswith(CSV_SUFFIXES) else "images"
    entry = None
    if use_cache:
        entry = cache.entry_path("fer2013", _source_key(source, kind, skip_bad_rows), cache_dir)
        cached = cache.load_entry(entry)
        if cached is not None:
            try:
                return _dataset_from_arrays(cached, from_cache=True, path=source)
            except DataError as exc:
                cache.discard_entry(entry, str(exc))
    say(f"reading {source} (parsed once, then cached)", progress and kind == "csv")
    if kind == "csv":
        splits = read_csv(source, skip_bad_rows=skip_bad_rows)
        note = "Usage Training -> train, PublicTest -> val, PrivateTest -> test"
    else:
        splits, note = read_images(source, progress=progress)
    check_splits(splits, source)
    dataset = FERDataset(**splits, source=f"FER-2013 from {source} ({note})", path=source)
    if entry is not None:
        cache.save_entry(entry, _dataset_to_arrays(dataset))
    return dataset


def resolve_source(path=None):
    """The file or layout folder to read, from ``path`` or $MINICNN_FER2013; DataError if missing."""
    if path is None:
        path = os.environ.get(DATA_ENV)
        if not path:
            raise DataError(f"no FER-2013 path given: pass one or set {DATA_ENV} to the CSV "
                            "(fer2013.csv[.gz|.xz]), the images .zip or .tar[.gz|.xz], or a folder holding them")
    path = Path(path).expanduser()
    if not path.exists():
        raise DataError(f"FER-2013 not found at {path}: pass the path of the CSV, the images .zip or .tar, or "
                        f"their folder (or set {DATA_ENV})")
    if path.is_file():
        if not path.name.lower().endswith(CSV_SUFFIXES + ARCHIVE_SUFFIXES):
            raise DataError(f"{path}: unknown FER-2013 format; expected a .csv[.gz|.xz], .zip or .tar[.gz|.xz] file")
        return path
    for name in FOLDER_CANDIDATES:
        if (path / name).is_file():
            return path / name
    if (path / "train").is_dir():
        return path
    raise DataError(f"{path}: holds no fer2013.csv[.gz|.xz], fer2013-images.zip or .tar.xz, or train/ + test/ "
                    f"folders; point at the data (argument or {DATA_ENV})")


def _source_key(source, kind, skip_bad_rows):
    if source.is_dir():  # a folder's identity: every image file's name, size and mtime
        stats = sorted((str(p.relative_to(source)), p.stat().st_size, p.stat().st_mtime_ns)
                       for p in source.rglob("*") if p.is_file())
        return cache.digest({"folder": str(source.resolve()), "files": stats, "kind": kind})
    return cache.file_key(source, kind=kind, skip_bad_rows=skip_bad_rows)


def _dataset_to_arrays(dataset):
    arrays = {"source": np.array(dataset.source)}
    for name, split in dataset.splits().items():
        arrays[f"{name}_images"], arrays[f"{name}_labels"] = split.images, split.labels
    return arrays


def _dataset_from_arrays(arrays, from_cache, path):
    """The data set stored by ``_dataset_to_arrays``; DataError when an array is missing or malformed."""
    expected = {"source": ("U", 0)}
    for name in SPLIT_NAMES:
        expected.update({f"{name}_images": ("u", 3), f"{name}_labels": ("i", 1)})
    for key, (kind, ndim) in expected.items():
        value = arrays.get(key)
        if value is None or value.dtype.kind != kind or value.ndim != ndim:
            raise DataError(f"{key} is missing or not a {ndim}-d array of kind {kind!r}")
    splits = {name: Split(arrays[f"{name}_images"], arrays[f"{name}_labels"]) for name in SPLIT_NAMES}
    if any(split.images.shape[1:] != IMAGE_SHAPE for split in splits.values()):
        raise DataError(f"its images are not {IMAGE_SHAPE[0]}x{IMAGE_SHAPE[1]}")
    check_splits(splits, "the cache entry")
    return FERDataset(**splits, source=str(arrays["source"]), from_cache=from_cache, path=path)


SYNTHETIC = "synthetic"


def load_dataset(source=None, n_train=3500, n_val=700, n_test=700, seed=0, progress=True, cache_dir=None):
    """The data set a command names: ``"synthetic"`` or FER-2013 (a path, or None for $MINICNN_FER2013).

    ``"synthetic"`` gives the embedded cartoon faces with ``n_train``/``n_val``/``n_test``
    images (``load_synthetic``; each split has its own seed stream, so the
    validation and test faces do not depend on ``n_train``); anything else
    goes to ``load_fer2013``, which ignores the sizes.
    """
    if source == SYNTHETIC:
        from .synthetic import load_synthetic
        return load_synthetic(n_train=n_train, n_val=n_val, n_test=n_test, seed=seed)
    return load_fer2013(source, cache_dir=cache_dir, progress=progress)


def describe_file(path):
    """``{"name", "bytes", "sha256"}`` of a data file, never its folder; a layout folder has
    its total bytes and no sha256 (its decoded arrays still have a ``fingerprint``)."""
    path = Path(path)
    if path.is_dir():
        return {"name": path.name, "bytes": sum(p.stat().st_size for p in path.rglob("*") if p.is_file()),
                "sha256": None}
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return {"name": path.name, "bytes": path.stat().st_size, "sha256": h.hexdigest()}
