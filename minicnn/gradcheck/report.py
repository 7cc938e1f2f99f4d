"""What a gradient check found: one row per input or parameter, printed as a table."""
import math
from dataclasses import dataclass, field


@dataclass
class GradcheckRow:
    """The check of one input or parameter (see ``minicnn.gradcheck.check`` for the rules)."""
    name: str
    shape: tuple
    max_rel_error: float          # over the elements not skipped as kinks (0.0 if none)
    worst_index: tuple            # where max_rel_error occurs (None if none)
    checked: int                  # elements compared
    skipped: int                  # of those, excused as kinks
    at_noise: int                 # of those, above tol but within their finite-difference noise
    passed: bool
    note: str = ""                # kinks skipped, or what is wrong
    dir_rel_error: float = math.nan   # relative error of the derivative along one direction (nan: not measured)
    dir_noise: float = math.nan       # the relative error that direction's rounding noise alone can reach


@dataclass
class GradcheckReport:
    """Rows of a check; ``passed`` is True when every row passed."""
    title: str
    tol: float
    rows: list = field(default_factory=list)

    @property
    def passed(self):
        return all(r.passed for r in self.rows)

    def row(self, name):
        """The row of input/parameter ``name``."""
        for r in self.rows:
            if r.name == name:
                return r
        raise KeyError(name)

    def __str__(self):
        head = ("name", "shape", "checked", "kinks", "at noise", "max rel err", "at index", "along v",
                "noise", "result")
        body = [(r.name, "x".join(map(str, r.shape)) or "()", str(r.checked), str(r.skipped),
                 str(r.at_noise), f"{r.max_rel_error:.2e}",
                 "" if r.worst_index is None else str(r.worst_index),
                 _short(r.dir_rel_error), _short(r.dir_noise),
                 ("ok" if r.passed else "FAIL") + (f"  ({r.note})" if r.note else ""))
                for r in self.rows]
        widths = [max(len(line[i]) for line in [head] + body) for i in range(len(head) - 1)]
        lines = [f"{self.title}  [tol {self.tol:.0e}]  {'PASSED' if self.passed else 'FAILED'}"]
        for line in [head] + body:
            lines.append("  " + "  ".join(cell.ljust(w) for cell, w in zip(line, widths)) + "  " + line[-1])
        return "\n".join(lines)


def _short(value):
    return "-" if math.isnan(value) else f"{value:.1e}"
