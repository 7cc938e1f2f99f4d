"""Checks and conversions for user-given values: the one validation module.

Each check returns the value converted (float or int) or raises a
``ConfigError`` (or the error class given) whose one line names the owner, the
argument, the allowed range and the value given, e.g.
``Adam: beta1 must be in [0, 1), got 1.5``.

The commands validate everything they are given before any work starts:

- option values through argparse ``type=`` objects built on the same range
  checks (``Number``: ``positive_int``, ``nonnegative_int``, ``positive_number``,
  ``seed``, ...): a value out of range is argparse's one-line error, e.g.
  ``minicnn train: error: argument --epochs: must be in [1, inf), got '0'``;
  zero and negative values are never read as "use the default";
- files they read (``check_input_file``) and folders and files they write
  (``check_output_folder``, ``check_output_file``: created and tested for
  writing, so a bad ``--out`` is refused before the first epoch, not after it);
- then ``ready()``: in validate-only mode (``MINICNN_VALIDATE_ONLY=1``) the
  command stops there, so every command's checks can be probed in
  milliseconds (the fuzz test does).
"""
import argparse
import math
import os
import tempfile
from pathlib import Path

from .errors import ConfigError, DataError

VALIDATE_ONLY_ENV = "MINICNN_VALIDATE_ONLY"
SEED_MAX = 2**32 - 1
"""Largest seed a command takes: 32 bits, what every random generator minicnn can use accepts."""


def check_number(owner, name, value, low=-math.inf, high=math.inf,
                 low_open=False, high_open=False, integer=False, error=ConfigError):
    """``value`` as a float (``int`` with ``integer=True``) inside the given range.

    The range is ``[low, high]``; ``low_open``/``high_open`` exclude an end.
    NaN, infinities, booleans, text and non-numbers are rejected; with
    ``integer=True`` so are fractional values.
    """
    try:
        if isinstance(value, (bool, str, bytes)):
            raise TypeError
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        raise error(f"{owner}: {name} must be a number, got {value!r}") from None
    if integer and not number.is_integer():
        raise error(f"{owner}: {name} must be a whole number, got {value!r}")
    problem = _outside(number, low, high, low_open, high_open)
    if problem:
        raise error(f"{owner}: {name} {problem}, got {value!r}")
    return int(number) if integer else number


def _outside(number, low, high, low_open, high_open):
    """``"must be in [low, high)"`` when ``number`` (an int or a float) is NaN, infinite or out of range, else None."""
    finite = not isinstance(number, float) or math.isfinite(number)
    inside = (number > low if low_open else number >= low) and (number < high if high_open else number <= high)
    if finite and inside:
        return None
    return (f"must be in {'(' if low_open or math.isinf(low) else '['}{_show(low)}, "
            f"{_show(high)}{')' if high_open or math.isinf(high) else ']'}")


def check_int(owner, name, value, minimum=1, error=ConfigError):
    """``value`` as an int >= ``minimum``."""
    return check_number(owner, name, value, low=minimum, integer=True, error=error)


def check_probability(owner, name, value):
    """``value`` as a float in [0, 1)."""
    return check_number(owner, name, value, 0.0, 1.0, high_open=True)


def check_choice(owner, name, value, choices):
    """``value`` if it is one of ``choices``, else a ConfigError listing them."""
    if value not in choices:
        raise ConfigError(f"{owner}: {name} must be one of {', '.join(map(str, choices))}, got {value!r}")
    return value


def _show(bound):
    if math.isinf(bound):
        return "inf" if bound > 0 else "-inf"
    return str(bound) if isinstance(bound, int) else f"{bound:g}"


def scalar(value):
    """A Python scalar from a scalar or a 0-d array (how ``numpy.load`` returns a stored scalar)."""
    return value.item() if getattr(value, "ndim", None) == 0 else value


# -- option values (argparse ``type=``) --------------------------------------------------------
class Number:
    """An argparse ``type``: an option's text as a number in ``[low, high]`` (``*_open`` excludes an end).

    ``integer=True`` takes whole numbers only (``"3"``, not ``"3.0"`` or
    ``"1e3"``). Text, NaN, infinities and values out of range are refused with
    argparse's one-line error (``argument --lr: must be in (0, inf), got '0'``).
    The range stays readable (``low``, ``high``, ...), so tests probe each
    option at its edges.
    """

    def __init__(self, low=-math.inf, high=math.inf, low_open=False, high_open=False, integer=False):
        self.low, self.high, self.low_open, self.high_open, self.integer = low, high, low_open, high_open, integer

    def __call__(self, text):
        try:
            number = int(text) if self.integer else float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"must be a {'whole number' if self.integer else 'number'}, got {text!r}") from None
        problem = _outside(number, self.low, self.high, self.low_open, self.high_open)
        if problem:
            raise argparse.ArgumentTypeError(f"{problem}, got {text!r}")
        return number

    def accepts(self, number):
        """True when ``number`` is inside the range (and whole, for an integer option)."""
        if self.integer and not float(number).is_integer():
            return False
        return _outside(number, self.low, self.high, self.low_open, self.high_open) is None

    def __repr__(self):
        return "whole number" if self.integer else "number"


positive_int = Number(1, integer=True)
"""Counts that cannot be zero: epochs, batch sizes, images, steps."""
nonnegative_int = Number(0, integer=True)
"""Counts where 0 means none (0 recalibration images, 0 warm-up steps), an index."""
positive_number = Number(0, low_open=True)
"""Learning rates, widths, seconds, tolerances."""
nonnegative_number = Number(0)
"""L2 strengths."""
fraction = Number(0, 1, low_open=True)
"""A share of something, in (0, 1]."""
seed = Number(0, SEED_MAX, integer=True)
"""Random seeds: 0 to SEED_MAX."""


def folder_name(text):
    """An argparse ``type``: the name of one folder (a run id): not empty, no path separator, not . or .."""
    if not text.strip() or text in (".", "..") or Path(text).name != text or "\\" in text:
        raise argparse.ArgumentTypeError(f"must name one folder (no '/', not '.' or '..'), got {text!r}")
    return text


# -- files read and written --------------------------------------------------------------------
def check_path(option, value):
    """``value`` as a Path; an empty name is a ConfigError (``Path("")`` would quietly mean the current folder)."""
    if not str(value).strip():
        raise ConfigError(f"{option}: the path is empty")
    return Path(value).expanduser()


def check_input_file(option, path):
    """``path`` as a Path to an existing file; a DataError line naming ``option`` when it is not one."""
    path = check_path(option, path)
    if path.is_dir():
        raise DataError(f"{option} {path}: is a folder; give a file")
    if not path.is_file():
        raise DataError(f"{option} {path}: no such file")
    return path


def check_output_folder(option, path):
    """``path`` as a Path to a folder, created if needed, that takes new files; else one ConfigError line.

    A file test is written and removed (an unnamed temporary file), so a full
    disk, a read-only mount or missing permissions show here, before any work.
    """
    path = check_path(option, path)
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{option} {path}: is a file, not a folder; choose a folder for the outputs")
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        raise ConfigError(f"{option} {path}: cannot write there ({exc.strerror or exc}); "
                          "choose another folder") from None
    return path


def check_output_file(option, path, suffixes=None):
    """``path`` as a Path to a file that can be written (its folder created); else one ConfigError line.

    ``suffixes``: the accepted endings (lower case, with the dot), which name the file's format.
    """
    path = check_path(option, path)
    if path.is_dir():
        raise ConfigError(f"{option} {path}: is a folder; give a file name, e.g. {path / 'out.png'}")
    if suffixes is not None and path.suffix.lower() not in suffixes:
        raise ConfigError(f"{option} {path}: the name must end in one of {', '.join(sorted(suffixes))} "
                          "(the format is taken from it)")
    check_output_folder(option, path.parent)
    if path.exists() and not os.access(path, os.W_OK):
        raise ConfigError(f"{option} {path}: the file exists and cannot be overwritten; choose another name")
    return path


# -- validate-only mode ------------------------------------------------------------------------
class ValidatedOnly(Exception):
    """Raised by ``ready`` in validate-only mode: the command's options are checked; no work is done."""


def ready():
    """Mark the end of a command's checks: in validate-only mode (``MINICNN_VALIDATE_ONLY=1``) stop here.

    Every command calls it after checking all it was given and before it
    loads data or a model, trains or writes; ``minicnn.commands.main``
    answers the ``ValidatedOnly`` it raises with exit status 0.
    """
    if os.environ.get(VALIDATE_ONLY_ENV, "").strip() not in ("", "0"):
        raise ValidatedOnly
