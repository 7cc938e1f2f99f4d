"""One run per folder: a lock file naming the process that writes the folder.

    with RunLock("runs/shallow"):
        ...train, write checkpoints and outputs...

Entering creates ``runs/shallow/.minicnn-lock`` (and the folder) holding the
owner's process id, host name and process start time. A second run on the
same folder finds the file and is refused in one line (``ResourceError``)
naming the owner's pid. A lock left behind by a process that no longer
exists (killed with SIGKILL, a power cut) is taken over with a warning. A
process is judged alive only on this host, and only when its start time
still matches, so a pid reused after a reboot or in a fresh container does
not keep a folder locked; a lock from another host (a shared file system)
is always respected.

Within one process the lock is re-entrant: a pipeline may hold it around a
whole run while its ``Trainer`` takes it again; the file is removed when the
last holder leaves.
"""
import os
import socket
import warnings
from pathlib import Path

from ..errors import ConfigError, ResourceError

LOCK_NAME = ".minicnn-lock"

_held = {}
"""Resolved lock path -> how many holders in this process."""


def process_start(pid):
    """The start time of process ``pid`` (clock ticks since boot, Linux), or None where unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]        # field 22 of proc(5); the name may hold spaces


def process_alive(pid, start=None):
    """True when process ``pid`` (started at ``start``, when known) still exists on this host."""
    if os.name == "nt":         # no harmless existence probe there: assume alive, never steal
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:     # exists, owned by another user
        pass
    now = process_start(pid)
    return start is None or now is None or now == start


def _identity():
    return {"pid": os.getpid(), "host": socket.gethostname(), "start": process_start(os.getpid())}


def _read(path):
    """The owner recorded in a lock file: {"pid", "host", "start"}, or None if it cannot be parsed."""
    try:
        fields = path.read_text(encoding="utf-8").split()
        return {"pid": int(fields[0]), "host": fields[1], "start": None if fields[2] == "-" else fields[2]}
    except (OSError, ValueError, IndexError):
        return None


class RunLock:
    """The lock of run folder ``folder``; a context manager (``acquire`` / ``release``)."""

    def __init__(self, folder):
        self.folder = Path(folder)
        self.path = self.folder / LOCK_NAME
        self._key = None

    def acquire(self):
        """Create the folder and take its lock; ResourceError if another live run holds it."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"cannot use {self.folder} as a run folder ({exc.strerror}): "
                              "choose another output folder") from None
        key = str(self.path.resolve())
        if _held.get(key):
            _held[key] += 1
            self._key = key
            return self
        me = _identity()
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                self._clear_stale(me)
                continue
            except OSError as exc:
                raise ConfigError(f"cannot write in the run folder {self.folder} ({exc.strerror}): "
                                  "choose another output folder") from None
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(f"{me['pid']} {me['host']} {me['start'] or '-'}\n")
            _held[key] = 1
            self._key = key
            return self
        raise ResourceError(f"{self.folder} is being locked by another run at this moment; try again")

    def _clear_stale(self, me):
        """Remove the lock file if its owner is gone; ResourceError if it is alive (or unknowable)."""
        owner = _read(self.path)
        if owner is not None:
            mine = owner["pid"] == me["pid"] and owner["host"] == me["host"]
            if owner["host"] != me["host"]:
                raise ResourceError(f"{self.folder} is in use by run pid {owner['pid']} on host {owner['host']} "
                                    f"(lock {self.path}): choose another output folder, or delete the lock "
                                    "if that run has ended")
            if not mine and process_alive(owner["pid"], owner["start"]):
                raise ResourceError(f"{self.folder} is in use by another run (pid {owner['pid']}, lock "
                                    f"{self.path}): wait for it to finish or choose another output folder")
        warnings.warn(f"{self.folder}: taking over the lock of a run that ended without releasing it"
                      + (f" (pid {owner['pid']})" if owner else "") + "; its checkpoints are kept", stacklevel=4)
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass

    def release(self):
        """Leave the lock; the file goes when this process's last holder leaves."""
        if self._key is None:
            return
        key, self._key = self._key, None
        _held[key] -= 1
        if _held[key] == 0:
            del _held[key]
            owner = _read(self.path)
            if owner is not None and owner["pid"] == os.getpid():
                self.path.unlink(missing_ok=True)

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()
