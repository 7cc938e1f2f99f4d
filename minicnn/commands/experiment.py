"""``minicnn experiment MODEL ...``: the paper's experiments through the minicnn command.

The runner lives in the repository's ``experiments/`` package (beside
``minicnn/``, not installed with it), so this sub-command works from the
repository root (or with it on PYTHONPATH); elsewhere it says so.
"""
import argparse

from ..errors import ConfigError


def add_cli(subparsers):
    try:
        from experiments.run import add_cli as add_experiment_cli
    except ModuleNotFoundError as exc:
        if exc.name != "experiments":
            raise
        parser = subparsers.add_parser(
            "experiment", help="run one of the paper's experiments (needs the repository's experiments/)")
        parser.add_argument("args", nargs=argparse.REMAINDER)
        parser.set_defaults(func=_missing)
        return
    add_experiment_cli(subparsers)


def _missing(args):
    raise ConfigError("the experiments/ package is not importable: run `minicnn experiment` from the minicnn "
                      "repository root (or put it on PYTHONPATH), or use `python -m experiments.run`")
