"""minicnn: a from-scratch CNN engine in NumPy/CuPy and the experiments of
Alizadeh & Fazel, "Convolutional Neural Networks for Facial Expression Recognition"."""
from setuptools import find_packages, setup

EXTRAS = {
    # GPU arrays. Pick the wheel that matches your CUDA driver (`nvidia-smi` shows
    # "CUDA Version"): 12.x -> `gpu`, 13.x -> `gpu-cuda13`.
    "gpu": ["cupy-cuda12x>=13"],
    "gpu-cuda13": ["cupy-cuda13x>=13.6"],
    "hog": ["scikit-image>=0.22"],
    "viz": ["matplotlib>=3.7"],
    # pandas parses the Kaggle CSV; Pillow decodes the per-image JPEG/PNG layout.
    "data": ["pandas>=2.0", "pillow>=10"],
    # Hyper-parameter sweeps on a local or remote Dask cluster.
    "sweep": ["dask[distributed]>=2024.1"],
    # PyTorch is only a benchmark oracle, never imported by minicnn/ itself.
    # On the project's CPU machines install exactly torch==2.13.0 (a local wheel).
    "bench": ["torch==2.13.0"],
}
# nbclient, nbformat and ipykernel execute the tutorial notebook (docs/tutorial.ipynb) in
# tests/test_tutorial.py, so the notebook cannot silently stop running. tests/test_install.py builds
# minicnn as `pip install .` does, without build isolation: setuptools older than 70.1 (the one a
# fresh Python 3.11 venv carries) needs the separate `wheel` package for that.
EXTRAS["test"] = sorted({"pytest>=7", "nbclient>=0.9", "nbformat>=5.9", "ipykernel>=6", "wheel>=0.40", *EXTRAS["hog"],
                         *EXTRAS["viz"], *EXTRAS["data"], *EXTRAS["sweep"]})
EXTRAS["all"] = sorted({*EXTRAS["test"]})

setup(
    name="minicnn",
    version="0.1.0",
    description="A readable CNN engine in NumPy/CuPy, with gradient checks and the FER-2013 paper experiments",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=find_packages(include=["minicnn", "minicnn.*"]),
    # The paper's experiment configs travel with the package, so `minicnn experiment` runs from any folder.
    # CuPy's public names, pinned as data: the strict CuPy stand-in (minicnn.testing) needs no CuPy.
    # The shipped model (eval-only float16 weights, at most 10 MB) is the default of `minicnn predict`.
    package_data={"minicnn.pipeline": ["configs/*.json"], "minicnn.testing": ["cupy_api.txt"],
                  "minicnn.apps": ["weights/*.npz"]},
    # tqdm draws the training progress bar in terminals and notebooks (a widget there) from one
    # code path; a small pure-Python package with no dependencies of its own.
    install_requires=["numpy>=1.24", "tqdm>=4.66"],
    extras_require=EXTRAS,
    entry_points={"console_scripts": ["minicnn=minicnn.commands:main"]},
)
