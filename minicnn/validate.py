"""Checks and conversions for user-given values: the one validation module.

Each check returns the value converted (float or int) or raises a
``ConfigError`` (or the error class given) whose one line names the owner, the
argument, the allowed range and the value given, e.g.
``Adam: beta1 must be in [0, 1), got 1.5``.
"""
import math

from .errors import ConfigError


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
    except (TypeError, ValueError):
        raise error(f"{owner}: {name} must be a number, got {value!r}") from None
    if integer and not number.is_integer():
        raise error(f"{owner}: {name} must be a whole number, got {value!r}")
    inside = (number > low if low_open else number >= low) and (number < high if high_open else number <= high)
    if not math.isfinite(number) or not inside:
        bounds = (f"{'(' if low_open or math.isinf(low) else '['}{_show(low)}, "
                  f"{_show(high)}{')' if high_open or math.isinf(high) else ']'}")
        raise error(f"{owner}: {name} must be in {bounds}, got {value!r}")
    return int(number) if integer else number


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
    return f"{bound:g}"


def scalar(value):
    """A Python scalar from a scalar or a 0-d array (how ``numpy.load`` returns a stored scalar)."""
    return value.item() if getattr(value, "ndim", None) == 0 else value
