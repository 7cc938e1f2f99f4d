"""``minicnn check-backends``: the backend equivalence table of every registered layer kind.

    minicnn check-backends                          every kind, every backend that works here
    minicnn check-backends --kinds conv,maxpool --backends numpy,strict

Each row is a kind's fast path or its readable reference; each column a
backend and a dtype; each cell the largest relative difference from the
reference on NumPy in float64. The exit status is 1 if any cell is out of
tolerance. See docs/gradcheck.md.
"""
import argparse

from ..equivalence import CANDIDATES, check_backends


def _names(text):
    return None if text is None else [t.strip() for t in text.split(",") if t.strip()]


def run(args):
    table = check_backends(_names(args.kinds), _names(args.backends), seed=args.seed)
    print(table)
    return 0 if table.passed else 1


def add_cli(subparsers):
    p = subparsers.add_parser(
        "check-backends", help="compare every layer's fast path, reference and backends (a table)",
        description=__doc__.split("\n\n")[0].strip("`") + ".",
        epilog=__doc__.split("\n\n", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--kinds", help="comma-separated layer kinds (default: every registered kind)")
    p.add_argument("--backends", help=f"comma-separated backends among {', '.join(CANDIDATES)} "
                                      "(default: every one that works here)")
    p.add_argument("--seed", type=int, default=0, help="seed of the cases' inputs and upstream gradients")
    p.set_defaults(func=run)
