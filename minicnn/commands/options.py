"""The options every training command shares (train, demo, experiment) and its closing summary.

Each front end adds these to its parser, turns them into a run plan with
``plan_from_args`` and hands the plan to ``minicnn.pipeline.run.run``; so the
same option means the same thing, with the same default, everywhere.
"""
from .. import backend
from ..data import CLASS_NAMES, SYNTHETIC, resolve_source
from ..pipeline.config import FLIP_MODES, QUICK, plan_run
from ..pipeline.outputs import pct
from ..validate import Number, nonnegative_int, positive_int, positive_number, seed

MAX_CONV_MEMORY_MIB = 2**20
"""Largest --conv-memory-mib: 1 TiB of convolution scratch, beyond any machine's memory."""
MAX_THREADS = 256
"""Largest --threads: more worker threads than any host has cores."""


def add_run_options(p):
    """--epochs, --subset, --flips, --quick, --recalibrate, --time-budget, --seed, --keep-epochs, --backend,
    --quiet, --conv-memory-mib, --threads."""
    p.add_argument("--epochs", type=positive_int, help="train this many epochs (default the paper's: shallow 30, deep 35; "
                                              "fewer makes a REDUCED run)")
    p.add_argument("--subset", type=positive_int, help="train on a stratified subset of N training images (REDUCED)")
    p.add_argument("--flips", choices=FLIP_MODES,
                   help="mirror images: random (default, the paper's protocol): each training image mirrored "
                        "with probability 1/2, drawn per epoch; double: each epoch over the images and all "
                        "their mirror images; none. Hybrids take the HOG of each mirrored image")
    p.add_argument("--quick", action="store_true",
                   help=f"smoke run: {QUICK['train']}/{QUICK['val']}/{QUICK['test']} train/val/test images, "
                        f"{QUICK['epochs']} epoch (never a result to report)")
    p.add_argument("--recalibrate", type=nonnegative_int, metavar="N",
                   help="re-estimate batch-norm statistics from N training images with dropout off after "
                        "every epoch (0: off; default: 4096 when a dropout feeds a batch norm)")
    p.add_argument("--time-budget", type=positive_number, metavar="SECONDS",
                   help="stop training cleanly (checkpoint saved) once SECONDS of wall time have passed; the "
                        "best epoch so far is evaluated and the run is reported REDUCED")
    p.add_argument("--seed", type=seed, help="one seed for init, shuffling, flips, dropout, augmentation "
                                             "(0 to 2**32-1; default the config's: 0)")
    p.add_argument("--keep-epochs", action="store_true",
                   help="after every epoch also write an eval-only float16 copy of the model to "
                        "epochs/epochNNN.npz beside the checkpoints (the deep model: 9 MB each), for "
                        "`minicnn explain --what epochs --run-dir`")
    p.add_argument("--backend", choices=backend.NAMES,
                   help="array backend (default: the current one, $MINICNN_BACKEND or numpy)")
    p.add_argument("--quiet", action="store_true", help="no progress bars or per-epoch lines")
    p.add_argument("--conv-memory-mib", type=Number(1, MAX_CONV_MEMORY_MIB, integer=True), metavar="N",
                   help="scratch memory one convolution may hold, in MiB: larger batches are worked through in "
                        "chunks that fit (default 1/16 of the free memory, 32 to 256 MiB on the host; docs/speed.md)")
    p.add_argument("--threads", type=Number(1, MAX_THREADS, integer=True), metavar="N",
                   help="worker threads for NumPy work (default one per core where the BLAS can be told to run "
                        "single-threaded; 1: no threads; docs/speed.md)")
    return p


def run_settings(args):
    """The ``run`` keywords of the options that add outputs without changing the run: --keep-epochs."""
    return {"keep_epochs": args.keep_epochs}


def machine_settings(args):
    """The ``run`` keywords of the options that change where and how fast a run computes, not what:
    the backend, the convolution memory budget and the host threads."""
    return {"backend_name": args.backend, "host_threads": args.threads,
            "conv_memory_bytes": None if args.conv_memory_mib is None else args.conv_memory_mib * 2**20}


def check_data(data):
    """``--data`` after checking it names data that exists: "synthetic", a FER-2013 path, or None for
    $MINICNN_FER2013 (DataError, one line, otherwise; nothing is read yet)."""
    if data != SYNTHETIC:
        resolve_source(data)
    return data


def plan_from_args(config, args, reference=None):
    """The run plan of ``config`` with the shared options of ``args`` applied (see ``add_run_options``)."""
    config = dict(config, train=dict(config["train"]))
    if args.recalibrate is not None:
        config["train"]["recalibrate"] = args.recalibrate
    if args.time_budget is not None:
        config["train"]["time_budget"] = args.time_budget
    if args.seed is not None:
        config["seed"] = args.seed
    return plan_run(config, reference, epochs=args.epochs, subset=args.subset, flips=args.flips, quick=args.quick)


def log_for(args, prefix=""):
    """The pipeline's progress lines go to stdout unless --quiet."""
    return None if args.quiet else (lambda line: print(prefix + line, flush=True))


def print_summary(result, checkpoint_dir=None):
    """A few lines on a finished run: accuracies, protocol, per-class test accuracy, the files written."""
    m = result.metrics
    print(f"\n{m['model']}: validation accuracy {pct(m['val']['accuracy'])}, test accuracy "
          f"{pct(m['test']['accuracy'])} (best epoch {m['best_epoch']} of {m['epochs_run']})"
          + (" — REDUCED: " + "; ".join(m["reductions"]) if m["reduced"] else ""))
    per_class = m["test"]["per_class_accuracy"]
    print("per-class test accuracy: " + ", ".join(
        f"{c} {pct(per_class[c], 0)}" for c in CLASS_NAMES if per_class.get(c) is not None))
    where = "" if checkpoint_dir is None or str(checkpoint_dir) == str(result.folder) else f" (checkpoints in {checkpoint_dir})"
    print(f"wrote {result.folder}/: metrics.json per_class.md curves.png confusion.png"
          + (" last.npz best.npz" if not where else where))
