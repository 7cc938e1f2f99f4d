"""One sweep from start to report: trials, the cluster, the result files.

:func:`run_sweep` ties the small modules together: ``spec`` makes the trials,
``store`` keeps their files, ``runner`` runs them on Dask, ``report`` ranks
them. The trial function is pluggable: ``minicnn.sweep.trial.train_trial``
trains a real model; tests pass cheap fake objectives.
"""
import time
from pathlib import Path

from . import report, runner
from .spec import fingerprint, make_trials
from .store import TrialStore

PLOT_EVERY_S = 30.0
"""While trials finish, summary.png is redrawn at most this often (and once at the end)."""


def sweep_identity(spec, base_config, data):
    """Hash of everything that defines a sweep's trials except their count."""
    dims = [[d.path, d.kind, d.values, d.low, d.high, d.num] for d in spec.dims]
    return fingerprint({"base": base_config, "space": dims, "method": spec.method,
                        "seed": spec.seed, "run": spec.run or {}, "data": data})


def run_sweep(spec, trial_fn, data, out, base_config=None, scheduler=None, workers=None, client=None,
              log=print):
    """Run sweep ``spec`` into folder ``out`` and return its summary dict.

    trial_fn:    ``trial_fn(config, seed, data) -> {"val_acc": float, "val_loss": ..., ...}``,
                 a module-level function (or a functools.partial of one) importable on the workers.
    data:        passed to every trial as is (a path or "synthetic"); part of the
                 sweep's identity.
    base_config: the full config the space's paths address (default ``spec.base``).
    scheduler / workers / client: an existing cluster's address, the size of
                 the local cluster, or an open ``distributed.Client`` to use.
    The returned summary (summary.json's content) adds "this_run": how many
    trials this call skipped as finished, ran ok, and saw fail.
    """
    base_config = spec.base if base_config is None else base_config
    trials = make_trials(spec, base_config)
    store = TrialStore(Path(out))
    store.check_sweep({"identity": sweep_identity(spec, base_config, data), "name": spec.name,
                       "data": data, "run": spec.run or {}, "method": spec.method, "seed": spec.seed,
                       "space": spec.describe_space(), "trials": len(trials)})
    log(f"sweep {spec.name}: {len(trials)} trials ({spec.method}) -> {out}")
    plots = {"on": True, "last": time.monotonic()}

    def refresh(final):
        # The table is rewritten after every trial; the plot at most every PLOT_EVERY_S.
        plot_now = plots["on"] and (final or time.monotonic() - plots["last"] >= PLOT_EVERY_S)
        if plot_now:
            plots["last"] = time.monotonic()
        try:
            return report.write_report(store.root, spec, trials, store.results(trials), with_plot=plot_now)
        except ImportError:  # matplotlib is the viz extra, not the sweep extra
            plots["on"] = False
            log("matplotlib is not installed: no summary.png (pip install -e .[viz])")
            return report.write_report(store.root, spec, trials, store.results(trials), with_plot=False)

    def on_result(_result):
        refresh(final=False)

    if all(store.finished(t) for t in trials):
        log(f"all {len(trials)} trials already finished: nothing to run")
        counts = {"skipped": len(trials), "ok": 0, "failed": 0}
    elif client is not None:
        counts = runner.run_trials(client, trials, trial_fn, store, data, on_result=on_result, log=log)
    else:
        with runner.open_client(scheduler, workers, log=log) as own:
            counts = runner.run_trials(own, trials, trial_fn, store, data, on_result=on_result, log=log)
    summary = refresh(final=True)
    summary["this_run"] = counts
    return summary
