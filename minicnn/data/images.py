"""The per-image FER-2013 layout, as a folder, a .zip or a tar archive (.tar, .tar.gz, .tar.xz) of it.

    train/<class>/Training_<id>.jpg        -> train
    test/<class>/PublicTest_<id>.jpg       -> val
    test/<class>/PrivateTest_<id>.jpg      -> test
    val/<class>/...  (optional)            -> val

``<class>`` is one of angry, disgust, fear, happy, sad, surprise, neutral (any
case) or the label digit 0..6; files are .jpg, .jpeg or .png, decoded by Pillow
to 8-bit grayscale 48x48 (``minicnn.data.imagefile``: the size is checked
before any pixel is decoded, 16-bit files are scaled to 8 bits). The folders may sit below a top-level folder (a zip
of ``fer2013/``). Images are ordered by split, then by the number in the file
name, then by name, so the zip, the tar and the Kaggle CSV give identical
arrays. A compressed tar can only be read as a stream, so its image files are
read in one pass, in archive order, before they are decoded in that order.

When no file name in test/ carries PublicTest/PrivateTest (and there is no
val/), test/ is split in two halves per class, with a fixed seed: the first
half of a seeded permutation of each class becomes val. That is said in the
data set's ``source`` and in a warning.
"""
import re
import tarfile
import warnings
import zipfile
from pathlib import Path

import numpy as np

from ..errors import DataError
from .imagefile import decode_image
from .messages import Progress, say
from .splits import CLASS_NAMES, IMAGE_SHAPE, SPLIT_NAMES, Split

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
ZIP_SUFFIXES = (".zip",)
TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.xz", ".txz")
ARCHIVE_SUFFIXES = ZIP_SUFFIXES + TAR_SUFFIXES
FOLDER_SPLITS = ("train", "val", "test")
NAMED_SPLITS = {"training": "train", "publictest": "val", "privatetest": "test"}
HALVES_SEED = 0
_CLASS_OF = {**{c.lower(): k for k, c in enumerate(CLASS_NAMES)}, **{str(k): k for k in range(len(CLASS_NAMES))}}


def read_images(path, progress=True):
    """Read a folder, .zip or tar archive (.tar, .tar.gz, .tar.xz) in the per-image layout.

    Returns ``({"train"|"val"|"test": Split}, note)`` where ``note`` says how
    val and test were formed. Raises DataError naming the file for an unknown
    class folder, an image that cannot be decoded or is not 48x48, or a test/
    folder that mixes named and unnamed files.
    """
    path = Path(path)
    if path.is_dir():
        members = [str(p.relative_to(path)).replace("\\", "/") for p in path.rglob("*") if p.is_file()]
        return _read_members(path, members, _FolderReader(path), progress)
    if path.name.lower().endswith(TAR_SUFFIXES):
        reader = _TarReader(path, progress)
        return _read_members(path, list(reader.files), reader, progress)
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise DataError(f"{path}: not a readable zip file ({exc})") from None
    with archive:
        members = [m for m in archive.namelist() if not m.endswith("/")]
        return _read_members(path, members, _ZipReader(path, archive), progress)


def _read_members(path, members, reader, progress):
    """Index the image members, assign splits, decode them in order."""
    entries = _index(members, path)
    groups, note = _assign_splits(entries, path)
    total = sum(len(g) for g in groups.values())
    bar = Progress(f"decoding {path.name}", total, enabled=progress)
    splits, done = {}, 0
    for name in SPLIT_NAMES:
        group = groups[name]
        images = np.empty((len(group), *IMAGE_SHAPE), dtype=np.uint8)
        for i, entry in enumerate(group):
            images[i] = _decode(reader.read(entry["member"]), entry["member"], path)
            done += 1
            bar.update(done)
        splits[name] = Split(images, np.array([e["label"] for e in group], dtype=np.int64))
    bar.close()
    return splits, note


class _FolderReader:
    def __init__(self, root):
        self.root = root

    def read(self, member):
        try:
            return (self.root / member).read_bytes()
        except OSError as exc:
            raise DataError(f"{self.root}: cannot read {member} ({exc.strerror or type(exc).__name__})") from None


class _ZipReader:
    def __init__(self, path, archive):
        self.path, self.archive = path, archive

    def read(self, member):
        try:
            return self.archive.read(member)
        except (zipfile.BadZipFile, OSError, RuntimeError) as exc:
            raise DataError(f"{self.path}: cannot read {member} ({exc})") from None


class _TarReader:
    """The image files of a tar archive (any compression), read in one pass in archive order."""

    def __init__(self, path, progress):
        say(f"reading {path.name} (one pass through the archive)", progress)
        self.files = {}
        try:
            with tarfile.open(path, "r:*") as archive:
                for member in archive:
                    if member.isfile() and member.name.lower().endswith(IMAGE_SUFFIXES):
                        self.files[member.name] = archive.extractfile(member).read()
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise DataError(f"{path}: not a readable tar archive ({exc})") from None

    def read(self, member):
        return self.files[member]


def _index(members, path):
    """One dict per image file: member, folder split, label, name split, number for sorting."""
    entries = []
    for member in members:
        parts = member.split("/")
        if not member.lower().endswith(IMAGE_SUFFIXES) or any(p.startswith(".") or p == "__MACOSX" for p in parts):
            continue
        if len(parts) < 3 or parts[-3].lower() not in FOLDER_SPLITS:
            continue
        split_folder, class_folder, name = parts[-3].lower(), parts[-2], parts[-1]
        if class_folder.lower() not in _CLASS_OF:
            raise DataError(f"{path}: unknown class folder {'/'.join(parts[:-1])}; expected one of "
                            f"{', '.join(c.lower() for c in CLASS_NAMES)} (or 0..6)")
        prefix = re.match(r"([A-Za-z]+)_", name)
        number = re.search(r"(\d+)", name)
        entries.append({"member": member, "folder": split_folder, "label": _CLASS_OF[class_folder.lower()],
                        "named": NAMED_SPLITS.get(prefix.group(1).lower()) if prefix else None,
                        "key": (int(number.group(1)) if number else -1, name)})
    if not entries:
        raise DataError(f"{path}: no images found in the layout train/<class>/*.jpg|png and test/<class>/...")
    return entries


def _assign_splits(entries, path):
    by_folder = {f: sorted((e for e in entries if e["folder"] == f), key=lambda e: e["key"]) for f in FOLDER_SPLITS}
    if not by_folder["train"]:
        raise DataError(f"{path}: no images in a train/ folder; expected train/<class>/*.jpg|png")
    if not by_folder["test"]:
        raise DataError(f"{path}: no images in a test/ folder; expected test/<class>/*.jpg|png")
    groups = {"train": by_folder["train"]}
    test = by_folder["test"]
    named = [e["named"] in ("val", "test") for e in test]
    if by_folder["val"]:
        groups["val"], groups["test"] = by_folder["val"], test
        return groups, "val/ -> val, test/ -> test"
    if all(named):
        groups["val"] = [e for e in test if e["named"] == "val"]
        groups["test"] = [e for e in test if e["named"] == "test"]
        return groups, "test/PublicTest_* -> val, test/PrivateTest_* -> test"
    if any(named):
        odd = next(e["member"] for e, n in zip(test, named) if not n)
        raise DataError(f"{path}: test/ mixes PublicTest_/PrivateTest_ names with others such as {odd}; "
                        "name all test files by split or none")
    val_mask = _stratified_halves(np.array([e["label"] for e in test]), HALVES_SEED)
    groups["val"] = [e for e, v in zip(test, val_mask) if v]
    groups["test"] = [e for e, v in zip(test, val_mask) if not v]
    note = (f"test/ file names carry no split: test/ was split per class into halves "
            f"(seed {HALVES_SEED}) -> val, test")
    warnings.warn(f"{path}: {note}", stacklevel=4)
    return groups, note


def _stratified_halves(labels, seed):
    """Bool mask (N,): True for the first half (rounded down) of each class in a seeded permutation."""
    order = np.random.default_rng(seed).permutation(len(labels))
    order = order[np.argsort(labels[order], kind="stable")]
    counts = np.bincount(labels[order])
    rank = np.arange(len(labels)) - np.repeat(np.cumsum(counts) - counts, counts)
    mask = np.zeros(len(labels), dtype=bool)
    mask[order] = rank < np.repeat(counts // 2, counts)
    return mask


def _decode(data, member, path):
    try:
        return decode_image(data, f"the image {member}", size=IMAGE_SHAPE)
    except DataError as exc:
        raise DataError(f"{path}: {exc}") from None
