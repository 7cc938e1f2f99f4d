"""Progress of long work (epochs, loading): a live bar where someone watches, a few plain lines in logs.

Where it goes depends on the stream (``sys.stderr`` by default):

* a terminal: tqdm's bar, redrawn in place;
* a Jupyter output: ``tqdm.notebook``'s widget where ipywidgets is
  installed, otherwise tqdm's text bar redrawn in place (Jupyter shows it as
  one line);
* anything else (a log file, CI, a pipe): plain lines, never a carriage
  return: one every ``LOG_SECONDS`` while the work lasts and a final one. A
  4-minute FER-2013 epoch writes 5 lines, a 30-second one just the last.

Bars and lines have the same format, tqdm's::

    epoch 3/30:  45%|#########4           | 12928/28709 [00:41<00:50, 315.32img/s, loss=1.234, acc=0.45]

Use it as a context manager (``close()`` runs on exit) or through
``progress(iterable)``; ``quiet=True`` prints nothing at all.

Why tqdm rather than a hand-written bar: the same bar in terminals and
notebooks (a real widget there), terminal widths and messages written above
the bar handled, in one small pure-Python package with no dependencies.
"""
import importlib.util
import numbers
import sys
import time

from ..validate import check_number

LOG_SECONDS = 60.0
"""Not a terminal or notebook: at most one line per LOG_SECONDS before the final one."""

LOG_WIDTH = 100
"""Width of a logged line without its postfix (tqdm sizes the bar to fit)."""


class ProgressBar:
    """Progress of ``total`` units of work (``None`` if unknown).

    ``update(n, **postfix)`` adds ``n`` units done and sets values shown after
    the bar (``loss=1.234`` -> "loss=1.234"; floats with 4 significant
    digits); they persist until set again. ``stream`` defaults to
    ``sys.stderr`` at construction time; ``clock`` (seconds, ``time.monotonic``
    by default) times the logged lines and can be replaced in tests.
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
        self.start = self._last_log = clock()
        self._bar = None if quiet else _live_bar(self.stream, self.total, desc, unit)

    @property
    def elapsed(self):
        """Seconds since the bar was created."""
        return self.clock() - self.start

    def update(self, n=1, **postfix):
        """Record ``n`` more units done and the postfix values; draw or log if it is time."""
        self.n += n
        self.postfix.update(postfix)
        if self.quiet or self.closed:
            return
        if self._bar is not None:
            if postfix:
                self._bar.set_postfix_str(self._postfix_text(), refresh=False)
            self._bar.update(n)
            return
        now = self.clock()
        if now - self._last_log >= LOG_SECONDS and (self.total is None or self.n < self.total):
            self._last_log = now
            self._print(self.render(now))

    def write(self, message):
        """Print ``message`` on its own line without garbling the bar."""
        if self.quiet:
            return
        if self._bar is not None and not self.closed:
            self._bar.write(message, file=self.stream)
        else:
            self._print(message)

    def close(self):
        """Show the final state (once); later calls do nothing."""
        if self.closed:
            return
        self.closed = True
        if self.quiet:
            return
        if self._bar is not None:
            self._bar.close()
        else:
            self._print(self.render(self.clock()))

    def render(self, now):
        """The status line at time ``now``, as logged."""
        from tqdm import tqdm
        return tqdm.format_meter(self.n, self.total, max(now - self.start, 0.0), ncols=LOG_WIDTH,
                                 prefix=self.desc, unit=self.unit, ascii=True, postfix=self._postfix_text())

    def _postfix_text(self):
        return ", ".join(f"{k}={_format_value(v)}" for k, v in self.postfix.items())

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


def _live_bar(stream, total, desc, unit):
    """A tqdm bar on ``stream`` if it is a terminal or a Jupyter output; None for a log."""
    jupyter = type(stream).__module__.split(".")[0] == "ipykernel"
    if jupyter and importlib.util.find_spec("ipywidgets"):
        from tqdm.notebook import tqdm
    elif jupyter or _is_tty(stream):
        from tqdm import tqdm
    else:
        return None
    return tqdm(total=total, desc=desc, unit=unit, file=stream, dynamic_ncols=True, leave=True)


def _is_tty(stream):
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def _format_value(value):
    """Numbers that are not integers (Python, NumPy or 0-d arrays) with 4 significant digits."""
    if isinstance(value, (numbers.Integral, str)) or not hasattr(value, "__float__"):
        return str(value)
    return f"{float(value):.4g}"


__all__ = ["ProgressBar", "progress", "LOG_SECONDS"]
