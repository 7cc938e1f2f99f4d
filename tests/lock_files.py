"""Test helpers for run locks: a lock file as another process would leave it."""
import socket
from pathlib import Path

from minicnn.training.runlock import LOCK_NAME, process_start


def write_lock(folder, pid, host=None, start="auto"):
    """Write ``folder``'s lock as process ``pid`` on ``host`` (default this one) would; ``start`` is the
    process's start time ("auto": read it, "-" or None: unknown)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    start = process_start(pid) if start == "auto" else start
    (folder / LOCK_NAME).write_text(f"{pid} {host or socket.gethostname()} {start or '-'}\n")
