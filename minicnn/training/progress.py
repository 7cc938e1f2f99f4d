"""A dependency-free progress bar for long work (epochs, loading, HOG).

On a terminal it redraws one line in place (at most 10 times a second)::

    epoch 3/30:  45%|###########.............| 12928/28709 [00:41<00:50, 315 img/s] loss=1.234 acc=0.45

When the stream is not a terminal (a log file, CI) it never writes carriage
returns: it prints a plain line each time another 10% is done (every 10 s
when the total is unknown), and a final line from ``close()``::

    epoch 3/30: 100%|#########################| 28709/28709 [done in 01:31, 315 img/s] loss=1.1 acc=0.51

Use it as a context manager (``close()`` runs on exit) or through
``progress(iterable)``; ``quiet=True`` prints nothing at all.
"""
import math
import numbers
import sys
import time

from ..validate import check_number

BAR_WIDTH = 25
REDRAW_SECONDS = 0.1        # terminal: at most 10 redraws a second
LOG_FRACTION = 0.1          # not a terminal: one line per 10% done ...
LOG_SECONDS = 10.0          # ... or per 10 s when the total is unknown


class ProgressBar:
    """Progress of ``total`` units of work (``None`` if unknown).

    ``update(n, **postfix)`` adds ``n`` units done and sets values shown after
    the bar (``loss=1.234`` -> "loss=1.234"; floats with 4 significant
    digits); they persist until set again. The line shows the percentage, a
    bar, the count, the elapsed time, the ETA and the rate in ``unit``/s.
    ``stream`` defaults to ``sys.stderr`` at construction time; ``clock`` (a
    seconds counter, ``time.monotonic`` by default) can be replaced in tests.
    """

    def __init__(self, total, desc="", unit="img", quiet=False, stream=None, clock=time.monotonic):
        self.total = None if total is None else check_number("ProgressBar", "total", total, low=0,
                                                             integer=True)
        self.desc = desc
        self.unit = unit
        self.quiet = quiet
        self.stream = sys.stderr if stream is None else stream
        self.clock = clock
        self.n = 0
        self.postfix = {}
        self.closed = False
        self.start = clock()
        self._tty = _is_tty(self.stream)
        self._last_draw = -math.inf
        self._last_log = self.start
        self._logged_steps = 0
        self._width = 0
        if self._tty:
            self._draw(self.start)

    @property
    def elapsed(self):
        """Seconds since the bar was created."""
        return self.clock() - self.start

    def update(self, n=1, **postfix):
        """Record ``n`` more units done and the postfix values; redraw if it is time."""
        self.n += n
        self.postfix.update(postfix)
        if self.quiet or self.closed:
            return
        now = self.clock()
        if self._tty:
            if now - self._last_draw >= REDRAW_SECONDS:
                self._draw(now)
        elif self.total:
            steps = min(int(self.n / self.total / LOG_FRACTION + 1e-9), round(1 / LOG_FRACTION))
            if self._logged_steps < steps and self.n < self.total:
                self._logged_steps = steps
                self._print(self.render(now))
        elif self.total is None and now - self._last_log >= LOG_SECONDS:
            self._last_log = now
            self._print(self.render(now))

    def write(self, message):
        """Print ``message`` on its own line without garbling the bar."""
        if self.quiet:
            return
        if self._tty and not self.closed:
            self.stream.write("\r" + " " * self._width + "\r" + message + "\n")
            self._draw(self.clock())
        else:
            self._print(message)

    def close(self):
        """Print the final line with the total time (once); later calls do nothing."""
        if self.closed:
            return
        self.closed = True
        if self.quiet:
            return
        line = self.render(self.clock(), final=True)
        if self._tty:
            self.stream.write("\r" + line.ljust(self._width) + "\n")
            self.stream.flush()
        else:
            self._print(line)

    def render(self, now, final=False):
        """The status line at time ``now`` (``final``: with the total time instead of the ETA)."""
        elapsed = max(now - self.start, 0.0)
        rate = self.n / elapsed if elapsed > 0 else None
        rate_text = f"{_format_rate(rate)} {self.unit}/s"
        if final:
            timing = f"done in {_format_seconds(elapsed)}, {rate_text}"
        elif self.total is not None and rate:
            timing = f"{_format_seconds(elapsed)}<{_format_seconds(max(self.total - self.n, 0) / rate)}, {rate_text}"
        else:
            timing = f"{_format_seconds(elapsed)}<?, {rate_text}"
        if self.total is None:
            head = f"{self.n} {self.unit}"
        else:
            fraction = min(self.n / self.total, 1.0) if self.total else 1.0
            filled = int(fraction * BAR_WIDTH)
            head = (f"{100 * fraction:3.0f}%|{'#' * filled}{'.' * (BAR_WIDTH - filled)}| "
                    f"{self.n}/{self.total}")
        parts = [f"{self.desc}: {head}" if self.desc else head.lstrip(), f"[{timing}]"]
        parts += [f"{k}={_format_value(v)}" for k, v in self.postfix.items()]
        return " ".join(parts)

    def _draw(self, now):
        line = self.render(now)
        self.stream.write("\r" + line.ljust(self._width))
        self.stream.flush()
        self._width = max(self._width, len(line))
        self._last_draw = now

    def _print(self, line):
        self.stream.write(line + "\n")
        self.stream.flush()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def progress(iterable, total=None, desc="", unit="it", **kwargs):
    """Yield the items of ``iterable`` while a ``ProgressBar`` counts them (one unit each).

    ``total`` defaults to ``len(iterable)`` when it has one; other keyword
    arguments go to ``ProgressBar``. The bar is closed when the loop ends or
    is left early.
    """
    if total is None and hasattr(iterable, "__len__"):
        total = len(iterable)
    with ProgressBar(total, desc=desc, unit=unit, **kwargs) as bar:
        for item in iterable:
            yield item
            bar.update(1)


def _is_tty(stream):
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def _format_seconds(seconds):
    """``MM:SS`` below an hour, ``H:MM:SS`` above."""
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def _format_rate(rate):
    if rate is None:
        return "?"
    if rate >= 100:
        return f"{rate:.0f}"
    return f"{rate:.1f}" if rate >= 10 else f"{rate:.2f}"


def _format_value(value):
    """Numbers that are not integers (Python, NumPy or 0-d arrays) with 4 significant digits."""
    if isinstance(value, (numbers.Integral, str)) or not hasattr(value, "__float__"):
        return str(value)
    return f"{float(value):.4g}"


__all__ = ["ProgressBar", "progress"]
