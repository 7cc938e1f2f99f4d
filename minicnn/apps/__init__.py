"""Applications on a trained model: the ``Classifier``, face finding, predict, explain, ensembles."""
