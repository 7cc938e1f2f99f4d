"""`pip install .` (not editable) into a fresh virtual environment, then the commands from an empty folder.

The installed package must run the paper's experiments and sweeps on its own:
no repository on ``sys.path``, no ``experiments/`` package, the run configs as
package data. To stay fast and offline, the new environment reaches the
running environment's dependencies through a ``.pth`` file (plain path lines,
so the running environment's own editable minicnn is not activated) and
installs only minicnn itself (``--no-deps --no-build-isolation``), from a copy
of the files ``setup.py`` packages.
"""
import json
import os
import shutil
import site
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from PIL import Image
from skimage import data as skdata


pytest.importorskip("distributed")
REPO = Path(__file__).resolve().parents[1]
TWO_TRIALS = REPO / "docs" / "sweeps" / "tiny_synthetic.json"   # 2 trials of a tiny net on 700 faces


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """A virtual environment with minicnn installed from a copy of the source; returns its bin folder."""
    root = tmp_path_factory.mktemp("install")
    source = root / "source"
    source.mkdir()
    for name in ("setup.py", "README.md"):
        shutil.copy(REPO / name, source / name)
    shutil.copytree(REPO / "minicnn", source / "minicnn", ignore=shutil.ignore_patterns("__pycache__"))
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    purelib = Path(subprocess.run([str(venv / "bin" / "python"), "-c",
                                   "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                  check=True, capture_output=True, text=True).stdout.strip())
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"], *site.getsitepackages()}
    (purelib / "zz_running_environment.pth").write_text("\n".join(sorted(ours)) + "\n")
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps",
                    "--no-build-isolation", "--no-index", str(source)], check=True, env=_env(root))
    shutil.rmtree(source)
    return venv / "bin"


def _env(home):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MINICNN_FER2013", "MINICNN_BACKEND")}
    env["MINICNN_CACHE_DIR"] = str(Path(home) / "cache")
    return env


def _run(bin_dir, cwd, *args):
    env = _env(cwd)
    env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
    done = subprocess.run(list(args), cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{' '.join(args)} exited {done.returncode}:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def test_the_installed_package_is_the_one_that_runs(installed, tmp_path):
    where = _run(installed, tmp_path, "python", "-c", "import minicnn; print(minicnn.__file__)")
    assert str(installed.parent) in where and str(REPO) not in where
    assert "No module named 'experiments'" in subprocess.run(
        [str(installed / "python"), "-c", "import experiments"], cwd=tmp_path, capture_output=True, text=True).stderr


def test_demo_experiment_and_sweep_run_from_an_empty_folder(installed, tmp_path):
    _run(installed, tmp_path, "minicnn", "demo", "--quiet")
    assert json.loads((tmp_path / "runs" / "demo" / "metrics.json").read_text())["schema"] == 2
    _run(installed, tmp_path, "minicnn", "experiment", "shallow", "--quick", "--data", "synthetic", "--quiet")
    for name in ("metrics.json", "per_class.md", "curves.png", "confusion.png"):
        assert (tmp_path / "results" / "shallow-quick" / name).stat().st_size > 0, name
    shutil.copy(TWO_TRIALS, tmp_path / "two.json")
    out = _run(installed, tmp_path, "minicnn", "sweep", "two.json", "--data", "synthetic", "--workers", "1")
    assert "2 of 2 trials finished" in out
    assert (tmp_path / "sweeps" / "tiny-synthetic" / "best_config.json").exists()


def test_predict_needs_no_model_argument_after_install(installed, tmp_path):
    Image.fromarray(skdata.astronaut()).save(tmp_path / "astronaut.png")
    result = json.loads(_run(installed, tmp_path, "minicnn", "predict", "astronaut.png", "--json"))
    assert len(result) == 1 and len(result[0]["faces"]) == 1
