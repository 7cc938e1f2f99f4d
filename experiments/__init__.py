"""The paper's experiments: one config per model, a runner, and the report.

    python -m experiments.run shallow --data PATH      # train, evaluate, write results/shallow-<run-id>/
    python -m experiments.report                        # results/REPORT.md beside the paper's numbers

``paper`` holds the paper's (and an independent re-implementation's) numbers,
``config`` the experiment configs, ``provenance`` hardware and git facts,
``outputs`` the files of one run (figures via ``minicnn.viz.curves``), ``report`` the cross-run report. See
docs/experiments.md.
"""
