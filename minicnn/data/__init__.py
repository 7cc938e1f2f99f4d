"""FER-2013 and the synthetic default: loading, caching, preprocessing, augmentation.

    from minicnn.data import load_fer2013, load_synthetic, MeanImage
    data = load_fer2013("path/to/fer2013.csv.xz")   # or a folder/zip; or $MINICNN_FER2013
    data = load_dataset("synthetic")                # the embedded faces, or any FER-2013 path
    data.train.images   # uint8 (N, 48, 48);  data.train.labels  int64 (N,)

See docs/data.md.
"""
from .augment import Augmenter
from .balance import balanced_indices, class_weights
from .cache import cache_root
from .load import DATA_ENV, SYNTHETIC, describe_file, load_dataset, load_fer2013, resolve_source
from .preprocess import MeanImage, flip_double
from .splits import CLASS_NAMES, IMAGE_SHAPE, N_CLASSES, FERDataset, Split, fingerprint
from .synthetic import load_synthetic, save_sample_grid

Dataset = FERDataset

__all__ = ["Augmenter", "CLASS_NAMES", "DATA_ENV", "Dataset", "FERDataset", "IMAGE_SHAPE", "MeanImage",
           "N_CLASSES", "SYNTHETIC", "Split", "balanced_indices", "cache_root", "class_weights", "describe_file",
           "fingerprint", "flip_double", "load_dataset", "load_fer2013", "load_synthetic", "resolve_source",
           "save_sample_grid"]
