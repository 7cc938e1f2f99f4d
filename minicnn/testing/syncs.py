"""Host synchronisations seen by the strict backend: counted per call site, or made to fail.

On a GPU two kinds of operation make the host wait for every queued kernel:

* a host read: ``float(x)``, ``int(x)``, ``bool(x)``, ``x.item()``,
  ``x.get()``, ``backend.to_numpy(x)``, formatting a device value;
* an operation whose output size depends on the data (boolean-mask indexing,
  ``nonzero``, ``unique``, ``argwhere``, ...): CuPy must read the size
  before it can allocate the result.

The strict backend (``minicnn.testing.strict``) reports each one here with
its kind and its call site, the first frame outside the strict backend and
``minicnn/backend.py`` (so a ``to_numpy`` is charged to its caller)::

    with count_syncs() as log:
        trainer.train()
    assert log.total() <= 3, log.report()

In "raise" mode every such event raises ``HostSyncError`` at once, which
points at the line that would stall a GPU: ``with forbid_syncs(): ...`` or
``MINICNN_STRICT_SYNCS=raise`` for a whole process. Printing a device array
(``repr``/``str``) is counted but never raises, so error messages and
debuggers keep working.
"""
import contextlib
import functools
import os
import sys
from collections import Counter
from pathlib import Path

from ..errors import ConfigError

MODES = ("count", "raise")
_PACKAGE_ROOT = Path(__file__).resolve().parents[2]
_HERE = Path(__file__).resolve()
_SKIPPED = {str(_HERE), str(_HERE.with_name("strict.py")), str(_HERE.with_name("strict_random.py")),
            str(_HERE.parents[1] / "backend.py")}
"""Frames charged to their caller: the strict backend itself and minicnn/backend.py (to_numpy)."""


class HostSyncError(RuntimeError):
    """A host synchronisation happened on the strict backend while they were forbidden."""


class SyncLog:
    """Host synchronisations counted by ``(site, kind)``; ``site`` is "path:line in function"."""

    def __init__(self):
        self.counts = Counter()

    def add(self, site, kind):
        self.counts[(site, kind)] += 1

    def total(self, kind=None):
        """Number of synchronisations (of ``kind`` only, if given)."""
        return sum(n for (_, k), n in self.counts.items() if kind is None or k == kind)

    def at(self, text):
        """Number of synchronisations whose call site contains ``text`` (e.g. "trainer.py")."""
        return sum(n for (site, _), n in self.counts.items() if text in site)

    def report(self):
        """One line per call site and kind, most frequent first."""
        if not self.counts:
            return "no host synchronisations"
        return "\n".join(f"{n:5d} x {kind:<14} {site}" for (site, kind), n in self.counts.most_common())


_logs = []
_mode = os.environ.get("MINICNN_STRICT_SYNCS", "count").strip().lower() or "count"
if _mode not in MODES:
    raise ConfigError(f"MINICNN_STRICT_SYNCS must be one of {', '.join(MODES)}, got {_mode!r}")


def record(kind, exempt=False):
    """Report one synchronisation of ``kind`` from the caller's call site (strict backend only).

    ``exempt``: counted but never raised (printing an array).
    """
    if not _logs and (_mode != "raise" or exempt):
        return
    site = call_site()
    for log in _logs:
        log.add(site, kind)
    if _mode == "raise" and not exempt:
        raise HostSyncError(f"host synchronisation ({kind}) at {site}: a GPU would wait here for every queued "
                            "kernel (strict backend, sync mode 'raise')")


def call_site():
    """"path:line in function" of the first frame outside the strict backend and minicnn/backend.py."""
    frame = sys._getframe(1)
    while frame is not None and _skipped(frame.f_code.co_filename):
        frame = frame.f_back
    if frame is None:
        return "?"
    path = Path(frame.f_code.co_filename)
    try:
        path = path.resolve().relative_to(_PACKAGE_ROOT)
    except ValueError:
        pass
    return f"{path.as_posix()}:{frame.f_lineno} in {frame.f_code.co_name}"


@functools.lru_cache(maxsize=None)
def _skipped(filename):
    return str(Path(filename).resolve()) in _SKIPPED


@contextlib.contextmanager
def count_syncs():
    """Count the synchronisations inside the ``with`` block into a fresh ``SyncLog`` (nests)."""
    log = SyncLog()
    _logs.append(log)
    try:
        yield log
    finally:
        _logs.remove(log)


@contextlib.contextmanager
def sync_mode(mode):
    """Inside the block, synchronisations are counted ("count") or raise ``HostSyncError`` ("raise")."""
    global _mode
    if mode not in MODES:
        raise ConfigError(f"sync mode must be one of {', '.join(MODES)}, got {mode!r}")
    previous, _mode = _mode, mode
    try:
        yield
    finally:
        _mode = previous


def forbid_syncs():
    """``with forbid_syncs():`` any host synchronisation on the strict backend raises ``HostSyncError``."""
    return sync_mode("raise")


def current_mode():
    return _mode
