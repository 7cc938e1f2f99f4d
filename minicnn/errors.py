"""The one exception family a user can cause.

Every error that comes from the user's input (a path, a file format, an array
shape, a config, a backend request) is a ``MiniCNNError``: its message is one
line that says what is wrong and how to fix it. The CLI prints that line and
exits non-zero instead of showing a traceback.
"""


class MiniCNNError(Exception):
    """Base class: a mistake the user can fix, with a one-line message."""


class ShapeError(MiniCNNError, ValueError):
    """An array has the wrong rank or a shape that does not fit its partner."""


class ConfigError(MiniCNNError, ValueError):
    """A model, training or experiment config is invalid."""


class DataError(MiniCNNError, ValueError):
    """A data file is missing, unreadable or malformed."""


class BackendError(MiniCNNError, RuntimeError):
    """The requested array backend (NumPy or CuPy) cannot be used here."""


class NonFiniteError(MiniCNNError, ArithmeticError):
    """A number that must be finite is NaN or infinite: a weight, a training loss, a model output."""


class ResourceError(MiniCNNError, RuntimeError):
    """The machine cannot do what was asked: too little memory, or a run folder another run is using."""
