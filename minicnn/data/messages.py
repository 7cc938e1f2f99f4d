"""Progress lines for long data jobs, written to stderr when enabled."""
import sys
import time


class Progress:
    """Prints ``label: done/total`` at most every ``every`` seconds, then a final line.

    The running count is drawn in place (carriage return) on a terminal only;
    a log file gets just the final line.
    """

    def __init__(self, label, total, enabled=True, every=1.0):
        self.label, self.total, self.enabled, self.every = label, total, enabled, every
        self.live = enabled and sys.stderr.isatty()
        self.start = self.last = time.perf_counter()

    def update(self, done):
        now = time.perf_counter()
        if self.live and now - self.last >= self.every:
            self.last = now
            print(f"\r{self.label}: {done}/{self.total}", end="", file=sys.stderr, flush=True)

    def close(self):
        if self.enabled:
            print(f"\r{self.label}: {self.total}/{self.total} in {time.perf_counter() - self.start:.1f} s",
                  file=sys.stderr, flush=True)


def say(message, enabled=True):
    """One progress line on stderr (when ``enabled``)."""
    if enabled:
        print(message, file=sys.stderr, flush=True)
