"""The ``minicnn`` command: one module in this package per sub-command.

Each module ``minicnn/commands/<name>.py`` defines ``add_cli(subparsers)``,
which adds the sub-command's parser and sets ``func`` (called with the parsed
arguments, returning an exit code or None). The work itself happens in the
library (the run pipeline ``minicnn.pipeline``, ``minicnn.apps``,
``minicnn.sweep``, ...); ``options.py`` holds the options the training
commands share.

Every mistake is answered in one line before any work starts, never with a
traceback: an option value argparse refuses (its ``type=`` checks from
``minicnn.validate``) exits with status 2 (``minicnn train: error: argument
--epochs: must be in [1, inf), got '0'``); a mistake found by a command's own
checks, or later (``MiniCNNError``), with status 1. Each command checks
everything it was given, then calls ``minicnn.validate.ready()`` before any
work: with ``MINICNN_VALIDATE_ONLY=1`` it stops there (status 0). Warnings
meant for the user (a cache entry rebuilt, a stale run lock taken over) print
as one line, ``minicnn <command>: note: ...``.
"""
import argparse
import contextlib
import importlib
import sys
import warnings

from ..errors import MiniCNNError
from ..validate import ValidatedOnly

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


class Parser(argparse.ArgumentParser):
    """argparse with its errors on one line (no usage block): ``minicnn train: error: ...``, status 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser():
    parser = Parser(
        prog="minicnn", description="A from-scratch CNN engine and the FER-2013 paper experiments.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"{__name__}.{name}").add_cli(sub)
    return parser


@contextlib.contextmanager
def one_line_warnings(command):
    """Inside the block every warning prints as one line on stderr: ``minicnn <command>: note: ...``."""
    def show(message, category, filename, lineno, file=None, line=None):
        kind = "" if issubclass(category, UserWarning) else f"{category.__name__}: "
        text = " ".join(str(message).split())
        print(f"minicnn {command}: note: {kind}{text}", file=sys.stderr if file is None else file, flush=True)

    with warnings.catch_warnings():
        warnings.showwarning = show
        yield


def main(argv=None):
    """Run the command ``argv`` (default ``sys.argv[1:]``); returns the exit status (see the module docstring)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as done:          # --help, or a value argparse refused (one line, see Parser)
        return done.code or 0
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    with one_line_warnings(args.command):
        try:
            code = args.func(args)
        except ValidatedOnly:
            print(f"minicnn {args.command}: the options are valid (validate-only mode: nothing was done)")
            return 0
        except MiniCNNError as exc:
            print(f"minicnn {args.command}: error: {exc}", file=sys.stderr)
            return 1
        except MemoryError as exc:      # the pre-flight checks did not foresee it: still one line
            print(f"minicnn {args.command}: error: out of memory ({exc or 'an allocation failed'}); "
                  "use a smaller batch, model or data set", file=sys.stderr)
            return 1
        except OSError as exc:          # the machine refused a read or write the checks could not foresee
            print(f"minicnn {args.command}: error: {exc}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print(f"minicnn {args.command}: interrupted", file=sys.stderr)
            return 130
    return code or 0


if __name__ == "__main__":
    sys.exit(main())
