"""The paper's experiments as scripts over the installed package.

    python -m experiments.run shallow --data PATH      # = minicnn experiment: results/shallow-<run-id>/
    python -m experiments.report                        # results/REPORT.md beside the paper's numbers
    python -m experiments.pilots --data PATH            # short pilots of the unstated hyper-parameters

The run configs, the run pipeline, the paper's numbers and the outputs live in
``minicnn.pipeline``; see docs/experiments.md and experiments/CONFIGS.md.
"""
