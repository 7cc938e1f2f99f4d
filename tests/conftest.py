"""Shared fixtures: every device-relevant test runs on each array backend.

``xp`` is parametrized over NumPy, ``strict`` (the CuPy stand-in: NumPy
under CuPy's rules, no GPU needed) and, where CuPy has a working GPU, CuPy;
it also makes that backend the default for the test, so the models,
trainers and classifiers a test builds live there. A test written once
checks every backend (Chainer-style). Tests that take ``xp`` carry the
``device`` marker: ``-m device`` selects the device-relevant part of the
suite, and ``--backends cupy`` (a comma-separated list) limits the backends
``xp`` runs on, e.g. on a GPU machine.

Every test starts on the default backend, ``MINICNN_BACKEND`` (NumPy when
unset), whatever the test before it chose, and with the strict backend's host
synchronisations counted, not raised.
"""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from minicnn import backend

DEFAULT_BACKEND = os.environ.get("MINICNN_BACKEND", "numpy").strip().lower() or "numpy"
AVAILABLE = ["numpy", "strict"] + (["cupy"] if backend.cupy_available() else [])


def pytest_addoption(parser):
    parser.addoption("--backends", default=None,
                     help="comma-separated backends the xp fixture runs on "
                          f"(default: {', '.join(AVAILABLE)}: those that work here)")


def pytest_configure(config):
    config.addinivalue_line("markers", "device: runs on every array backend through the xp fixture")


def selected_backends(config):
    """The backends of ``--backends`` (default: every available one); unavailable ones are refused."""
    chosen = config.getoption("--backends")
    if chosen is None:
        return AVAILABLE
    names = [n.strip() for n in chosen.split(",") if n.strip()]
    missing = [n for n in names if n not in AVAILABLE]
    if missing:
        raise pytest.UsageError(f"--backends: {', '.join(missing)} not available here (available: "
                                f"{', '.join(AVAILABLE)})")
    return names


def pytest_generate_tests(metafunc):
    if "xp" in metafunc.fixturenames:
        metafunc.parametrize("xp", selected_backends(metafunc.config), indirect=True)


def pytest_collection_modifyitems(items):
    for item in items:
        if "xp" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.device)


@pytest.fixture(autouse=True)
def _default_backend():
    """Each test starts (and leaves the process) on the default backend, syncs counted."""
    backend.set_backend(DEFAULT_BACKEND)
    yield
    backend.set_backend(DEFAULT_BACKEND)


@pytest.fixture
def xp(request):
    """The array module under test (numpy, strict, cupy), made the default backend for the test."""
    return backend.set_backend(request.param)


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


@pytest.fixture
def other_process():
    """A live process that is not this one (it sleeps until the test ends): the owner of a lock in use."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    yield proc
    proc.kill()
    proc.wait()
