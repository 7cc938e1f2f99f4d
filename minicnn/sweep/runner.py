"""Run a sweep's trials on Dask distributed: a local cluster or an existing one.

- :func:`open_client` connects to ``--scheduler ADDRESS`` or starts a
  ``LocalCluster`` on this machine: worker *processes* with one thread each,
  bound to 127.0.0.1, no dashboard. One worker per core on NumPy (BLAS kept to
  one thread per worker), one per GPU when ``MINICNN_BACKEND=cupy`` (each with
  its own ``CUDA_VISIBLE_DEVICES``).
- :func:`run_trials` submits every trial that has no finished result yet and
  records each one the moment it completes (``distributed.as_completed``), so
  finished trials survive any later crash.

Failures. A trial whose worker process dies (killed, out of memory, segfault)
is run once more (``RETRIES``); if its worker dies again the trial is recorded
as failed ("worker died on each of 2 attempts"). Dask reports a dead worker's
tasks as ``KilledWorker`` (the scheduler's ``allowed-failures`` is set to 0 so
it reports at the first death); the sweep then re-submits the trial itself,
because only it knows whether the trial had *started* on that worker (each
attempt counts its start in the scheduler's metadata): a trial that was merely
queued behind the one that killed the worker is re-submitted without being
charged an attempt. A trial that *raises* is recorded as failed at once with
the exception: a Python error in a seeded training run is deterministic, so
running it again would fail the same way. Other trials go on either way.

A task's return value lives on its worker until the client fetches it; if the
worker dies in between, Dask would train again. So each attempt also stores
its outcome in the scheduler's metadata before returning, and a re-run
returns that stored outcome at once.
"""
import contextlib
import json
import logging
import os
import socket
import time
import traceback
import uuid

from ..errors import ConfigError
from ..extras import require

RETRIES = 1
"""How many times a killed worker's trial is run again before it is reported failed."""

METADATA_ROOT = "minicnn-sweep"
"""Scheduler metadata key under which running sweeps keep attempt counts and outcomes."""

BLAS_THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def _distributed():
    return require("distributed", "sweeps")


def gpu_devices():
    """Device ids for one worker per GPU: CUDA_VISIBLE_DEVICES if set, else all GPUs."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible:
        return [d.strip() for d in visible.split(",") if d.strip()]
    from ..backend import _import_cupy
    return [str(i) for i in range(_import_cupy().cuda.runtime.getDeviceCount())]


def worker_env(backend):
    """Environment of every local worker: one BLAS thread, the same array backend."""
    env = {var: "1" for var in BLAS_THREAD_VARS}
    env["MINICNN_BACKEND"] = backend
    return env


@contextlib.contextmanager
def local_cluster(workers=None, backend=None):
    """A LocalCluster for this machine (see module docstring), closed on exit.

    ``workers`` overrides the worker count. While the cluster lives, Dask's
    ``distributed.deploy.lost-worker-timeout`` is set to a day: otherwise the
    cluster closes for good the nanny of a worker that happens to be dead (just
    killed, restarting) 15 s after an earlier death of that worker, and the
    sweep would lose that worker slot.
    """
    dask = require("dask", "sweeps")
    distributed = _distributed()
    backend = backend or os.environ.get("MINICNN_BACKEND", "numpy").strip().lower() or "numpy"
    devices = gpu_devices() if backend == "cupy" else None
    if workers is None:
        workers = len(devices) if devices else (len(os.sched_getaffinity(0))
                                                if hasattr(os, "sched_getaffinity") else os.cpu_count())
    if not isinstance(workers, int) or workers < 1:
        raise ConfigError(f"--workers must be a positive integer, got {workers!r}")
    env = worker_env(backend)
    with dask.config.set({"distributed.deploy.lost-worker-timeout": "1 day"}):
        cluster = distributed.LocalCluster(
            n_workers=0 if devices else workers, threads_per_worker=1, processes=True,
            host="127.0.0.1", dashboard_address=None, silence_logs=logging.ERROR, env=env,
            # no dashboard; the scheduler's small HTTP server (health, metrics) on a free loopback port
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"})
        with cluster:
            if devices:
                # One worker per GPU: worker i sees only device devices[i % len(devices)].
                template = cluster.new_spec
                for i in range(workers):
                    options = dict(template["options"],
                                   env=dict(env, CUDA_VISIBLE_DEVICES=devices[i % len(devices)]))
                    cluster.worker_spec[i] = {"cls": template["cls"], "options": options}
                cluster.scale(workers)
            yield cluster


def configure_scheduler(client):
    """Make ``client``'s scheduler report killed workers' tasks at once (see module docstring).

    Returns the previous ``allowed_failures``.
    """
    def report_at_first_death(dask_scheduler):
        # Defined here so that it is pickled by value: the scheduler needs no minicnn.
        old = dask_scheduler.allowed_failures
        dask_scheduler.allowed_failures = 0
        return old

    return client.run_on_scheduler(report_at_first_death)


@contextlib.contextmanager
def open_client(scheduler=None, workers=None, log=print):
    """A ``distributed.Client``: on ``scheduler`` (an address) or on a new local cluster."""
    distributed = _distributed()
    if scheduler:
        if workers is not None:
            raise ConfigError("--workers sizes the local cluster; an existing cluster (--scheduler) "
                              "has the workers started on it")
        try:
            client = distributed.Client(scheduler, timeout="20s")
        except (OSError, TimeoutError) as exc:
            raise ConfigError(f"cannot reach the Dask scheduler at {scheduler} ({exc}); start it with "
                              "`dask scheduler` or drop --scheduler to use this machine") from exc
        with client:
            old = configure_scheduler(client)
            log(f"scheduler {scheduler}: allowed-failures {old} -> 0 (the sweep retries killed trials itself)")
            log(f"scheduler {scheduler}: {len(client.scheduler_info()['workers'])} workers")
            yield client
        return
    with local_cluster(workers) as cluster, distributed.Client(cluster) as client:
        client.wait_for_workers(len(cluster.worker_spec))
        log(f"local Dask cluster: {len(cluster.worker_spec)} worker processes x 1 thread on 127.0.0.1")
        yield client


def execute(trial_fn, config, seed, data, record):
    """Run one attempt of a trial on a worker: ``trial_fn(config, seed, data)``, timed.

    ``record`` is the trial's metadata key on the scheduler: the attempt adds
    one to ``record + ["starts"]`` before training and stores its outcome at
    ``record + ["outcome"]`` before returning; an outcome already stored there
    is returned without training again.
    """
    client = _distributed().get_client()
    done = client.get_metadata(record + ["outcome"], default=None)
    if done is not None:
        return done
    client.set_metadata(record + ["starts"], client.get_metadata(record + ["starts"], default=0) + 1)
    start = time.perf_counter()
    metrics = _plain(trial_fn(config, seed, data))
    out = {"metrics": metrics, "duration_s": round(time.perf_counter() - start, 3),
           "worker": f"{socket.gethostname()}:{os.getpid()}"}
    client.set_metadata(record + ["outcome"], out)
    return out


def _plain(obj):
    """``obj`` as plain JSON types (NumPy scalars and arrays included), for metadata and files."""
    def default(o):
        if hasattr(o, "tolist"):
            return o.tolist()
        raise TypeError(f"a trial returned a {type(o).__name__}, which is not JSON data")
    return json.loads(json.dumps(obj, default=default))


def _score(metrics):
    """The trial's validation accuracy (a float), or a ValueError naming what is wrong."""
    if not isinstance(metrics, dict) or "val_acc" not in metrics:
        raise ValueError(f"trial returned {type(metrics).__name__} without \"val_acc\"")
    return float(metrics["val_acc"])


def _record_done(store, trial, outcome, future, starts):
    """Write the result of ``trial`` and return it: ``outcome`` is what its attempt stored
    (None if it has none), ``future`` its last task (for the error), ``starts`` its attempts."""
    base = {"key": trial.key, "index": trial.index, "seed": trial.seed, "params": trial.params}
    if outcome is not None:
        metrics = outcome["metrics"]
        try:
            score = _score(metrics)
        except (TypeError, ValueError) as exc:
            result = dict(base, status="failed", error=str(exc))
            store.record(trial, result)
            return result
        result = dict(base, status="ok", val_acc=score, val_loss=metrics.get("val_loss"),
                      duration_s=outcome["duration_s"], worker=outcome["worker"])
        store.record(trial, result, metrics)
        return result
    exc = future.exception() if future.status == "error" else None
    if exc is None:
        error, tb = f"trial {future.status} (the cluster lost it)", None
    elif isinstance(exc, _distributed().KilledWorker):
        error = f"worker died on each of {starts} attempts (last: {exc.last_worker.address})"
        tb = None
    else:
        error = f"{type(exc).__name__}: {exc}"
        tb = "".join(traceback.format_tb(future.traceback())) if future.traceback() else None
    result = dict(base, status="failed", error=error, traceback=tb)
    store.record(trial, result)
    return result


def run_trials(client, trials, trial_fn, store, data, on_result=None, log=print):
    """Run ``trials`` on ``client``, skipping those ``store`` holds as finished.

    ``trial_fn(config, seed, data) -> {"val_acc": float, ...}`` runs on the
    workers and must be importable there (a module-level function). Each
    result is written by ``store.record`` as soon as its trial completes, then
    ``on_result(result)`` is called (e.g. to refresh the report).
    Returns ``{"skipped": n, "ok": n, "failed": n}``.
    """
    distributed = _distributed()
    configure_scheduler(client)
    counts = {"skipped": 0, "ok": 0, "failed": 0}
    pending = []
    for trial in trials:
        if store.finished(trial):
            counts["skipped"] += 1
        else:
            pending.append(trial)
    if counts["skipped"]:
        log(f"{counts['skipped']} of {len(trials)} trials already finished: skipped")
    run = uuid.uuid4().hex[:12]
    futures = {}

    def submit(trial):
        record = [METADATA_ROOT, run, trial.key]
        future = client.submit(execute, trial_fn, trial.config, trial.seed, data, record, pure=False,
                               key=f"minicnn-trial-{trial.index}-{trial.key}-{run}-{uuid.uuid4().hex[:6]}")
        futures[future] = trial
        return future

    for trial in pending:
        store.prepare(trial)
    queue = distributed.as_completed([submit(trial) for trial in pending])
    try:
        for future in queue:
            trial = futures.pop(future)
            # The outcome is read from the scheduler, not from the task's worker, which may
            # have died since the task finished.
            record = client.get_metadata([METADATA_ROOT, run, trial.key], default={})
            outcome, starts = record.get("outcome"), record.get("starts", 0)
            killed = future.status == "error" and isinstance(future.exception(), distributed.KilledWorker)
            if outcome is None and killed and starts <= RETRIES:
                # its worker died while it ran (a first time) or while it waited: run it again
                when = f"in attempt {starts}" if starts else "before it started"
                log(f"trial-{trial.index}: its worker died {when}; running it again")
                queue.add(submit(trial))
                continue
            result = _record_done(store, trial, outcome, future, starts)
            client.cancel([future])  # stops a re-run Dask may have started for a lost result
            counts[result["status"]] += 1
            if result["status"] == "ok":
                log(f"trial-{trial.index}: val_acc {result['val_acc']:.4f} ({result['duration_s']:.1f} s) "
                    f"{trial.params}")
            else:
                log(f"trial-{trial.index}: FAILED: {result['error']}")
            if on_result:
                on_result(result)
    finally:
        if futures:
            client.cancel(list(futures))
        client.set_metadata([METADATA_ROOT, run], None)  # free the run's records
    return counts
