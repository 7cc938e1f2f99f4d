"""Optional dependencies, imported in one place.

minicnn needs only NumPy (and tqdm) to train. Reading the Kaggle CSV, decoding
photos, HOG features, plots and sweeps each need a package of their own, which
setup.py groups into extras. ``require`` imports such a package where a
feature first needs it; when it is missing, the user gets one line naming the
feature and the install command, not a traceback from deep inside a reader::

    pd = require("pandas", "reading the Kaggle CSV")
    hog = require("skimage.feature", "HOG features").hog
"""
import importlib

from .errors import MiniCNNError

EXTRA_OF = {"pandas": "data", "PIL": "data", "skimage": "hog", "matplotlib": "viz",
            "dask": "sweep", "distributed": "sweep"}
"""Top-level package -> the setup.py extra that installs it."""

PIP_NAME = {"PIL": "pillow", "skimage": "scikit-image", "distributed": "dask[distributed]"}
"""Top-level package -> its name on PyPI, where the two differ."""


class MissingExtra(MiniCNNError, ImportError):
    """A feature needs an optional package that is not installed."""


def require(module, purpose):
    """The module named ``module`` (dotted, e.g. "skimage.feature"), imported.

    purpose: what needs it, as the message's subject ("HOG features").
    Raises MissingExtra, one line, when its top-level package is not installed.
    """
    top = module.partition(".")[0]
    if top not in EXTRA_OF:
        raise ValueError(f"{top!r} is not an optional dependency of minicnn: add it to EXTRA_OF")
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        if exc.name is not None and exc.name.partition(".")[0] != top:
            raise  # the package is there but is broken: its own error says more
        pip_name = PIP_NAME.get(top, top)
        raise MissingExtra(f"{purpose} needs {pip_name}, which is not installed: "
                           f"`pip install -e .[{EXTRA_OF[top]}]` (or `pip install '{pip_name}'`)") from None
