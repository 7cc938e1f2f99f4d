"""Numerical gradient checking for any forward/backward pair: ``check_layer``, ``check_loss``, ``check_function``.

The built-in layers' example cases (what ``minicnn gradcheck`` runs) are part
of their registrations in ``minicnn.registry``.
"""
from .check import GradcheckCase, check_function, check_layer, check_loss, numerical_gradient
from .report import GradcheckReport, GradcheckRow

__all__ = ["check_layer", "check_loss", "check_function", "numerical_gradient", "GradcheckCase",
           "GradcheckReport", "GradcheckRow"]
