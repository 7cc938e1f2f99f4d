"""``minicnn export CHECKPOINT OUT.npz``: the eval-only copy of a trained model, for shipping.

    minicnn export runs/deep/best.npz deep-fer2013.npz              float16, about a quarter of the checkpoint
    minicnn export runs/deep/best.npz deep-fer2013.npz --dtype float32

The copy predicts (``minicnn predict OUT.npz photo.jpg``) but cannot resume
training; see ``minicnn.training.export``.
"""
from ..training.export import DTYPES, export_eval_only
from ..validate import check_input_file, check_output_file, ready


def run(args):
    source = check_input_file("checkpoint", args.checkpoint)
    out = check_output_file("out", args.out, (".npz",))
    ready()
    s = export_eval_only(source, out, dtype=args.dtype)
    print(f"{s['path']}: {s['parameters']:,} parameters as {s['dtype']}, {s['bytes'] / 2**20:.1f} MiB "
          f"({s['bytes'] / s['source_bytes']:.0%} of {args.checkpoint}); it predicts, it cannot resume training")


def add_cli(subparsers):
    p = subparsers.add_parser(
        "export", help="an eval-only (float16) copy of a trained model, for shipping",
        description="Write the weights, batchnorm statistics and preprocessing of a checkpoint, without its "
                    "training state, in float16 by default: the file a trained model is shipped as.")
    p.add_argument("checkpoint", help="a minicnn checkpoint (.npz), e.g. runs/deep/best.npz")
    p.add_argument("out", help="the eval-only copy to write (.npz)")
    p.add_argument("--dtype", choices=DTYPES, default="float16", help="stored number type (default float16)")
    p.set_defaults(func=run)
