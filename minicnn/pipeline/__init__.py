"""The one run pipeline: config -> data -> inputs -> model -> Trainer -> evaluation -> outputs.

    config.py    run configs (the paper's four are package data in configs/*.json), plans, run ids
    data.py      the data stage: load, restrict, describe (file name, size, sha256, fingerprint)
    inputs.py    mean image, flips, HOG features
    run.py       ``run(plan, data, out_dir=...)``: every stage, the run identity, resume, time budget
    outputs.py   metrics.json (schema 2), per_class.md, curves.png, confusion.png
    paper.py     the paper's reported numbers, to set beside ours
    provenance.py  hardware and git facts of a run

``minicnn train``, ``minicnn demo``, ``minicnn experiment`` (``python -m
experiments.run``) and every sweep trial are front ends of ``run.run``.
This package's ``__init__`` imports nothing, so ``minicnn.models`` can read
the paper's configs without importing the training code.
"""
