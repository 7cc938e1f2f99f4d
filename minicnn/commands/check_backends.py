"""``minicnn check-backends``: the backend equivalence table of every registered layer kind.

    minicnn check-backends                          every kind, every backend that works here
    minicnn check-backends --kinds conv,maxpool --backends numpy,strict

Each row is a kind's fast path or its readable reference; each column a
backend and a dtype; each cell the largest relative difference from the
reference on NumPy in float64. The exit status is 1 if any cell is out of
tolerance. See docs/gradcheck.md.
"""
import argparse

from .. import backend, registry
from ..equivalence import CANDIDATES, check_backends
from ..validate import ready, seed


def _names(text):
    return None if text is None else [t.strip() for t in text.split(",") if t.strip()]


def run(args):
    kinds, backends = _names(args.kinds), _names(args.backends)
    for kind in kinds or ():
        registry.get(kind)                   # an unknown kind: one line naming the known ones
    for name in backends or ():
        backend._module_for(name)            # an unknown or unusable backend: one line saying why
    ready()
    table = check_backends(kinds, backends, seed=args.seed)
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
    p.add_argument("--seed", type=seed, default=0, help="seed of the cases' inputs and upstream gradients")
    p.set_defaults(func=run)
