"""Per-trial result files: the sweep's memory, safe against crashes.

Layout of a sweep folder::

    sweeps/NAME/
      sweep.json              what was asked: the spec, the data, the trial list
      trial-<k>/config.json   the trial's full config (written before it runs)
      trial-<k>/metrics.json  what the training run measured (history, accuracy)
      trial-<k>/result.json   the sweep's record: status ok|failed, score, reason
      summary.md / summary.json / summary.png / best_config.json   (report.py)

Every file is written atomically (a temporary file in the same folder, then
``os.replace``), so a crash leaves either the old file or the new one, never
half a file. A trial is *finished* when its ``result.json`` says "ok" and
carries the trial's key (a hash of its config and seed): a re-run of the same
sweep skips it. Failed trials are recorded for the report but run again on a
re-run.
"""
import json
import os
import tempfile
from pathlib import Path

from ..errors import ConfigError


def write_json_atomic(path, obj):
    """Write ``obj`` as indented JSON to ``path`` atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(obj, f, indent=2, sort_keys=False)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_json(path):
    """The JSON in ``path``, or None when it is missing or unreadable (e.g. hand-damaged)."""
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


class TrialStore:
    """The files of one sweep folder (see module docstring)."""

    def __init__(self, root):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def trial_dir(self, index):
        return self.root / f"trial-{index}"

    def check_sweep(self, description):
        """Record what this sweep is (``description``: spec and data) in sweep.json.

        A folder that already holds a different sweep's trials is refused, so
        re-runs only ever skip trials of the same sweep.
        """
        path = self.root / "sweep.json"
        old = read_json(path)
        if old is not None and old.get("identity") != description.get("identity"):
            raise ConfigError(f"{self.root} holds a different sweep (other space, base config, "
                              "method, seed or data): pick another --out, or delete that folder")
        write_json_atomic(path, description)

    def prepare(self, trial):
        """Write trial-<k>/config.json before the trial is submitted."""
        write_json_atomic(self.trial_dir(trial.index) / "config.json", trial.config)

    def finished(self, trial):
        """The ok result of ``trial`` from an earlier run, or None."""
        result = read_json(self.trial_dir(trial.index) / "result.json")
        if result and result.get("key") == trial.key and result.get("status") == "ok":
            return result
        return None

    def record(self, trial, result, metrics=None):
        """Save a finished (or failed) trial: metrics.json first, then result.json."""
        folder = self.trial_dir(trial.index)
        if metrics is not None:
            write_json_atomic(folder / "metrics.json", metrics)
        write_json_atomic(folder / "result.json", result)

    def results(self, trials):
        """The current result.json of each of ``trials`` (None where it has none yet)."""
        out = []
        for trial in trials:
            result = read_json(self.trial_dir(trial.index) / "result.json")
            out.append(result if result and result.get("key") == trial.key else None)
        return out
