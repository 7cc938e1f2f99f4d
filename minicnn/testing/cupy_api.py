"""CuPy's public names, pinned as data (``cupy_api.txt``), so CI can hold code to CuPy's API without CuPy.

``names("cupy")`` is the set of module-level names, ``names("cupy.ndarray")``
the array's methods and attributes, and so on for the sections of the file.
"""
from functools import lru_cache
from pathlib import Path

DATA = Path(__file__).with_name("cupy_api.txt")


@lru_cache(maxsize=None)
def _sections():
    sections, current = {}, None
    for line in DATA.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), set())
        elif line:
            current.update(line.split())
    return {name: frozenset(values) for name, values in sections.items()}


def names(section):
    """The pinned names of ``section`` ("cupy", "cupy.ndarray", "cupy.random.Generator", ...)."""
    return _sections()[section]


def sections():
    """The section names of the pinned list."""
    return sorted(_sections())
