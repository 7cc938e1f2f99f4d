"""The data stage of a run: load the named data set, restrict its splits, and describe it without machine paths."""
import numpy as np

from ..data import IMAGE_SHAPE, SYNTHETIC, describe_file, fingerprint, load_dataset
from ..errors import ResourceError

SYNTHETIC_SIZES = {"train": 3500, "val": 700, "test": 700}
"""Images per split of the embedded synthetic faces unless a front end says otherwise."""


def load_run_data(data, limits, seed, sizes=None, progress=True):
    """The data set of a run and its record for metrics.json.

    ``data``: "synthetic" (the embedded faces, ``sizes`` per split, default
    SYNTHETIC_SIZES), a FER-2013 path, or None for $MINICNN_FER2013.
    ``limits`` maps split -> number of images (a stratified subset drawn with
    ``seed``) or None for all. Returns ``(dataset, record)``; the record holds
    kind, source (one line, no path), the file's name, bytes and sha256, the
    fingerprint of the decoded arrays (after the limits) and the split sizes.
    """
    if data == SYNTHETIC:
        sizes = {**SYNTHETIC_SIZES, **(sizes or {})}
        sizes.update({k: min(v, sizes[k]) for k, v in limits.items() if v is not None})
        dataset = load_dataset(SYNTHETIC, sizes["train"], sizes["val"], sizes["test"], seed=seed)
    else:
        dataset = load_dataset(data, progress=progress)
    for name, n in limits.items():
        if n is not None and n < len(getattr(dataset, name)):
            setattr(dataset, name, getattr(dataset, name).subset(n, seed=seed))
    if dataset.path is None:
        record = {"kind": "synthetic", "source": dataset.source, "name": SYNTHETIC, "bytes": None, "sha256": None}
    else:
        record = {"kind": "fer2013", **describe_file(dataset.path)}
        record["source"] = f"FER-2013 {record['name']}"
    record.update(fingerprint=fingerprint(dataset),
                  **{f"n_{name}": len(split) for name, split in dataset.splits().items()})
    return dataset, record


def most_train_images(data, limits, sizes=None):
    """The most training images ``load_run_data`` can return, when that is known before loading, else None."""
    bounds = [limits.get("train")]
    if data == SYNTHETIC:
        bounds.append({**SYNTHETIC_SIZES, **(sizes or {})}["train"])
    bounds = [b for b in bounds if b is not None]
    return min(bounds) if bounds else None


def check_synthetic_memory(data, limits, sizes=None, flips="none", budget=None):
    """ResourceError (one line) when the synthetic faces asked for cannot fit in host memory (before any is drawn).

    Each face is held as uint8 pixels and as the float32 network input (twice
    for a training set doubled by its mirror images); ``budget`` in bytes
    (default ``preflight.budget_bytes`` of the host; no check where unknown).
    """
    if data != SYNTHETIC:
        return
    from ..training import preflight

    budget = preflight.budget_bytes(np) if budget is None else budget
    sizes = {**SYNTHETIC_SIZES, **(sizes or {})}
    counts = {k: min(v, limits[k]) if limits.get(k) is not None else v for k, v in sizes.items()}
    mirrors = counts["train"] if flips == "double" else 0
    per_face = int(np.prod(IMAGE_SHAPE)) * (np.dtype(np.uint8).itemsize + np.dtype(np.float32).itemsize)
    need = per_face * (sum(counts.values()) + mirrors)
    if budget is not None and need > budget:
        held = f" and the {mirrors} mirror images of the training set" if mirrors else ""
        raise ResourceError(f"{sum(counts.values())} synthetic faces{held} need about {need / 2**30:.1f} GiB of "
                            f"host memory, but the budget is {budget / 2**30:.1f} GiB ({preflight.SAFETY:.0%} of "
                            f"what is free now): at most {budget // per_face} images fit in all (ask for fewer "
                            "with --n-train, --n-val, --n-test)")
