"""``minicnn experiment MODEL`` (and ``python -m experiments.run MODEL``): one of the paper's experiments.

    minicnn experiment shallow --data PATH                  # the paper's protocol
    minicnn experiment shallow_hog --data PATH --epochs 4   # REDUCED
    minicnn experiment shallow --data synthetic --quick     # smoke test on the embedded faces

The run pipeline (``minicnn.pipeline.run``) with the experiments' folders:
checkpoints every epoch in ``<checkpoints>/<model>-<run-id>/`` (``--resume``
continues from ``last.npz``), and ``<out>/<model>-<run-id>/`` with
metrics.json, per_class.md, curves.png and confusion.png of the epoch with the
best validation accuracy. The run id names the protocol (``full``, ``quick``,
``reduced-e4-random``, ...) unless ``--run-id`` is given.
"""

from ..pipeline.config import MODEL_NAMES, default_run_id, load_config
from ..pipeline.run import check_run, run
from ..validate import check_output_folder, check_path, folder_name, ready
from .options import (add_run_options, check_data, log_for, machine_settings, plan_from_args, print_summary,
                      run_settings)


def add_arguments(parser):
    """The experiment's options (shared by ``minicnn experiment`` and ``python -m experiments.run``)."""
    parser.add_argument("model", metavar="MODEL",
                        help=f"a paper model ({', '.join(MODEL_NAMES)}) or the path of a run config "
                             ".json, e.g. the best_config.json a sweep wrote")
    parser.add_argument("--data", default=None,
                        help="FER-2013: the CSV (.csv/.gz/.xz), the images .zip or their folder; 'synthetic' "
                             "for the embedded faces (default: $MINICNN_FER2013)")
    add_run_options(parser)
    parser.add_argument("--resume", action="store_true", help="continue the run from its last checkpoint")
    parser.add_argument("--out", default="results", help="results folder (default: results)")
    parser.add_argument("--checkpoints", default="checkpoints",
                        help="checkpoint folder, git-ignored (default: checkpoints)")
    parser.add_argument("--run-id", type=folder_name, default=None,
                        help="name of the run (default: from the protocol, e.g. full, quick, reduced-e5-random)")
    return parser


def run_experiment(args):
    """Check, plan and run the experiment the arguments name; returns the pipeline's RunResult."""
    plan = plan_from_args(load_config(args.model), args)
    run_id = args.run_id or default_run_id(plan)
    data = check_data(args.data)
    name = f"{plan['name']}-{run_id}"
    out_dir, checkpoint_dir = (check_path(option, folder) / name for option, folder in
                               (("--out", args.out), ("--checkpoints", args.checkpoints)))
    check_run(plan, out_dir, checkpoint_dir, resume=args.resume)
    out_dir, checkpoint_dir = (check_output_folder(option, folder) for option, folder in
                               (("--out", out_dir), ("--checkpoints", checkpoint_dir)))
    ready()
    result = run(plan, data, out_dir=out_dir, checkpoint_dir=checkpoint_dir, run_id=run_id,
                 resume=args.resume, **machine_settings(args), **run_settings(args), quiet=args.quiet,
                 log=log_for(args, f"[{name}] "))
    if not args.quiet:
        print_summary(result, checkpoint_dir)
    return result


def _command(args):
    run_experiment(args)
    return 0


def add_cli(subparsers):
    parser = subparsers.add_parser("experiment", help="run one of the paper's experiments (results/<model>-<run>/)",
                                   description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    parser.set_defaults(func=_command)
