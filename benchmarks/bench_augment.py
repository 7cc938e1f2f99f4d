"""Is online augmentation cheap enough? Time one 128-image batch against a shallow-model step.

    PYTHONPATH=. python benchmarks/bench_augment.py [--backend numpy|cupy|strict] [--repeats 20]

The issue's budget: augmenting a batch must cost under 10% of a training step
of the paper's shallow model. Until the layers are merged the step is a
stand-in that is *cheaper* than the real one (so the printed share is an upper
bound): the shallow model's matrix products only (conv1 1->32 and conv2 32->64
3x3 "same" on 48x48 as im2col matmuls, 2x2 pool, affine 36864->512->7), forward
and backward, with the im2col copies. With PyTorch installed the same shapes are
also timed as a real conv/BN/ReLU/dropout step in torch (an even faster oracle).
"""
import argparse
import time

import numpy as np

from minicnn.backend import NAMES, default_rng, to_device, xp_of
from minicnn.data.augment import Augmenter


def best_of(fn, repeats, sync=lambda: None):
    fn()
    sync()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - start)
    return min(times)


def matmul_standin(x):
    """Forward + backward matrix products of the shallow model on batch x (N, 1, 48, 48)."""
    xp = xp_of(x)
    n = x.shape[0]
    w1, w2 = xp.ones((9, 32), x.dtype), xp.ones((288, 64), x.dtype)
    w3, w4 = xp.ones((64 * 24 * 24, 512), x.dtype) * 1e-3, xp.ones((512, 7), x.dtype)

    def im2col(a):  # (N, C, 48, 48) -> (N*48*48, C*9)
        padded = xp.pad(a, ((0, 0), (0, 0), (1, 1), (1, 1)))
        cols = xp.stack([padded[:, :, i:i + 48, j:j + 48] for i in range(3) for j in range(3)], axis=2)
        return cols.transpose(0, 3, 4, 1, 2).reshape(n * 48 * 48, -1)

    c1 = im2col(x)
    h1 = c1 @ w1
    c2 = im2col(h1.reshape(n, 48, 48, 32).transpose(0, 3, 1, 2))
    h2 = (c2 @ w2).reshape(n, 24, 2, 24, 2, 64).max(axis=(2, 4)).reshape(n, -1)
    h3 = h2 @ w3
    s = h3 @ w4
    d3 = s @ w4.T
    g3, d2 = h2.T @ d3, d3 @ w3.T
    d2 = xp.repeat(xp.repeat(d2.reshape(n, 24, 1, 24, 1, 64), 2, axis=2), 2, axis=4).reshape(-1, 64)
    g2, dc2 = c2.T @ d2, d2 @ w2.T
    d1 = dc2.reshape(n * 48 * 48, 32, 9).sum(axis=2)
    g1 = c1.T @ d1
    return g1, g2, g3


def torch_step(batch):
    import torch
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 32, 3, padding=1), torch.nn.BatchNorm2d(32), torch.nn.ReLU(), torch.nn.Dropout(0.2),
        torch.nn.Conv2d(32, 64, 3, padding=1), torch.nn.BatchNorm2d(64), torch.nn.ReLU(), torch.nn.Dropout(0.2),
        torch.nn.MaxPool2d(2), torch.nn.Flatten(), torch.nn.Linear(64 * 24 * 24, 512), torch.nn.BatchNorm1d(512),
        torch.nn.ReLU(), torch.nn.Dropout(0.5), torch.nn.Linear(512, 7))
    opt = torch.optim.SGD(net.parameters(), lr=1e-3, momentum=0.9)
    x, y = torch.from_numpy(batch), torch.zeros(len(batch), dtype=torch.long)

    def step():
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(x), y).backward()
        opt.step()
    return step


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default=None, choices=NAMES,
                        help="array backend (default: the current one, $MINICNN_BACKEND or numpy)")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    from minicnn.backend import backend_name, get_backend, set_backend, synchronize
    xp = set_backend(args.backend) if args.backend else get_backend()
    name = backend_name(xp)
    sync = lambda: synchronize(xp)  # noqa: E731
    host = np.random.default_rng(0).random((args.batch, 1, 48, 48), dtype=np.float32)
    batch = to_device(host, xp)
    augment, rng = Augmenter(), default_rng(0, xp)
    t_aug = best_of(lambda: augment(batch, rng), args.repeats, sync)
    t_step = best_of(lambda: matmul_standin(batch), max(3, args.repeats // 3), sync)
    print(f"backend {name}, batch {args.batch}x1x48x48")
    print(f"augment (flip, shift 0.1, rotation 10, scale 0.1): {t_aug * 1e3:8.2f} ms")
    print(f"shallow step stand-in (its matmuls, fwd+bwd):      {t_step * 1e3:8.2f} ms"
          f"   augment/step = {100 * t_aug / t_step:.1f}%  (budget < 10%)")
    if name == "numpy":
        try:
            step = torch_step(host)
        except ImportError:
            return
        t_torch = best_of(step, max(3, args.repeats // 3))
        print(f"shallow step in PyTorch CPU (oracle):              {t_torch * 1e3:8.2f} ms"
              f"   augment/step = {100 * t_aug / t_torch:.1f}%")


if __name__ == "__main__":
    main()
