"""Specification of minicnn.training.progress: what a log, a terminal and a notebook see."""
import io

import numpy as np
import pytest

from minicnn.errors import ConfigError
from minicnn.training.progress import LOG_SECONDS, ProgressBar, progress


class FakeClock:
    """A clock the test advances by hand (no real time involved)."""

    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


class Terminal(io.StringIO):
    def isatty(self):
        return True


class JupyterStream(io.StringIO):
    """Stands in for ipykernel's output stream (what sys.stderr is inside a notebook)."""


JupyterStream.__module__ = "ipykernel.iostream"


def test_a_log_gets_one_plain_line_per_minute_and_a_final_line():
    out, clock = io.StringIO(), FakeClock()
    with ProgressBar(300, desc="epoch 1", stream=out, clock=clock) as bar:
        for _ in range(150):                     # 150 s of work, an update every second
            clock.now += 1
            bar.update(2, loss=1.23456, acc=np.float32(0.5))
    text = out.getvalue()
    lines = text.splitlines()
    assert "\r" not in text
    assert len(lines) == 3                       # at 60 s, at 120 s, then close()
    assert lines[0].startswith("epoch 1:  40%|") and lines[0].endswith(
        "| 120/300 [01:00<01:30,  2.00img/s, loss=1.235, acc=0.5]")
    assert lines[-1].startswith("epoch 1: 100%|") and "300/300 [02:30<00:00" in lines[-1]


def test_short_work_in_a_log_prints_only_its_final_line():
    out, clock = io.StringIO(), FakeClock()
    with ProgressBar(10, unit="batch", stream=out, clock=clock) as bar:
        for _ in range(10):
            clock.now += LOG_SECONDS / 20
            bar.update(1)
    assert out.getvalue().splitlines() == [f"100%|{'#' * 60}| 10/10 [00:30<00:00,  3.00s/batch]"]


def test_unknown_total_logs_the_count_by_time():
    out, clock = io.StringIO(), FakeClock()
    with ProgressBar(None, desc="HOG", unit="img", stream=out, clock=clock) as bar:
        for _ in range(25):
            clock.now += 6
            bar.update(100)
    assert out.getvalue().splitlines() == ["HOG: 1000img [01:00, 16.67img/s]", "HOG: 2000img [02:00, 16.67img/s]",
                                           "HOG: 2500img [02:30, 16.67img/s]"]


def test_a_terminal_gets_a_bar_redrawn_in_place():
    out = Terminal()
    with ProgressBar(50, desc="epoch 2", stream=out) as bar:
        for _ in range(50):
            bar.update(1, loss=0.5)
    text = out.getvalue()
    assert text.count("\r") >= 2 and text.endswith("\n") and text.count("\n") == 1
    assert "epoch 2: 100%" in text and "50/50" in text and "loss=0.5" in text


def test_a_notebook_gets_a_live_bar_not_log_lines():
    out = JupyterStream()
    with ProgressBar(20, stream=out) as bar:
        bar.update(20)
    assert "\r" in out.getvalue() and "20/20" in out.getvalue()


@pytest.mark.parametrize("stream", [Terminal, io.StringIO])
def test_write_prints_a_message_on_its_own_line(stream):
    out = stream()
    with ProgressBar(4, stream=out, clock=FakeClock()) as bar:
        bar.write("epoch 1: val_acc=0.5")
    assert "epoch 1: val_acc=0.5\n" in out.getvalue()


def test_quiet_prints_nothing():
    out = Terminal()
    with ProgressBar(10, quiet=True, stream=out) as bar:
        bar.update(10, loss=1.0)
        bar.write("hello")
    assert out.getvalue() == "" and bar.n == 10


def test_progress_iterates_and_closes_even_when_left_early():
    out = io.StringIO()
    seen = []
    for item in progress(range(5), desc="load", stream=out, clock=FakeClock()):
        seen.append(item)
        if item == 2:
            break
    assert seen == [0, 1, 2]
    assert out.getvalue().splitlines()[-1].startswith("load:  40%|")
    assert list(progress(iter("ab"), quiet=True)) == ["a", "b"]


def test_close_is_idempotent():
    out = io.StringIO()
    bar = ProgressBar(3, stream=out, clock=FakeClock())
    bar.update(3)
    bar.close()
    bar.close()
    assert out.getvalue().count("\n") == 1 and "3/3" in out.getvalue()


def test_long_runs_show_hours():
    out, clock = io.StringIO(), FakeClock()
    bar = ProgressBar(2, stream=out, clock=clock)
    clock.now += 3725
    bar.update(1)
    assert "[1:02:05<1:02:05," in out.getvalue()


@pytest.mark.parametrize("total", [-1, 2.5, "many"])
def test_bad_total_is_a_config_error(total):
    with pytest.raises(ConfigError, match="ProgressBar: total"):
        ProgressBar(total, stream=io.StringIO())
