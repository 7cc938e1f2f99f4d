"""The layer library: pure forward/backward function pairs.

Every ``*_forward`` returns ``(out, cache)`` (batchnorm adds the updated
running statistics as a third value); every ``*_backward(dout, cache)``
returns the gradient of each input and parameter in the order of the forward
arguments. All functions run on NumPy and CuPy arrays alike.
"""
from .activation import leaky_relu_backward, leaky_relu_forward, relu_backward, relu_forward
from .affine import affine_backward, affine_forward
from .avgpool import avgpool_backward, avgpool_forward
from .concat import concat_backward, concat_forward
from ._parallel import host_threads, set_host_threads
from .budget import conv_memory_budget, set_conv_memory_budget
from .conv import (col2im, conv_backward, conv_backward_im2col, conv_forward, conv_forward_im2col, conv_method,
                   im2col)
from .conv_naive import conv_backward_naive, conv_forward_naive
from .dropout import dropout_backward, dropout_forward
from .loss import check_label_range, l2_penalty, softmax, softmax_cross_entropy, svm_loss
from .norm import (batchnorm_backward, batchnorm_forward, spatial_batchnorm_backward, 
                   spatial_batchnorm_forward)
from .pool import maxpool_backward, maxpool_forward
from .winograd import winograd_matrices

__all__ = [
    "affine_forward", "affine_backward",
    "relu_forward", "relu_backward", "leaky_relu_forward", "leaky_relu_backward",
    "conv_forward", "conv_backward", "im2col", "col2im",
    "conv_forward_im2col", "conv_backward_im2col", "conv_method", "winograd_matrices",
    "conv_memory_budget", "set_conv_memory_budget", "host_threads", "set_host_threads",
    "conv_forward_naive", "conv_backward_naive",
    "maxpool_forward", "maxpool_backward", "avgpool_forward", "avgpool_backward",
    "batchnorm_forward", "batchnorm_backward",
    "spatial_batchnorm_forward", "spatial_batchnorm_backward",
    "dropout_forward", "dropout_backward",
    "softmax", "softmax_cross_entropy", "svm_loss", "l2_penalty", "check_label_range",
    "concat_forward", "concat_backward",
]
