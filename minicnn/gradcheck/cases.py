"""Example cases for every built-in layer: what ``minicnn gradcheck`` checks.

Small random inputs (seeded) in several shapes, strides and paddings, odd
sizes included, so a full run takes a few seconds on a CPU.
"""
import numpy as np

from .. import layers as L
from .check import GradcheckCase


def builtin_cases(seed=0):
    """The list of GradcheckCase objects covering every layer in minicnn.layers."""
    rng = np.random.default_rng(seed)
    normal = rng.standard_normal
    cases = [
        GradcheckCase("affine 4-D input", dict(x=normal((3, 2, 3, 2)), w=normal((12, 5)), b=normal(5)),
                      L.affine_forward, L.affine_backward),
        GradcheckCase("relu", dict(x=normal((2, 3, 4, 5))), L.relu_forward, L.relu_backward),
        GradcheckCase("leaky_relu alpha=0.1", dict(x=normal((4, 7))), L.leaky_relu_forward,
                      L.leaky_relu_backward, config=dict(alpha=0.1)),
    ]
    for (n, c, h, w), (f, k), stride, pad in [((2, 3, 7, 7), (4, 3), 1, 1),
                                              ((2, 2, 9, 8), (3, 5), 2, 2),
                                              ((1, 2, 8, 7), (2, 3), 3, 0)]:
        inputs = dict(x=normal((n, c, h, w)), w=normal((f, c, k, k)), b=normal(f))
        cases.append(GradcheckCase(f"conv {k}x{k} stride {stride} pad {pad} on {h}x{w}", inputs,
                                   L.conv_forward, L.conv_backward, config=dict(stride=stride, pad=pad)))
    cases.append(GradcheckCase("conv_naive 3x3 stride 2 pad 1",
                               dict(x=normal((2, 2, 5, 6)), w=normal((3, 2, 3, 3)), b=normal(3)),
                               L.conv_forward_naive, L.conv_backward_naive, config=dict(stride=2, pad=1)))
    for shape, size, stride in [((2, 3, 6, 8), 2, 2), ((2, 2, 7, 7), 3, 2), ((1, 2, 5, 6), 2, 1)]:
        cases.append(GradcheckCase(f"maxpool {size}x{size} stride {stride} on {shape[2]}x{shape[3]}",
                                   dict(x=normal(shape)), L.maxpool_forward, L.maxpool_backward,
                                   config=dict(size=size, stride=stride)))
    for train in (True, False):
        mode = "train" if train else "eval"
        stats = dict(running_mean=normal(5) * 0.1, running_var=rng.random(5) + 0.5, train=train)
        cases.append(GradcheckCase(f"batchnorm {mode}",
                                   dict(x=normal((8, 5)) * 2 + 1, gamma=normal(5), beta=normal(5)),
                                   L.batchnorm_forward, L.batchnorm_backward, config=stats))
        stats = dict(running_mean=normal(3) * 0.1, running_var=rng.random(3) + 0.5, train=train)
        cases.append(GradcheckCase(f"spatial_batchnorm {mode}",
                                   dict(x=normal((3, 3, 4, 5)), gamma=normal(3), beta=normal(3)),
                                   L.spatial_batchnorm_forward, L.spatial_batchnorm_backward,
                                   config=stats))
    cases += [
        GradcheckCase("dropout train p=0.3 (fixed mask)", dict(x=normal((4, 3, 5))),
                      L.dropout_forward, L.dropout_backward,
                      config=dict(drop_prob=0.3, train=True, mask=rng.random((4, 3, 5)) >= 0.3)),
        GradcheckCase("dropout eval", dict(x=normal((4, 6))), L.dropout_forward, L.dropout_backward,
                      config=dict(drop_prob=0.5, train=False)),
        GradcheckCase("concat", dict(a=normal((3, 2, 2, 2)), b=normal((3, 4))),
                      L.concat_forward, L.concat_backward),
        GradcheckCase("softmax_cross_entropy", dict(scores=normal((6, 7))), loss=L.softmax_cross_entropy,
                      config=dict(y=rng.integers(0, 7, 6))),
        GradcheckCase("softmax_cross_entropy weighted", dict(scores=normal((6, 7))),
                      loss=L.softmax_cross_entropy,
                      config=dict(y=rng.integers(0, 7, 6), class_weights=rng.random(7) + 0.5)),
        GradcheckCase("svm_loss", dict(scores=normal((6, 7))), loss=L.svm_loss,
                      config=dict(y=rng.integers(0, 7, 6))),
    ]
    return cases
