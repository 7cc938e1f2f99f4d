"""FER-2013 and the synthetic default: loading, caching, preprocessing, augmentation.

    from minicnn.data import load_fer2013, load_synthetic, MeanImage
    data = load_fer2013("path/to/fer2013.csv.xz")   # or a folder/zip; or $MINICNN_FER2013
    data.train.images   # uint8 (N, 48, 48);  data.train.labels  int64 (N,)

See docs/data.md.
"""
from .cache import cache_root
from .load import DATA_ENV, load_fer2013, resolve_source
from .splits import CLASS_NAMES, IMAGE_SHAPE, N_CLASSES, FERDataset, Split
from .synthetic import load_synthetic, save_sample_grid

Dataset = FERDataset

__all__ = ["CLASS_NAMES", "DATA_ENV", "Dataset", "FERDataset", "IMAGE_SHAPE", "N_CLASSES", "Split",
           "cache_root", "load_fer2013", "load_synthetic", "resolve_source", "save_sample_grid"]
