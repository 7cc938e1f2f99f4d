"""The trained model that travels inside the package: ``minicnn predict photo.jpg`` uses it.

It is the eval-only float16 copy (``minicnn export``, at most 10 MB) of the
best checkpoint of a full-protocol FER-2013 run; docs/model-card.md says which
run, how it was trained and how well it does per class. A copy of minicnn
that carries no such file (a development tree before the first full run)
answers with one line naming the way out: pass a checkpoint of your own.

    from minicnn.apps.inference import Classifier
    from minicnn.apps.shipped import shipped_model
    clf = Classifier.load(shipped_model())
"""
from pathlib import Path

from ..errors import DataError

WEIGHTS = Path(__file__).with_name("weights") / "fer2013.npz"
"""Where the shipped weights live inside the installed package."""


class NoShippedModel(DataError):
    """This copy of minicnn carries no trained model."""


def shipped_model():
    """The path of the shipped eval-only checkpoint (NoShippedModel if this copy has none)."""
    if not WEIGHTS.is_file():
        raise NoShippedModel(
            "this copy of minicnn ships no trained model yet: name a checkpoint, "
            "`minicnn predict MODEL.npz photo.jpg` (train one with `minicnn experiment deep`, "
            "or `minicnn demo` for a quick one)")
    return WEIGHTS
