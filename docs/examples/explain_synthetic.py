"""Make the example figures of docs/explain.md from the synthetic faces (no FER-2013 needed).

Trains two small models briefly on the embedded synthetic set -- model A with
one checkpoint per epoch, so the maps-through-training figure has epochs to
show -- then runs ``minicnn explain`` on A, ``minicnn ensemble`` on A and B,
and ``minicnn predict`` on scikit-image's astronaut photo.

    python docs/examples/explain_synthetic.py [OUT]     (default runs/explain-example)

On a laptop CPU this takes several minutes; everything is seeded.
"""
import sys
from pathlib import Path

from PIL import Image
from skimage import data as skdata

from minicnn.commands import main
from minicnn.data import load_synthetic
from minicnn.data.preprocess import MeanImage
from minicnn.models import build_model
from minicnn.training import Trainer


def train(out, spec, dataset, mean, epochs, seed):
    """Train ``spec`` on the synthetic set, saving ``epoch<n>.npz`` after each epoch and ``last.npz``."""
    model = build_model(spec)
    X = mean.transform(dataset.train.images)
    val = (mean.transform(dataset.val.images), dataset.val.labels)
    trainer = Trainer(model, (X, dataset.train.labels), val, optimizer="adam", lr=2e-3, epochs=epochs,
                      batch_size=64, seed=seed, flip=True, out_dir=str(out), preprocess=mean.to_dict(),
                      callbacks=[lambda t, record: t.save(out / f"epoch{t.epoch}.npz")])
    trainer.train()
    return out / f"epoch{epochs}.npz"


def run(out):
    dataset = load_synthetic(n_train=3000, n_val=700, n_test=700, seed=0)
    mean = MeanImage().fit(dataset.train.images)
    a = train(out / "a", "c16k3-bn c32k3-bn-p2 | f64-bn-d0.3", dataset, mean, epochs=6, seed=0)
    b = train(out / "b", "c16k5-bn-p2 c32k3-bn-p2 | f64-bn-d0.3", dataset, mean, epochs=4, seed=1)
    main(["explain", str(a), "--data", "synthetic", "--out", str(out / "explain"), "--face", "5"])
    main(["ensemble", str(a), str(b), "--data", "synthetic", "--out", str(out / "ensemble")])
    photo = out / "astronaut.jpg"
    Image.fromarray(skdata.astronaut()).save(photo, quality=92)
    main(["predict", str(a), str(photo), "--annotate", str(out / "astronaut_annotated.png")])


if __name__ == "__main__":
    run(Path(sys.argv[1] if len(sys.argv) > 1 else "runs/explain-example"))
