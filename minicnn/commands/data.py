"""``minicnn data info [PATH]`` and ``minicnn data samples --out FILE.png [--data PATH]``."""
from ..data import DATA_ENV, SYNTHETIC, cache_root, load_dataset, save_sample_grid


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
    samples.add_argument("--per-class", type=int, default=8, help="images per class (default 8)")
    samples.add_argument("--seed", type=int, default=0, help="which images are picked (default 0)")
    samples.add_argument("--cache-dir", help="parsed-array cache folder")
    samples.set_defaults(func=_samples)


def _info(args):
    dataset = load_dataset(args.path, cache_dir=args.cache_dir)
    print(dataset.summary())
    if args.path != SYNTHETIC:
        print(f"cache: {cache_root(args.cache_dir)}" + (" (read from the cache)" if dataset.from_cache else ""))


def _samples(args):
    dataset = None if args.data == SYNTHETIC else load_dataset(args.data, cache_dir=args.cache_dir)
    print(save_sample_grid(args.out, dataset, per_class=args.per_class, seed=args.seed))
