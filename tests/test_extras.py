"""Optional packages: a feature whose package is missing says, in one line, what to install.

Each test hides one optional package (as if it were not installed) and runs a
feature that needs it. The message names the feature, the package and the
setup.py extra that brings it; no traceback from deep inside a reader.
"""
import ast
import sys
from pathlib import Path

import numpy as np
import pytest

from minicnn.data.imagefile import decode_image
from minicnn.data.kaggle_csv import read_csv
from minicnn.errors import MiniCNNError
from minicnn.extras import EXTRA_OF, MissingExtra, require
from minicnn.features.hog import hog_features
from minicnn.viz.curves import plot_confusion

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def hide(monkeypatch):
    """hide(package): make ``package`` and its submodules unimportable for one test."""
    def hide(package):
        for name in [n for n in sys.modules if n == package or n.startswith(package + ".")] + [package]:
            monkeypatch.setitem(sys.modules, name, None)
    return hide


def assert_one_line_naming(exc_info, *words):
    message = str(exc_info.value)
    assert "\n" not in message
    for word in words:
        assert word in message


def test_reading_the_kaggle_csv_without_pandas_names_the_data_extra(hide, tmp_path):
    csv = tmp_path / "fer.csv"
    csv.write_text("emotion,pixels,Usage\n0," + " ".join(["0"] * 2304) + ",Training\n")
    hide("pandas")
    with pytest.raises(MissingExtra) as exc_info:
        read_csv(csv)
    assert_one_line_naming(exc_info, "reading the Kaggle CSV", "pandas", "pip install -e .[data]")


def test_decoding_an_image_without_pillow_names_pillow(hide):
    hide("PIL")
    with pytest.raises(MissingExtra) as exc_info:
        decode_image(b"\x89PNG", "face.png")
    assert_one_line_naming(exc_info, "decoding images", "pillow", ".[data]")


def test_hog_features_without_scikit_image_name_the_hog_extra(hide):
    hide("skimage")
    with pytest.raises(MissingExtra) as exc_info:
        hog_features(np.zeros((2, 48, 48), np.uint8), n_jobs=1, use_cache=False, progress=False)
    assert_one_line_naming(exc_info, "HOG features", "scikit-image", ".[hog]")


def test_plots_without_matplotlib_name_the_viz_extra(hide, tmp_path):
    hide("matplotlib")
    with pytest.raises(MissingExtra) as exc_info:
        plot_confusion(np.eye(2), ["a", "b"], tmp_path / "cm.png")
    assert_one_line_naming(exc_info, "plots", "matplotlib", ".[viz]")


def test_a_missing_extra_is_a_user_error_the_cli_prints_as_one_line():
    assert issubclass(MissingExtra, MiniCNNError) and issubclass(MissingExtra, ImportError)


def test_every_extra_named_in_a_message_exists_in_setup_py():
    tree = ast.parse((ROOT / "setup.py").read_text())
    extras = next(ast.literal_eval(node.value) for node in tree.body
                  if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "EXTRAS")
    assert set(EXTRA_OF.values()) <= set(extras)


def test_only_declared_optional_packages_can_be_required():
    with pytest.raises(ValueError, match="not an optional dependency"):
        require("scipy", "anything")


def test_an_installed_package_is_returned_as_the_module():
    assert require("matplotlib.figure", "plots").Figure.__name__ == "Figure"
