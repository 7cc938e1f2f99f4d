"""``minicnn sweep SWEEP.json --data PATH|synthetic``: a hyper-parameter search on Dask.

See docs/sweep.md. Each trial is one run of the run pipeline, as
``minicnn experiment`` would train it; the sweep folder (default ``sweeps/<name>``) gets one ``trial-<k>/`` per trial and
summary.md / summary.json / summary.png / best_config.json.
"""
import functools
import os

from ..errors import ConfigError
from ..pipeline.config import plan_run
from ..sweep.engine import run_sweep
from ..sweep.spec import load_spec, make_trials
from ..sweep.space import MAX_TRIALS, METHODS
from ..sweep.trial import check_options, resolve_base, train_trial
from ..training.runlock import RunLock
from ..validate import Number, check_output_folder, check_path, positive_int, ready, seed
from .options import check_data


def _run(args):
    spec = load_spec(check_path("SWEEP", args.sweep))
    if args.method is not None:
        spec.method = args.method
    if args.trials is not None:
        spec.trials = args.trials
    if args.seed is not None:
        spec.seed = args.seed
    if args.quick:
        spec.run = {**{k: v for k, v in (spec.run or {}).items() if k not in ("epochs", "subset")}, "quick": True}
    options = check_options(spec.run or {})
    base = resolve_base(spec.base)
    for trial in make_trials(spec, base):              # every trial's run is planned (and so checked) now
        plan_run(dict(trial.config, seed=trial.seed), **options)
    if args.scheduler is not None and args.workers is not None:
        raise ConfigError("--workers sizes a local cluster; a cluster named by --scheduler has its own workers")
    if args.scheduler is not None:                     # on a cluster the data path is the workers'
        check_path("--data", args.data)
    else:
        check_data(args.data)
        if args.workers is not None and args.workers > (os.cpu_count() or 1):
            raise ConfigError(f"--workers {args.workers}: this machine has {os.cpu_count()} cores; a local "
                              "cluster runs at most one worker per core")
    out = check_output_folder("--out", args.out if args.out is not None else f"sweeps/{spec.name}")
    ready()
    with RunLock(out):
        summary = run_sweep(spec, functools.partial(train_trial, **options), args.data, out, base_config=base,
                            scheduler=args.scheduler, workers=args.workers)
    counts, best = summary["counts"], summary["best"]
    print(f"{counts['ok']} of {counts['trials']} trials finished, {counts['failed']} failed; "
          + (f"best: trial-{best['trial']} val_acc {best['val_acc']:.4f} {best['params']}"
             if best else "no finished trial"))
    print(f"wrote {out}/summary.md" + (", summary.png, best_config.json" if best else ""))
    return 0 if best else 1


def add_cli(subparsers):
    parser = subparsers.add_parser(
        "sweep", help="hyper-parameter search (grid/random) on a local or remote Dask cluster",
        description="Grid or random hyper-parameter search; each trial is a training run like "
                    "`minicnn experiment` (docs/sweep.md).")
    parser.add_argument("sweep", help="the sweep file: base config, run options and search space (JSON)")
    parser.add_argument("--data", required=True,
                        help="FER-2013 (the CSV, the images .zip or their folder) or 'synthetic'; "
                             "on a cluster the same path must exist on every worker")
    parser.add_argument("--scheduler", default=None,
                        help="address of a running Dask scheduler (tcp://HOST:8786); default: a local "
                             "cluster on this machine")
    parser.add_argument("--workers", type=positive_int, default=None,
                        help="local cluster size (default: one worker per core, or per GPU with "
                             "MINICNN_BACKEND=cupy)")
    parser.add_argument("--out", default=None, help="sweep folder (default: sweeps/<sweep name>)")
    parser.add_argument("--method", choices=METHODS, default=None, help="override the file's method")
    parser.add_argument("--trials", type=Number(1, MAX_TRIALS, integer=True), default=None,
                        help=f"number of random trials (random search; at most {MAX_TRIALS})")
    parser.add_argument("--seed", type=seed, default=None, help="sweep seed (sampling and trial seeds)")
    parser.add_argument("--quick", action="store_true",
                        help="every trial a quick smoke run (a few hundred images, 1 epoch, instead of the file's "
                             "epochs and subset): checks a sweep file and the cluster in minutes")
    parser.set_defaults(func=_run)
