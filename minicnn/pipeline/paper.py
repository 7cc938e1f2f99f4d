"""The numbers the paper reports (and those of an independent TensorFlow re-implementation).

Source: Alizadeh & Fazel, "Convolutional Neural Networks for Facial Expression
Recognition" (CS231n 2016, arXiv:1704.06756), as summarized in PAPER.md. Every
accuracy is a fraction in [0, 1]. ``None`` means the paper gives no number.
Model names are the experiment names: shallow, deep, shallow_hog, deep_hog;
the settings the paper states (rates, L2, epochs, batch size) live once, in
the run configs ``minicnn/pipeline/configs/*.json``.

These are reference values to print beside ours; nothing here is ever written
into a result as if we had measured it.
"""
from .config import MODEL_NAMES

MODELS = MODEL_NAMES
"""The four paper models, in the order tables list them."""

MODEL_TITLES = {"shallow": "shallow CNN", "deep": "deep CNN",
                "shallow_hog": "shallow CNN + HOG", "deep_hog": "deep CNN + HOG"}

PAPER = {
    "shallow": {
        "val": 0.55, "test": 0.54,
        "test_from_confusion": 0.528,   # diagonal of its confusion matrix over PrivateTest
        "per_class_test": {"Angry": 0.41, "Disgust": 0.32, "Fear": 0.54, "Happy": 0.75,
                           "Sad": 0.32, "Surprise": 0.675, "Neutral": 0.399},
        "train_full_epoch": 13,
        "note": "100% training accuracy by epoch ~13",
    },
    "deep": {
        "val": 0.65, "test": 0.64,
        "test_from_confusion": 0.619,
        "val_curve_best": 0.655, "val_curve_last": 0.62,
        "per_class_test": {"Angry": 0.53, "Disgust": 0.70, "Fear": 0.46, "Happy": 0.805,
                           "Sad": 0.63, "Surprise": 0.625, "Neutral": 0.515},
        "train_full_epoch": 27,
        "note": "100% training accuracy by epoch ~27; validation peaks ~65.5%, ends ~62%",
    },
    "shallow_hog": {
        "val": None, "test": None,
        "val_curve_best": 0.58, "val_curve_last": 0.535,
        "note": "text: 'very close' to the shallow CNN; values read off its plot",
    },
    "deep_hog": {
        "val": None, "test": None,
        "val_curve_best": 0.65, "val_curve_last": 0.63,
        "note": "text: 'similar' to the deep CNN; values read off its plot",
    },
}

TF_REIMPLEMENTATION = {
    "shallow": {
        "val": 0.530, "test": 0.529,
        "per_class_test": {"Angry": 0.335, "Disgust": 0.446, "Fear": 0.361, "Happy": 0.774,
                           "Sad": 0.539, "Surprise": 0.690, "Neutral": 0.329},
    },
    "deep": {
        "val": 0.602, "test": 0.628,
        "per_class_test": {"Angry": 0.461, "Disgust": 0.607, "Fear": 0.490, "Happy": 0.796,
                           "Sad": 0.531, "Surprise": 0.772, "Neutral": 0.613},
    },
}

CONCLUSIONS = {
    "depth": "depth helps a lot (deep 65% vs shallow 55% validation)",
    "hog": "HOG adds nothing the CNN does not learn from raw pixels",
}


def reference(model, source="paper"):
    """The reference dict of ``model`` from ``source`` ("paper" or "tf"); {} when it reports none."""
    if source not in ("paper", "tf"):
        raise ValueError(f"reference source must be 'paper' or 'tf', got {source!r}")
    return (PAPER if source == "paper" else TF_REIMPLEMENTATION).get(model, {})


def base_model(model):
    """The CNN under a model: "shallow_hog" -> "shallow"."""
    return model.replace("_hog", "")


def validation_target(model):
    """The paper's validation accuracy of ``model``: its text's number, else the best of its plot; None if neither."""
    ref = PAPER.get(model, {})
    return ref["val"] if ref.get("val") is not None else ref.get("val_curve_best")
