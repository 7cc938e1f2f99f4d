"""The ``minicnn`` command: one module in this package per sub-command.

Each module ``minicnn/commands/<name>.py`` defines ``add_cli(subparsers)``,
which adds the sub-command's parser and sets ``func`` (called with the parsed
arguments, returning an exit code or None). The work itself happens in the
library (the run pipeline ``minicnn.pipeline``, ``minicnn.apps``,
``minicnn.sweep``, ...); ``options.py`` holds the options the training
commands share. User mistakes (``MiniCNNError``) are printed as one line,
never a traceback.
"""
import argparse
import importlib
import sys

from ..errors import MiniCNNError

# The sub-commands, one module each, in the order `minicnn --help` lists them.
COMMANDS = [
    "train",
    "demo",
    "experiment",
    "predict",
    "export",
    "explain",
    "ensemble",
    "sweep",
    "gradcheck",
    "check_backends",
    "trace",
    "data",
]


def build_parser():
    parser = argparse.ArgumentParser(
        prog="minicnn", description="A from-scratch CNN engine and the FER-2013 paper experiments.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"{__name__}.{name}").add_cli(sub)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        code = args.func(args)
    except MiniCNNError as exc:
        print(f"minicnn {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"minicnn {args.command}: interrupted", file=sys.stderr)
        return 130
    return code or 0


if __name__ == "__main__":
    sys.exit(main())
