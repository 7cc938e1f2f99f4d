"""A folder of parsed arrays, so a data set is parsed once and then read in well under a second.

The folder is ``cache_dir`` when given, else ``$MINICNN_CACHE_DIR``, else
``~/.cache/minicnn``. Entries are uncompressed ``.npz`` files named by a hash
of what determines their content (for a source file: its absolute path, size,
modification time and the loader options), so editing or replacing the source
makes a new entry. Writes go to a temporary file first and are renamed into
place, so an interrupted run never leaves a half-written entry. An entry
damaged anyway (a full disk, a bad sector, a hand edit) is not an error: it is
removed with a warning and rebuilt from the source (``discard_entry``).
"""
import hashlib
import json
import os
import warnings
import zipfile
from pathlib import Path

import numpy as np

from ..backend import to_numpy

CACHE_ENV = "MINICNN_CACHE_DIR"
CACHE_VERSION = 1
"""Bump when the layout of cached arrays changes, to invalidate old entries."""


def cache_root(cache_dir=None):
    """The cache folder (not created): argument, else $MINICNN_CACHE_DIR, else ~/.cache/minicnn."""
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    env = os.environ.get(CACHE_ENV)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "minicnn"


def file_key(path, **options):
    """A hex key for a source file: absolute path, size, mtime (ns) and ``options``."""
    path = Path(path).resolve()
    stat = path.stat()
    return digest({"path": str(path), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns, **options})


def array_key(array, **options):
    """A hex key for an array's content (bytes, dtype, shape) and ``options``."""
    array = to_numpy(array)
    h = hashlib.sha1(np.ascontiguousarray(array).data)
    return digest({"sha1": h.hexdigest(), "shape": list(array.shape), "dtype": str(array.dtype), **options})


def digest(fields):
    """A 20-hex-digit key for a JSON-able dict of fields (plus the cache version)."""
    text = json.dumps({"version": CACHE_VERSION, **fields}, sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:20]


def entry_path(kind, key, cache_dir=None):
    """Where the entry ``kind-key.npz`` lives."""
    return cache_root(cache_dir) / f"{kind}-{key}.npz"


def load_entry(path):
    """The arrays of a cache entry as a dict, or None if it is missing (or damaged: then discarded)."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as f:
            return {name: f[name] for name in f.files}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        discard_entry(path, f"{type(exc).__name__}: {exc}".splitlines()[0])
        return None


def discard_entry(path, reason):
    """Remove the damaged entry ``path`` with a warning saying why; it is rebuilt from its source."""
    warnings.warn(f"the cache entry {path} is damaged ({reason}); it is removed and rebuilt from the source",
                  stacklevel=3)
    Path(path).unlink(missing_ok=True)


def save_entry(path, arrays):
    """Write ``arrays`` (name -> ndarray) to ``path`` atomically; a failure to write is not fatal."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, path)
        return True
    except OSError:
        tmp.unlink(missing_ok=True)
        return False
