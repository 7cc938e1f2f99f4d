"""Hand-made features computed from the images (HOG for the paper's hybrid models)."""
