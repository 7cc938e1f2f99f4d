"""Applications on a trained model, as library functions (their commands are in ``minicnn.commands``).

    inference.py  ``Classifier``: a model with its own preprocessing; raw faces in, probabilities out
    faces.py      faces found in any photo, cropped and resized to the model's input
    predict.py    each face's emotions in a photo (``minicnn predict``)
    explain.py    checkpoints by epoch and dream figures (``minicnn explain``)
    ensemble.py   soft voting over several models (``minicnn ensemble``)
"""
