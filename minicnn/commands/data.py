"""``minicnn data info [PATH]`` and ``minicnn data samples --out FILE.png [--data PATH]``."""
from ..data import DATA_ENV, SYNTHETIC, cache_root, load_dataset, save_sample_grid
from ..validate import Number, check_output_file, check_output_folder, ready, seed
from .options import check_data

MAX_PER_CLASS = 100
"""Most images per class a sample grid shows (one row per class)."""
FIGURE_SUFFIXES = (".png", ".pdf", ".svg", ".jpg", ".jpeg")
"""File endings a sample grid can be written as (the format follows the ending)."""


def add_cli(subparsers):
    parser = subparsers.add_parser("data", help="inspect FER-2013 or the synthetic faces",
                                   description="Inspect a data set: split sizes, class counts, sample images.")
    sub = parser.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    info = sub.add_parser("info", help="split sizes and per-class counts")
    info.add_argument("path", nargs="?", help=f"FER-2013 CSV, zip or folder (default ${DATA_ENV}); "
                                              "'synthetic' for the embedded faces")
    info.add_argument("--cache-dir", help="parsed-array cache folder (default $MINICNN_CACHE_DIR or ~/.cache/minicnn)")
    info.set_defaults(func=_info)
    samples = sub.add_parser("samples", help="write a PNG grid of sample images per class")
    samples.add_argument("--out", required=True, help="PNG file to write")
    samples.add_argument("--data", default="synthetic", help="FER-2013 path, or 'synthetic' (default)")
    samples.add_argument("--per-class", type=Number(1, MAX_PER_CLASS, integer=True), default=8,
                         help=f"images per class, 1 to {MAX_PER_CLASS} (default 8)")
    samples.add_argument("--seed", type=seed, default=0, help="which images are picked (default 0)")
    samples.add_argument("--cache-dir", help="parsed-array cache folder")
    samples.set_defaults(func=_samples)


def _check_cache(args):
    """The --cache-dir folder, when given, must take files (the cache is written there)."""
    if args.cache_dir is not None:
        check_output_folder("--cache-dir", args.cache_dir)


def _info(args):
    check_data(args.path)
    _check_cache(args)
    ready()
    dataset = load_dataset(args.path, cache_dir=args.cache_dir)
    print(dataset.summary())
    if args.path != SYNTHETIC:
        print(f"cache: {cache_root(args.cache_dir)}" + (" (read from the cache)" if dataset.from_cache else ""))


def _samples(args):
    check_data(args.data)
    _check_cache(args)
    check_output_file("--out", args.out, FIGURE_SUFFIXES)
    ready()
    dataset = None if args.data == SYNTHETIC else load_dataset(args.data, cache_dir=args.cache_dir)
    print(save_sample_grid(args.out, dataset, per_class=args.per_class, seed=args.seed))
