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
is re-run once on another worker by the scheduler (its ``allowed_failures`` is
set to 1); if that worker dies too the trial is recorded as failed with Dask's
``KilledWorker`` reason. A trial that *raises* is recorded as failed at once
with the exception: a Python error in a seeded training run is deterministic,
so running it again would fail the same way. Other trials go on either way.
"""
import contextlib
import logging
import os
import socket
import time
import traceback
import uuid

from ..errors import ConfigError

ALLOWED_FAILURES = 1
"""How many times a killed worker's trial is re-run before it is reported failed."""

BLAS_THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def _distributed():
    try:
        import distributed
    except ImportError as exc:
        raise ConfigError("sweeps need Dask distributed: pip install -e .[sweep]") from exc
    return distributed


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


def local_cluster(workers=None, backend=None):
    """A LocalCluster for this machine (see module docstring); ``workers`` overrides the count."""
    distributed = _distributed()
    backend = backend or os.environ.get("MINICNN_BACKEND", "numpy").strip().lower() or "numpy"
    devices = gpu_devices() if backend == "cupy" else None
    if workers is None:
        workers = len(devices) if devices else (len(os.sched_getaffinity(0))
                                                if hasattr(os, "sched_getaffinity") else os.cpu_count())
    if not isinstance(workers, int) or workers < 1:
        raise ConfigError(f"--workers must be a positive integer, got {workers!r}")
    env = worker_env(backend)
    cluster = distributed.LocalCluster(
        n_workers=0 if devices else workers, threads_per_worker=1, processes=True,
        host="127.0.0.1", dashboard_address=None, silence_logs=logging.ERROR,
        scheduler_kwargs={"allowed_failures": ALLOWED_FAILURES}, env=env)
    if devices:
        # One worker per GPU: worker i sees only device devices[i % len(devices)].
        template = cluster.new_spec
        for i in range(workers):
            options = dict(template["options"], env=dict(env, CUDA_VISIBLE_DEVICES=devices[i % len(devices)]))
            cluster.worker_spec[i] = {"cls": template["cls"], "options": options}
        cluster.scale(workers)
    return cluster


def _set_allowed_failures(dask_scheduler, n):
    old = dask_scheduler.allowed_failures
    dask_scheduler.allowed_failures = n
    return old


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
            old = client.run_on_scheduler(_set_allowed_failures, n=ALLOWED_FAILURES)
            if old != ALLOWED_FAILURES:
                log(f"scheduler {scheduler}: allowed-failures set from {old} to {ALLOWED_FAILURES}")
            log(f"scheduler {scheduler}: {len(client.scheduler_info()['workers'])} workers")
            yield client
        return
    cluster = local_cluster(workers)
    with cluster, distributed.Client(cluster) as client:
        client.wait_for_workers(len(cluster.worker_spec))
        log(f"local Dask cluster: {len(cluster.worker_spec)} worker processes x 1 thread on 127.0.0.1")
        yield client


def execute(trial_fn, config, seed, data):
    """Run one trial on a worker: ``trial_fn(config, seed, data)`` plus timing and where it ran."""
    start = time.perf_counter()
    metrics = trial_fn(config, seed, data)
    return {"metrics": metrics, "duration_s": round(time.perf_counter() - start, 3),
            "worker": f"{socket.gethostname()}:{os.getpid()}"}


def _failure_reason(exc):
    distributed = _distributed()
    if isinstance(exc, distributed.KilledWorker):
        return (f"worker died on each of {exc.allowed_failures + 1} attempts "
                f"(last: {exc.last_worker.address})")
    return f"{type(exc).__name__}: {exc}"


def _score(metrics):
    """The trial's validation accuracy (a float), or a ValueError naming what is wrong."""
    if not isinstance(metrics, dict) or "val_acc" not in metrics:
        raise ValueError(f"trial returned {type(metrics).__name__} without \"val_acc\"")
    return float(metrics["val_acc"])


def _record_done(store, trial, future):
    """Write the result of a completed ``future`` for ``trial``; return the result record."""
    base = {"key": trial.key, "index": trial.index, "seed": trial.seed, "params": trial.params}
    if future.status == "finished":
        out = future.result()
        try:
            score = _score(out["metrics"])
        except (TypeError, ValueError) as exc:
            result = dict(base, status="failed", error=str(exc))
            store.record(trial, result)
            return result
        metrics = out["metrics"]
        result = dict(base, status="ok", val_acc=score, val_loss=metrics.get("val_loss"),
                      duration_s=out["duration_s"], worker=out["worker"])
        store.record(trial, result, metrics)
        return result
    exc = future.exception()
    tb = "".join(traceback.format_tb(future.traceback())) if future.traceback() else None
    result = dict(base, status="failed", error=_failure_reason(exc), traceback=tb)
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
    counts = {"skipped": 0, "ok": 0, "failed": 0}
    pending = []
    for trial in trials:
        if store.finished(trial):
            counts["skipped"] += 1
        else:
            pending.append(trial)
    if counts["skipped"]:
        log(f"{counts['skipped']} of {len(trials)} trials already finished: skipped")
    token = uuid.uuid4().hex[:8]
    futures = {}
    for trial in pending:
        store.prepare(trial)
        future = client.submit(execute, trial_fn, trial.config, trial.seed, data, pure=False,
                               key=f"minicnn-trial-{trial.index}-{trial.key}-{token}")
        futures[future] = trial
    try:
        for future in distributed.as_completed(list(futures)):
            trial = futures.pop(future)
            result = _record_done(store, trial, future)
            future.release()
            counts[result["status"]] += 1
            if result["status"] == "ok":
                log(f"trial-{trial.index}: val_acc {result['val_acc']:.4f} ({result['duration_s']:.1f} s) {trial.params}")
            else:
                log(f"trial-{trial.index}: FAILED: {result['error']}")
            if on_result:
                on_result(result)
    finally:
        if futures:
            client.cancel(list(futures))
    return counts
