"""``python -m experiments.run MODEL ...``: the same as ``minicnn experiment MODEL ...``.

    python -m experiments.run shallow --data PATH                 # the paper's protocol
    python -m experiments.run shallow_hog --data PATH --epochs 4  # REDUCED
    python -m experiments.run shallow --data synthetic --quick    # smoke test on the embedded faces

Everything happens in the installed package (``minicnn.commands.experiment``
over the run pipeline ``minicnn.pipeline.run``); see docs/experiments.md.
"""
import sys

from minicnn.commands import main

if __name__ == "__main__":
    sys.exit(main(["experiment", *sys.argv[1:]]))
