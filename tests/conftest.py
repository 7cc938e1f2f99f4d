"""Shared fixtures: every backend test runs on each available array backend.

``xp`` is parametrized over NumPy and, where CuPy sees a GPU, CuPy, so a test
written once checks both (Chainer-style). ``MINICNN_BACKEND=cupy`` makes CuPy
the default backend for the whole suite.
"""
import os
from pathlib import Path

import numpy as np
import pytest

from minicnn import backend

BACKENDS = ["numpy"] + (["cupy"] if backend.cupy_available() else [])


@pytest.fixture(params=BACKENDS)
def xp(request):
    """The array module under test (numpy, then cupy where available)."""
    return np if request.param == "numpy" else backend._import_cupy()


@pytest.fixture
def rng():
    """A seeded host generator for test inputs."""
    return np.random.default_rng(0)


def fer2013_dir():
    """Folder of the real FER-2013 files named by MINICNN_FER2013 (the folder, or a file in it), or None.

    `.ci/run` sets it to ../shared/data when that folder exists.
    """
    env = os.environ.get("MINICNN_FER2013")
    folder = Path(env) if env and Path(env).is_dir() else Path(env).parent if env else None
    if folder and ((folder / "fer2013.csv.xz").exists() or (folder / "fer2013-images.zip").exists()):
        return folder
    return None


@pytest.fixture(scope="module")
def fer2013_path():
    path = fer2013_dir()
    if path is None:
        pytest.skip("real FER-2013 not found: set MINICNN_FER2013 to the folder holding "
                    "fer2013.csv.xz / fer2013-images.zip (CI finds it in ../shared/data)")
    return path
