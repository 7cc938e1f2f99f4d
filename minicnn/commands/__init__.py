"""The ``minicnn`` command: one sub-command per module that owns it.

Each sub-command lives in the module that does its work and registers itself
through a function ``add_cli(subparsers)`` that adds its parser and sets
``func`` (called with the parsed arguments, returning an exit code or None).
User mistakes (``MiniCNNError``) are printed as one line, never a traceback.
"""
import argparse
import importlib
import sys

from ..errors import MiniCNNError

# Modules that contribute sub-commands, in the order `minicnn --help` lists them.
COMMAND_MODULES = [
    "minicnn.commands.train",
    "minicnn.commands.experiment",
    "minicnn.apps.predict",
    "minicnn.apps.explain",
    "minicnn.apps.ensemble",
    "minicnn.commands.sweep",
    "minicnn.commands.gradcheck",
    "minicnn.commands.check_backends",
    "minicnn.commands.trace",
    "minicnn.commands.data",
]


def build_parser():
    parser = argparse.ArgumentParser(
        prog="minicnn", description="A from-scratch CNN engine and the FER-2013 paper experiments.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).add_cli(sub)
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
