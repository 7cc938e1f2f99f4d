"""``minicnn gradcheck``: check the built-in layers, or your own.

    minicnn gradcheck                         every built-in layer
    minicnn gradcheck mypkg.mymodule:my_layer a user's layer

TARGET names ``module:attribute`` (importable from the current directory or
PYTHONPATH). The attribute is a ``minicnn.gradcheck.GradcheckCase``, a list of
them, or a function of no arguments returning either. Any object with
``forward``, ``backward`` and ``inputs`` attributes (optionally ``config``,
``grad_names``, ``tol``, ``h``) is accepted as a case too.
Prints one table per case; the exit status is 1 if any case fails.
"""
import argparse
import importlib
import inspect
import sys

from ..backend import NAMES, get_backend, set_backend
from ..errors import ConfigError
from ..gradcheck import GradcheckCase
from ..validate import positive_int, positive_number, ready, seed


def load_target(target):
    """The GradcheckCases named by ``module:attribute`` (see the module docstring)."""
    module_name, _, attr = target.partition(":")
    if not module_name or not attr:
        raise ConfigError(f"gradcheck target {target!r} must look like package.module:name")
    sys.path.insert(0, "")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"gradcheck target {target!r}: cannot import {module_name} ({exc})") from exc
    finally:
        sys.path.remove("")
    if not hasattr(module, attr):
        raise ConfigError(f"gradcheck target {target!r}: module {module_name} has no {attr!r}")
    found = getattr(module, attr)
    if callable(found) and not _is_case(found):
        try:
            inspect.signature(found).bind()
        except (TypeError, ValueError):
            raise ConfigError(f"gradcheck target {target!r}: {attr} takes arguments; name a case, a list of "
                              "cases, or a function of no arguments that returns them") from None
        found = found()
    items = found if isinstance(found, (list, tuple)) else [found]
    return [_as_case(item, f"{target}[{i}]" if len(items) > 1 else target) for i, item in enumerate(items)]


def _is_case(obj):
    return isinstance(obj, GradcheckCase) or all(hasattr(obj, a) for a in ("forward", "backward", "inputs"))


def _as_case(obj, label):
    if isinstance(obj, GradcheckCase):
        return obj
    if not _is_case(obj):
        raise ConfigError(f"gradcheck target {label}: expected a GradcheckCase or an object with "
                          "forward, backward and inputs attributes")
    defaults = GradcheckCase(label, None)
    return GradcheckCase(getattr(obj, "name", label), obj.inputs, obj.forward, obj.backward,
                         config=getattr(obj, "config", None),
                         grad_names=getattr(obj, "grad_names", None),
                         tol=getattr(obj, "tol", defaults.tol), h=getattr(obj, "h", defaults.h))


def run(args):
    if args.backend:
        set_backend(args.backend)
    xp = get_backend()
    if args.targets:
        cases = [case for target in args.targets for case in load_target(target)]
    else:
        from ..registry import builtin_cases
        cases = builtin_cases(args.seed)
    ready()
    failed = []
    for case in cases:
        report = case.run(xp, seed=args.seed, max_elements=args.max_elements, tol=args.tol)
        print(report, end="\n\n")
        if not report.passed:
            failed.append(case.name)
    print(f"{len(cases) - len(failed)} of {len(cases)} cases passed"
          + (f"; FAILED: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


def add_cli(subparsers):
    p = subparsers.add_parser(
        "gradcheck", help="check backward passes against numerical gradients",
        description="Check backward passes against centred-difference gradients (float64): "
                    "every built-in layer, or the layers named by TARGET. Exit status 1 if any fails.",
        epilog=__doc__.split("\n\n", 2)[2] + "\nSee docs/gradcheck.md.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("targets", nargs="*", metavar="TARGET",
                   help="module:attribute of a GradcheckCase (default: every built-in layer)")
    p.add_argument("--backend", choices=NAMES, help="array backend (default: MINICNN_BACKEND)")
    p.add_argument("--max-elements", type=positive_int, default=None,
                   help="check a random subset of at most this many elements per array")
    p.add_argument("--tol", type=positive_number, default=None, help="relative-error threshold (default: per case, 1e-7)")
    p.add_argument("--seed", type=seed, default=0, help="seed of inputs, upstream gradients and subsets")
    p.set_defaults(func=run)
