"""minicnn: a convolutional-network engine written from scratch in NumPy.

The same code runs on CuPy GPU arrays (see ``minicnn.backend``). Layers are
pure ``forward -> (out, cache)`` / ``backward(dout, cache)`` function pairs in
``minicnn.layers``; ``minicnn.gradcheck`` checks anyone's backward pass.
"""
from .errors import MiniCNNError

__version__ = "0.1.0"
__all__ = ["MiniCNNError", "__version__"]
