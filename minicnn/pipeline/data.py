"""The data stage of a run: load the named data set, restrict its splits, and describe it without machine paths."""
from ..data import SYNTHETIC, describe_file, fingerprint, load_dataset

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
