"""The results as a Markdown table and files: <label>-<date>.json / .md, and LATEST.md."""
import json
import os


def _ms(v):
    return "-" if v is None else f"{v:,.1f}"


def _rate(v):
    return "-" if v is None else f"{v:,.0f}"


def _ratio(v):
    return "-" if v is None else f"{v:.2f}x"


def _rows(title, rows, extra_cols=()):
    head = ["case", "minicnn ms", "minicnn img/s", "torch ms", "torch img/s", "time minicnn/torch"]
    head += [c for c, _ in extra_cols]
    lines = [f"## {title}", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [r["name"], _ms(r["minicnn_ms"]), _rate(r["minicnn_img_s"]), _ms(r.get("torch_ms")),
                 _rate(r.get("torch_img_s")), _ratio(r.get("ratio"))]
        cells += [fmt(r) for _, fmt in extra_cols]
        lines.append("| " + " | ".join(cells) + " |")
    return lines + [""]


def markdown(res):
    """The whole result dict as Markdown: machine, sgemm, layers, steps, memory, augmentation."""
    m = res["machine"]
    blas = "; ".join(f"{b.get('internal_api')} {b.get('version')} kernel {b.get('architecture')}, "
                     f"{b.get('num_threads', '?')} threads" for b in m["blas"])
    lines = [f"# minicnn benchmark: {m['backend']}, {m['date']}", "",
             f"- command: `{m['command']}`", f"- commit: `{m['commit']}`",
             f"- CPU: {m['cpu']} ({m.get('cpu_kind', '?')}), {m['cores']} cores; load average at start "
             f"{', '.join(f'{x:.2f}' for x in m['loadavg_start'])}, at end "
             f"{', '.join(f'{x:.2f}' for x in res['loadavg_end'])}",
             f"- numpy {m['numpy']}, BLAS: {blas}; environment: {m['env'] or 'no BLAS/CuPy variables set'}",
             f"- torch: {m['torch'] or 'not measured'}" + (f"; GPU: {m['gpu']}" if m.get("gpu") else ""),
             f"- medians of {res['repeat']} repeats, minicnn and torch alternated within every repeat; "
             "ratios > 1 mean minicnn is slower", "",
             f"Measured sgemm ({res['sgemm']['n']}^3 float32 matmul): "
             f"**{res['sgemm']['gflops']:.0f} GFLOP/s** (at start), {res['sgemm']['gflops_end']:.0f} (at end).", ""]
    n = res["batch"]
    lines += _rows(f"Layers: forward + backward, batch {n}", res["layers"],
                   extra_cols=(("conv method", lambda r: r.get("method") or ""),))
    lines += _rows(f"Training steps: forward + backward + Adam, batch {n}", res["steps"], extra_cols=(
        ("GFLOP/step", lambda r: f"{r['gflop']:.1f}"),
        ("minicnn GFLOP/s", lambda r: f"{r['minicnn_gflops']:.0f}"),
        ("share of sgemm", lambda r: f"{100 * r['sgemm_share']:.0f}%"),
    ))
    mem = res.get("memory")
    if mem:
        lines += [f"## Memory: one deep-model training step, batch {n}", ""]
        lines += [f"- {k}: {v / 2**20:,.1f} MiB" for k, v in mem.items() if isinstance(v, (int, float))]
        lines += [""]
    errors = res.get("winograd_error")
    if errors:
        lines += [f"## Float32 error of the convolutions (batch {errors[0]['n']}): largest |difference| / "
                  "largest |value|, against float64 im2col", "",
                  "| case | Winograd tile | Winograd out / dx / dw | im2col out / dx / dw |", "|---|---|---|---|"]
        lines += [f"| {e['name']} | F({e['m']}x{e['m']}, {e['r']}x{e['r']}) | "
                  + " / ".join(f"{e['winograd'][k]:.1e}" for k in ("out", "dx", "dw")) + " | "
                  + " / ".join(f"{e['im2col'][k]:.1e}" for k in ("out", "dx", "dw")) + " |" for e in errors]
        lines += [""]
    aug = res.get("augment")
    if aug:
        lines += [f"## Augmentation of a {n}-image batch (minicnn.data.Augmenter)", "",
                  f"{aug['augment_ms']:.1f} ms against {aug['shallow_step_ms']:.1f} ms for a shallow "
                  f"training step: **{100 * aug['ratio']:.1f}%** of a step (target < 10%).", ""]
    for note in res.get("notes", []):
        lines.append(f"- {note}")
    return "\n".join(lines).rstrip() + "\n"


def write(res, out_dir, label, latest=True):
    """Write <label>-<date>.json and .md into ``out_dir`` (and LATEST.md); return the .md path."""
    os.makedirs(out_dir, exist_ok=True)
    stem = os.path.join(out_dir, f"{label}-{res['machine']['date'][:10]}")
    if res["machine"]["backend"] == "numpy":        # Intel and AMD results side by side
        stem = os.path.join(out_dir, f"{label}-{res['machine']['cpu_kind']}-{res['machine']['date'][:10]}")
    with open(stem + ".json", "w", encoding="utf-8") as f:
        json.dump(res, f, indent=1)
    text = markdown(res)
    with open(stem + ".md", "w", encoding="utf-8") as f:
        f.write(text)
    if latest:
        with open(os.path.join(out_dir, "LATEST.md"), "w", encoding="utf-8") as f:
            f.write(text)
    return stem + ".md"
