"""The sweep's report, rewritten as trials finish.

- ``summary.json``: trials ranked by validation accuracy (best first), the
  failed ones with their reason, counts, the space searched.
- ``summary.md``: the same as a Markdown table.
- ``summary.png``: validation accuracy against each searched value, one
  subplot per field (log x-axis for loguniform fields; categorical for choice
  lists of non-numbers); the best trial is marked.
- ``best_config.json``: the best trial's full config, ready to train again.
"""
import math
import numbers

from .store import write_json_atomic


def _clean(value):
    """JSON-safe: non-finite floats become None."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _fmt(value):
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def summarize(spec, trials, results):
    """The summary dict for ``trials`` and their ``results`` (None = not finished)."""
    ok = [(t, r) for t, r in zip(trials, results) if r and r["status"] == "ok"]
    ok.sort(key=lambda tr: (-(tr[1]["val_acc"] if math.isfinite(tr[1]["val_acc"]) else -math.inf),
                            tr[0].index))
    failed = [(t, r) for t, r in zip(trials, results) if r and r["status"] == "failed"]
    ranking = [{"rank": i + 1, "trial": t.index, "val_acc": _clean(r["val_acc"]),
                "val_loss": _clean(r.get("val_loss")), "params": t.params, "seed": t.seed,
                "duration_s": r.get("duration_s"), "folder": f"trial-{t.index}"}
               for i, (t, r) in enumerate(ok)]
    return {
        "name": spec.name, "method": spec.method, "seed": spec.seed,
        "space": spec.describe_space(),
        "metric": "val_acc: validation accuracy, higher is better",
        "counts": {"trials": len(trials), "ok": len(ok), "failed": len(failed),
                   "pending": sum(r is None for r in results)},
        "ranking": ranking,
        "failed": [{"trial": t.index, "params": t.params, "seed": t.seed, "error": r["error"]}
                   for t, r in failed],
        "best": ranking[0] if ranking else None,
    }


def markdown(summary):
    """summary.md text for a summary dict."""
    paths = list(summary["space"])
    c = summary["counts"]
    lines = [f"# Sweep {summary['name']}", "",
             f"{summary['method']} search, seed {summary['seed']}: {c['trials']} trials, "
             f"{c['ok']} finished, {c['failed']} failed, {c['pending']} pending. "
             "Ranked by validation accuracy.", "",
             "Space: " + "; ".join(f"`{p}` {d}" for p, d in summary["space"].items()), "",
             "| rank | trial | val acc | val loss | " + " | ".join(f"`{p}`" for p in paths)
             + " | seed | time (s) |",
             "|" + "---|" * (len(paths) + 6)]
    for row in summary["ranking"]:
        cells = [row["rank"], row["folder"], _fmt(row["val_acc"]), _fmt(row["val_loss"])]
        cells += [_fmt(row["params"][p]) for p in paths]
        cells += [row["seed"], _fmt(row["duration_s"])]
        lines.append("| " + " | ".join(str(x) for x in cells) + " |")
    if summary["failed"]:
        lines += ["", "## Failed trials", "", "| trial | " + " | ".join(f"`{p}`" for p in paths)
                  + " | reason |", "|" + "---|" * (len(paths) + 2)]
        for row in summary["failed"]:
            reason = row["error"].replace("|", "\\|").replace("\n", " ")
            lines.append(f"| trial-{row['trial']} | " + " | ".join(_fmt(row["params"][p]) for p in paths)
                         + f" | {reason} |")
    return "\n".join(lines) + "\n"


def _is_number(v):
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def plot(summary, dims, path):
    """Save summary.png at ``path``: val accuracy against each searched value, one subplot per
    dimension of ``dims``; returns the matplotlib Figure (no pyplot state is touched)."""
    from matplotlib.figure import Figure  # ImportError without the viz extra: see engine.run_sweep
    from matplotlib.ticker import NullFormatter

    rows = [r for r in summary["ranking"] if r["val_acc"] is not None]
    ncols = min(3, len(dims))
    nrows = math.ceil(len(dims) / ncols)
    fig = Figure(figsize=(4.2 * ncols, 3.4 * nrows), layout="constrained")
    best = summary["best"]
    for i, dim in enumerate(dims):
        ax = fig.add_subplot(nrows, ncols, i + 1)
        xs = [r["params"][dim.path] for r in rows]
        ys = [r["val_acc"] for r in rows]
        if all(_is_number(x) for x in xs):
            positions = xs
            if dim.log_scale:
                ax.set_xscale("log")
                ax.xaxis.set_minor_formatter(NullFormatter())  # unlabelled minor ticks: no overlap
        else:  # categorical choice list
            labels = [str(v) for v in dim.values]
            positions = [labels.index(str(x)) for x in xs]
            ax.set_xticks(range(len(labels)), labels)
        ax.scatter(positions, ys, s=22, alpha=0.75, color="tab:blue")
        if best is not None and best["val_acc"] is not None:
            j = [r["trial"] for r in rows].index(best["trial"])
            ax.scatter([positions[j]], [ys[j]], s=120, marker="*", color="tab:red",
                       label=f"best (trial-{best['trial']})")
            ax.legend(loc="best", fontsize="small")
        ax.margins(0.08)
        ax.set_xlabel(dim.path + (" (log)" if dim.log_scale else ""))
        ax.set_ylabel("validation accuracy")
        ax.grid(alpha=0.3)
    fig.suptitle(f"Sweep {summary['name']}: {len(rows)} trials")
    fig.savefig(path, dpi=110)
    return fig


def write_report(root, spec, trials, results, with_plot=True):
    """Write summary.json, summary.md, best_config.json (the best trial's config) and
    (``with_plot``) summary.png in folder ``root``; return the summary dict."""
    summary = summarize(spec, trials, results)
    write_json_atomic(root / "summary.json", summary)
    tmp = root / ".summary.md.tmp"
    tmp.write_text(markdown(summary), encoding="utf-8")
    tmp.replace(root / "summary.md")
    if summary["best"] is not None:
        best = next(t for t in trials if t.index == summary["best"]["trial"])
        write_json_atomic(root / "best_config.json", best.config)
    if with_plot and summary["ranking"]:
        plot(summary, spec.dims, root / "summary.png")
    return summary
