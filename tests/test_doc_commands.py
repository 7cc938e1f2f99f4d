"""Every shell command shown in README.md and docs/*.md still runs.

A shell command is a line of a fenced ``bash``/``sh``/``shell``/``console``
block (usage synopses sit in plain blocks; inline code in the prose names
commands, it does not show one to run). Each becomes one test, run with
``bash`` from a fresh copy of the repository's README, docs, experiments, benchmarks
and results, with ``minicnn`` meaning this checkout, on small data:

- every FER-2013 path is replaced by a small FER-2013 file in the same layout
  (the CSV, the images zip or tar.xz), written from the synthetic faces, and
  ``MINICNN_FER2013`` names the CSV;
- a checkpoint the command reads that no earlier command of its block wrote
  is a tiny trained model; a photo is scikit-image's astronaut;
- where the command offers them, small sizes: ``--quick`` (train, demo,
  experiment, experiments.run, sweep, benchmarks; it replaces ``--epochs`` and
  ``--subset``, and a resume trains a second epoch), and fewer images and
  dream steps for ``explain``.

A command with ``--resume``, or after ``&&``, continues in the folder of the
command before it (a chain); every other command starts in a fresh copy. Two chains run at a
time, each process on one core (``OMP_NUM_THREADS=1``). Commands that cannot run here
(a GPU, a Dask cluster, installing packages, the test suite itself) or that
take more than a minute even at small sizes are skipped with the reason
(``pytest -rs`` lists them); a command the docs show failing on purpose
(FAILS) must fail with the error they describe.
"""
import os
import re
import shutil
import subprocess
import sys
import tarfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fer_files import small_dataset, write_csv, write_layout, zip_layout

REPO = Path(__file__).resolve().parents[1]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
COPIED = ("docs", "experiments", "benchmarks", "results", "README.md")

SKIP = [
    (r"^pip install", "installs packages: tests/test_install.py checks `pip install .`"),
    (r"-m pytest", "the test suite itself"),
    (r"gpu_check --dry-run", "the GPU check's rehearsal: tests/test_gpu_check.py runs it"),
    (r"gpu_check", "the prepared GPU check needs a GPU"),
    (r"cupy|nvidia-smi|CUDA_VISIBLE_DEVICES|--tf32", "needs a GPU (CUDA)"),
    (r"--scheduler|dask (scheduler|worker)", "needs a running Dask cluster"),
    (r"^export ", "sets MINICNN_FER2013: the test sets it to its small FER-2013 file"),
    (r"explain_synthetic\.py", "several minutes even on small data: trains two models and writes about 25 "
                               "figures (explain, ensemble and predict run alone below)"),
    (r"shallow_lr_reg\.json --data \S+$", "16 trials of the full-width shallow model; even with --quick over "
                                         "a minute (the tiny sweep above runs)"),
    (r"experiments\.ship", "ships the best model of a finished full-protocol run, which small data cannot make "
                           "(tests/test_ship.py runs it on a fabricated run)"),
    (r"sweeps/shallow-lr-reg/best_config\.json", "needs the best_config.json of the full sweep above"),
]
SETUP = r"^pip install"
"""Skipped commands that only set up: what follows them after ``&&`` runs (this checkout is installed)."""
FAILS = [
    (r"MINICNN_STRICT_SYNCS=raise", "HostSyncError", "documented to fail at the first host synchronisation"),
]
"""(pattern, text its error must show, why): commands the docs show failing on purpose."""
QUICK = re.compile(r"(^|\s)(minicnn (train|demo|experiment|sweep)|python -m (experiments\.run|benchmarks\.run))\b")
FER_PATH = re.compile(r"[^\s=]*fer2013(\.csv\.xz|-images\.zip|-images\.tar\.xz)")
"""A FER-2013 path in a command; in ``MINICNN_FER2013=PATH cmd`` only the PATH."""


def shell_commands(path):
    """``[(line number, command)]`` of the fenced shell blocks of ``path``."""
    commands = []
    lines = path.read_text(encoding="utf-8").splitlines()
    fence = None
    pending, start = "", 0
    for number, line in enumerate(lines, 1):
        if line.startswith("```"):
            fence = None if fence else line[3:].strip()
            continue
        if fence not in ("bash", "sh", "shell", "console"):
            continue
        text = re.sub(r"\s+#\s.*$", "", line).strip()
        if not text or text.startswith("#"):
            continue
        if not pending:
            start = number
        pending = f"{pending} {text}".strip()
        if pending.endswith("\\"):
            pending = pending[:-1].rstrip()
            continue
        if pending.startswith("for ") and not pending.endswith("done"):
            pending += ";" if not pending.endswith(("do", ";")) else ""
            continue
        commands += [(start, part.strip()) for part in pending.split(" && ")]
        pending = ""
    return commands


CASES = [(doc, number, command) for doc in DOCS for number, command in shell_commands(doc)]
MARKS = {".csv.xz": "@FER_CSV@", "-images.zip": "@FER_ZIP@", "-images.tar.xz": "@FER_TAR@"}


def rewrite(command):
    """The command as the test runs it: small FER-2013 files (marked), --quick and small sizes where offered."""
    command = FER_PATH.sub(lambda m: MARKS[m.group(1)], command)
    if QUICK.search(command) and "--quick" not in command:
        # --quick sets the sizes; a resume trains one epoch more than the run it continues
        command = re.sub(r" --(subset|epochs) \d+", "", command) + (" --epochs 2" if "--resume" in command else "")
        command += " --quick"
    if re.search(r"minicnn explain\b", command):
        command += " --max-images 70 --dream-steps 2 --per-class 1"
    return command


def plan(cases):
    """Per case ``("skip", reason)`` or ``("run", command, chain)``: a command with --resume, or after
    ``&&`` on the same line, joins the chain (one folder, run in order) of the command before it, and
    is skipped with it unless that one only sets up (``SETUP``); a command seen before is not run again."""
    plans, seen, chain, chains, line, skipped = [], {}, None, 0, None, None
    for doc, number, command in cases:
        same_line, line = line == (doc, number), (doc, number)
        reason = next((r for pattern, r in SKIP if re.search(pattern, command)), None)
        if same_line and skipped is not None:
            reason = f"continues `{skipped}`, which cannot run here"
        elif reason and not re.search(SETUP, command):
            skipped = command
        else:
            skipped = None
        if reason:
            plans.append(("skip", f"{doc.name}: `{command}`: {reason}"))
            continue
        command = rewrite(command)
        if command in seen:
            first, chain = seen[command]
            plans.append(("skip", f"{doc.name}: `{command}`: the same command as {first}, which ran"))
            continue
        if not (same_line or "--resume" in command) or chain is None:
            chain, chains = chains, chains + 1
        seen[command] = (f"{doc.name}:{number}", chain)
        plans.append(("run", command, chain))
    return plans


PLANS = plan(CASES)


@pytest.fixture(scope="module")
def runner(tmp_path_factory):
    """Small FER-2013 files, a tiny checkpoint, a photo, a `minicnn` of this checkout; runs the chains."""
    root = tmp_path_factory.mktemp("doc-commands")
    data = small_dataset(n_train=70, n_val=35, n_test=35)
    (root / "fer").mkdir()
    layout = write_layout(root / "layout", data)
    fer = {"@FER_CSV@": write_csv(root / "fer" / "fer2013.csv.xz", data),
           "@FER_ZIP@": zip_layout(layout, root / "fer" / "fer2013-images.zip"),
           "@FER_TAR@": root / "fer" / "fer2013-images.tar.xz"}
    with tarfile.open(fer["@FER_TAR@"], "w:xz") as tar:
        for name in ("train", "test"):
            tar.add(layout / name, name)
    bin_dir = root / "bin"
    bin_dir.mkdir()
    (bin_dir / "minicnn").write_text(f'#!/bin/sh\nexec "{sys.executable}" -m minicnn "$@"\n')
    (bin_dir / "minicnn").chmod(0o755)
    (bin_dir / "python").symlink_to(sys.executable)
    env = {k: v for k, v in os.environ.items() if k != "MINICNN_BACKEND"}
    env.update(PATH=f"{bin_dir}{os.pathsep}{env['PATH']}", PYTHONPATH=str(REPO), MPLBACKEND="Agg",
               OMP_NUM_THREADS="1", MINICNN_FER2013=str(fer["@FER_CSV@"]), MINICNN_CACHE_DIR=str(root / "cache"))
    done = subprocess.run(["minicnn", "train", "--model", "c4k3-bn-p2 c4k3-p2 c4k3-p2 | f8", "--quick",
                           "--quiet", "--out", str(root / "tiny")], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    from PIL import Image
    from skimage import data as skdata
    Image.fromarray(skdata.astronaut()).save(root / "photo.png")
    with Runner(root, fer, env, root / "tiny" / "best.npz", root / "photo.png") as r:
        yield r


class Runner:
    """Runs the chains of PLANS on two threads (one core each): the one a test asks for and the next."""

    def __init__(self, root, fer, env, checkpoint, photo):
        self.root, self.fer, self.env, self.checkpoint, self.photo = root, fer, env, checkpoint, photo
        self.chains = {}
        for index, p in enumerate(PLANS):
            if p[0] == "run":
                self.chains.setdefault(p[2], []).append(index)
        self.pool = ThreadPoolExecutor(max_workers=2)
        self.futures = {}

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.pool.shutdown(cancel_futures=True)

    def result(self, index):
        """The finished process of case ``index`` (its chain started now, the next one beside it)."""
        chain = PLANS[index][2]
        for c in (chain, chain + 1):
            if c in self.chains and c not in self.futures:
                self.futures[c] = self.pool.submit(self._run_chain, c)
        return self.futures[chain].result()[index]

    def _run_chain(self, chain):
        folder = self.root / f"chain{chain}"
        folder.mkdir(parents=True)
        for name in COPIED:
            if (REPO / name).is_dir():
                shutil.copytree(REPO / name, folder / name, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy2(REPO / name, folder / name)
        done = {}
        for index in self.chains[chain]:
            command = PLANS[index][1]
            for mark, path in self.fer.items():
                command = command.replace(mark, str(path))
            self._inputs(folder, command)
            try:
                done[index] = subprocess.run(["bash", "-c", command], cwd=folder, env=self.env,
                                             capture_output=True, text=True, timeout=300)
            except subprocess.TimeoutExpired as exc:
                done[index] = subprocess.CompletedProcess(command, "timeout", exc.stdout or "", "ran 300 s")
        return done

    def _inputs(self, folder, command):
        """The checkpoints and photos ``command`` reads that no earlier command of its chain wrote."""
        from PIL import Image
        words = command.split()
        for i, word in enumerate(words):
            target = folder / word
            if target.exists() or (i and words[i - 1] in ("--out", "--annotate")):
                continue
            if word.endswith(".npz"):
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(self.checkpoint, target)
            elif word.endswith((".jpg", ".png")) and ("predict" in words or words[i - 1] == "--photo"):
                target.parent.mkdir(parents=True, exist_ok=True)
                Image.open(self.photo).convert("RGB").save(target)


@pytest.mark.parametrize("index", range(len(CASES)),
                         ids=[f"{d.relative_to(REPO)}:{n}" for d, n, _ in CASES])
def test_documented_command_runs(runner, index):
    if PLANS[index][0] == "skip":
        pytest.skip(PLANS[index][1])
    doc, number, _ = CASES[index]
    done = runner.result(index)
    command = done.args[-1] if isinstance(done.args, list) else done.args
    expected = next((text for pattern, text, _ in FAILS if re.search(pattern, command)), None)
    if expected:
        assert done.returncode not in (0, "timeout") and expected in done.stderr, done.stderr[-2500:]
        return
    assert done.returncode == 0, (f"{doc.name}:{number}: `{command}` exited {done.returncode}\n"
                                  f"{done.stdout[-1500:]}\n{done.stderr[-2500:]}")
