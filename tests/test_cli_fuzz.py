"""Fuzz: random and boundary values for every option of every sub-command.

The options are read from the parser itself, so a new option is fuzzed (or,
for a text option, must be given a kind below) as soon as it exists. Each
case runs ``minicnn.commands.main`` in-process in validate-only mode
(``MINICNN_VALIDATE_ONLY=1``: every command stops right after its checks)
and must:

- exit with 0, 1 or 2 and never raise (no traceback);
- on failure write exactly one line to stderr, ``minicnn <command>: error: ...``;
- refuse a value the option's own range refuses with status 2 (argparse),
  refuse a value of a known-bad kind (a missing file, an output path that is
  a file, an unknown model) with 1 or 2, and accept a good value with 0;
- change no file (validate-only mode writes nothing; output folders may be
  created empty).

Boundary values cover each option alone; seeded random combinations of
several options follow. A handful of cases run for real as subprocesses.
The whole file takes a few seconds.
"""
import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from viz_models import save_random_checkpoint

from minicnn.commands import build_parser, main
from minicnn.validate import VALIDATE_ONLY_ENV, Number

ROOT = Path(__file__).resolve().parents[1]
OK, BAD, ANY = "ok", "bad", "any"
HUGE = 10**6
"""Accepted numbers at least this large may still be refused by a resource check (a batch that cannot fit)."""


# ------------------------------------------------------------------ the world the commands see
@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Files the fuzzed values name, in a fresh folder that is also the working directory."""
    root = tmp_path_factory.mktemp("fuzz")
    save_random_checkpoint(root / "model.npz")
    Image.fromarray(np.full((60, 60, 3), 128, np.uint8)).save(root / "photo.png")
    (root / "notes.txt").write_text("not what any option wants\n")
    (root / "empty").mkdir()
    sweep = json.loads((ROOT / "docs" / "sweeps" / "tiny_synthetic.json").read_text())
    (root / "sweep.json").write_text(json.dumps(dict(sweep, method="random", trials=2)))
    return root


# What each text option (by command and destination) takes: values with what validation must say.
def _values(kind):
    return {
        "out_folder": [("out", OK), ("deep/er/out", OK), ("notes.txt", BAD), ("notes.txt/sub", BAD), ("", BAD)],
        "figure": [("grid.png", OK), ("figs/grid.svg", OK), ("grid.gif", BAD), ("empty", BAD),
                   ("notes.txt/grid.png", BAD), ("", BAD)],
        "photo_out": [("boxes.png", OK), ("boxes.jpg", OK), ("boxes", BAD), ("empty", BAD),
                      ("notes.txt/a.png", BAD)],
        "npz_out": [("copy.npz", OK), ("sub/copy.npz", OK), ("model.npz", ANY), ("copy.png", BAD), ("empty", BAD),
                    ("notes.txt/copy.npz", BAD)],
        "checkpoint": [("model.npz", OK), ("missing.npz", BAD), ("empty", BAD), ("notes.txt", ANY)],
        # predict's first argument names a model only when it ends in .npz; else it is a photo for the shipped model
        "predict_model": [("model.npz", OK), ("missing.npz", BAD), ("empty", ANY), ("notes.txt", ANY)],
        "photo": [("photo.png", OK), ("missing.png", ANY), ("notes.txt", ANY)],
        "photo_in": [("photo.png", OK), ("missing.png", BAD), ("empty", BAD)],
        "data": [("synthetic", OK), ("missing.csv", BAD), ("empty", BAD), ("notes.txt", BAD), ("", BAD)],
        "model": [("shallow", OK), ("deep_hog", OK), ("c4k3-p2 | f8", OK), ("shallow-hog", BAD),
                  ("c4k3x", BAD), ("missing.json", BAD), ("notes.txt", BAD)],
        "model_or_checkpoint": [("shallow", OK), ("c4k3-p2 | f8", OK), ("model.npz", OK), ("c4k3x", BAD),
                                ("missing.npz", BAD)],
        "experiment": [("shallow", OK), ("deep_hog", OK), ("shallow-hog", BAD), ("nothing", BAD),
                       ("missing.json", BAD)],
        "schedule": [("step", OK), ("cosine", OK), ('{"name": "exponential", "gamma": 0.9}', OK),
                     ("sometimes", BAD), ('{"name": "step"}', BAD), ("{", BAD)],
        "what": [("filters", OK), ("filters,dream", OK), ("colours", BAD), ("", BAD), (",", BAD)],
        "layer": [("relu1", ANY), ("nothing", ANY)],
        "folder_in": [("empty", OK), ("missing", BAD), ("notes.txt", BAD)],
        "sweep": [("sweep.json", OK), ("missing.json", BAD), ("notes.txt", BAD)],
        "scheduler": [("tcp://127.0.0.1:1", ANY)],
        "kinds": [("conv", OK), ("conv,maxpool", OK), ("nope", BAD)],
        "backends": [("numpy", OK), ("numpy,strict", OK), ("tpu", BAD)],
        "targets": [("minicnn.registry:builtin_cases", OK), ("nope", BAD), ("os:path", BAD),
                    ("no.such.module:x", BAD)],
        "resume": [("missing.npz", BAD), ("notes.txt", BAD), ("model.npz", BAD), ("", BAD)],
        "run_id": [("mine", OK), ("../up", BAD), ("", BAD), (".", BAD)],
    }[kind]


TEXT_KINDS = {
    ("train", "model"): "model", ("train", "data"): "data", ("train", "out"): "out_folder",
    ("train", "schedule"): "schedule", ("train", "resume"): "resume",
    ("demo", "out"): "out_folder", ("demo", "schedule"): "schedule", ("demo", "resume"): "resume",
    ("experiment", "model"): "experiment", ("experiment", "data"): "data", ("experiment", "out"): "out_folder",
    ("experiment", "checkpoints"): "out_folder", ("experiment", "run_id"): "run_id",
    ("predict", "model"): "predict_model", ("predict", "photos"): "photo", ("predict", "annotate"): "photo_out",
    ("explain", "model"): "checkpoint", ("explain", "data"): "data", ("explain", "what"): "what",
    ("explain", "out"): "out_folder", ("explain", "layer"): "layer", ("explain", "photo"): "photo_in",
    ("explain", "run_dir"): "folder_in",
    ("ensemble", "models"): "checkpoint", ("ensemble", "data"): "data", ("ensemble", "out"): "out_folder",
    ("sweep", "sweep"): "sweep", ("sweep", "data"): "data", ("sweep", "scheduler"): "scheduler",
    ("sweep", "out"): "out_folder",
    ("gradcheck", "targets"): "targets",
    ("check-backends", "kinds"): "kinds", ("check-backends", "backends"): "backends",
    ("trace", "model"): "model_or_checkpoint",
    ("export", "checkpoint"): "checkpoint", ("export", "out"): "npz_out",
    ("data info", "path"): "data", ("data info", "cache_dir"): "out_folder",
    ("data samples", "out"): "figure", ("data samples", "data"): "data", ("data samples", "cache_dir"): "out_folder",
}

BASES = {
    "train": {"--model": "c4k3-p2 | f8", "--quick": None, "--out": "out"},
    "demo": {"--out": "out"},
    "experiment": {"model": "shallow", "--data": "synthetic", "--quick": None, "--out": "out",
                   "--checkpoints": "ckpt"},
    "predict": {"model": "model.npz", "photos": "photo.png"},
    "explain": {"model": "model.npz", "--data": "synthetic", "--out": "out"},
    "ensemble": {"models": "model.npz", "--data": "synthetic", "--out": "out"},
    "sweep": {"sweep": "sweep.json", "--data": "synthetic", "--out": "out"},
    "gradcheck": {"--max-elements": "4"},
    "check-backends": {"--kinds": "relu"},
    "trace": {"model": "c2k3-p4 | f4", "--batch": "2"},
    "export": {"checkpoint": "model.npz", "out": "copy.npz"},          # small even at the widest --width
    "data info": {"path": "synthetic"},
    "data samples": {"--out": "grid.png"},
}
"""A valid command line per sub-command (validate-only mode answers 0), as {option or positional: value}."""


def commands():
    """``{"train": parser, ..., "data info": parser, ...}``: every sub-command's own parser."""
    found = {}

    def walk(parser, path):
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs:
            found[" ".join(path)] = parser
        for action in subs:
            for name, sub in action.choices.items():
                walk(sub, path + [name])
    walk(build_parser(), [])
    return found


def options(parser):
    """The parser's options and positionals (help excluded)."""
    return [a for a in parser._actions if not isinstance(a, argparse._HelpAction)]


def key(action):
    return action.option_strings[-1] if action.option_strings else action.dest


def number_values(number):
    """Boundary and random texts for a ``Number`` option, each with whether its range takes it."""
    texts = ["0", "-1", "1", "2", "0.5", "3.0", "1e-9", str(10**12), "1e308", "1e400", "nan", "inf", "-inf",
             "text", ""]
    for bound in (number.low, number.high):
        if np.isfinite(bound):
            texts += [str(bound), str(bound + 1), str(bound - 1)]
    values = []
    for text in dict.fromkeys(texts):
        try:
            parsed = int(text) if number.integer else float(text)
        except ValueError:
            values.append((text, BAD))
            continue
        values.append((text, (ANY if abs(parsed) >= HUGE else OK) if number.accepts(parsed) else BAD))
    return values


def values_of(command, action):
    """Every (text, expectation) the fuzz gives ``action``: None for a flag, its range's or kind's values."""
    if action.nargs == 0:
        return [(None, BAD if (command, action.dest) == ("experiment", "resume") else OK)]   # nothing to resume
    if isinstance(action.type, Number):
        return number_values(action.type)
    if action.choices is not None:
        mixed = (command, action.dest) == ("sweep", "method")          # the sweep file's trials fit random only
        return [(c, ANY if mixed or c == "cupy" else OK) for c in action.choices] + [("bogus", BAD)]
    if action.type is not None and action.type.__name__ == "folder_name":
        return _values("run_id")
    return _values(TEXT_KINDS[(command, action.dest)])


def argv_of(command, parser, settings):
    """The command line of ``settings`` ({option or positional: text, None for a flag})."""
    argv = command.split()
    for action in options(parser):
        if key(action) not in settings:
            continue
        value = settings[key(action)]
        if action.option_strings:
            argv += [key(action)] if value is None else [f"{key(action)}={value}"]
        else:
            argv.append(value)
    return argv


def snapshot(root):
    return {p: (p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*") if p.is_file()}


@pytest.fixture
def fuzz(world, monkeypatch, capsys):
    """``check(argv, expect)``: run ``argv`` in validate-only mode in ``world`` and check what it must do."""
    monkeypatch.chdir(world)
    monkeypatch.setenv(VALIDATE_ONLY_ENV, "1")
    monkeypatch.setenv("MINICNN_CACHE_DIR", str(world / "cache"))
    monkeypatch.delenv("MINICNN_FER2013", raising=False)

    def check(argv, expect, argparse_only=False):
        before = snapshot(world)
        try:
            code = main(argv)
        except BaseException as exc:          # what a user would see as a traceback
            pytest.fail(f"{argv}: {type(exc).__name__}: {exc}")
        out, err = capsys.readouterr()
        where = f"{argv} -> {code}: {err.strip() or out.strip()[-200:]}"
        assert code in (0, 1, 2), where
        assert "Traceback" not in err and snapshot(world) == before, where
        if code:
            lines = err.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith(f"minicnn {argv[0]}") and "error:" in lines[0], where
        else:
            assert "the options are valid" in out, where
        if expect == OK:
            assert code == 0, where
        elif expect == BAD:
            assert code == 2 if argparse_only else code in (1, 2), where
        return code
    return check


def test_every_text_option_has_a_kind_and_every_command_a_base():
    found = commands()
    assert set(found) == set(BASES)
    for command, parser in found.items():
        for action in options(parser):
            if action.nargs != 0 and not isinstance(action.type, Number) and action.choices is None \
                    and getattr(action.type, "__name__", None) != "folder_name":
                assert (command, action.dest) in TEXT_KINDS, f"{command} {key(action)}: give it a kind"


def test_the_bases_are_valid(fuzz):
    for command, parser in commands().items():
        fuzz(argv_of(command, parser, BASES[command]), OK)


@pytest.mark.parametrize("command", sorted(BASES))
def test_each_option_at_its_boundaries(fuzz, command):
    parser = commands()[command]
    for action in options(parser):
        for text, expect in values_of(command, action):
            settings = {**BASES[command], key(action): text}
            fuzz(argv_of(command, parser, settings), expect,
                 argparse_only=isinstance(action.type, Number) and expect == BAD)


@pytest.mark.parametrize("command", sorted(BASES))
def test_random_combinations_of_options(fuzz, command):
    rng = np.random.default_rng(sorted(BASES).index(command))
    parser = commands()[command]
    actions = options(parser)
    for _ in range(12):
        chosen = rng.choice(len(actions), size=min(len(actions), int(rng.integers(2, 5))), replace=False)
        settings, expects = dict(BASES[command]), []
        for i in chosen:
            pool = values_of(command, actions[i])
            text, expect = pool[int(rng.integers(len(pool)))]
            settings[key(actions[i])] = text
            expects.append(expect)
        code = fuzz(argv_of(command, parser, settings), ANY)
        if BAD in expects:
            assert code in (1, 2), settings


# ------------------------------------------------------------------ real runs
REAL = [
    (["train", "--epochs", "0"], 2, []),
    (["train", "--model", "deep", "--batch-size", "100000", "--n-train", "100000", "--out", "big"], 1, ["big"]),
    (["train", "--quick", "--out", "notes.txt"], 1, []),
    (["ensemble", "model.npz", "--data", "synthetic", "--batch-size", "0"], 2, []),
    (["predict", "model.npz", "missing.png"], 1, []),
    (["data", "samples", "--per-class", "1", "--out", "grid.png"], 0, ["grid.png"]),
]


def test_a_handful_of_cases_run_for_real_as_subprocesses(world, tmp_path):
    for argv, code, outputs in REAL:
        before = snapshot(world)
        done = subprocess.run([sys.executable, "-m", "minicnn", *argv], cwd=world, capture_output=True, text=True,
                              env={**os.environ, "MINICNN_CACHE_DIR": str(tmp_path / "cache"),
                                   "PYTHONPATH": str(ROOT)}, timeout=120)
        where = f"{argv} -> {done.returncode}: {done.stderr.strip()}"
        assert done.returncode == code and "Traceback" not in done.stderr, where
        if code:
            assert len(done.stderr.strip().splitlines()) == 1, where
        changed = {p for p, stat in snapshot(world).items() if before.get(p) != stat}
        assert all(any(p.is_relative_to(world / o) for o in outputs) for p in changed), where
        assert all((world / o).exists() for o in outputs if code == 0), where
