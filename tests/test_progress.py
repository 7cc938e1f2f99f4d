"""Specification of minicnn.training.progress: what a log and a terminal see."""
import io

import numpy as np
import pytest

from minicnn.errors import ConfigError
from minicnn.training.progress import ProgressBar, progress


class FakeClock:
    """A clock the test advances by hand (no real time involved)."""

    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_log_stream_gets_plain_lines_every_tenth_with_count_rate_and_eta():
    out, clock = io.StringIO(), FakeClock()
    with ProgressBar(200, desc="epoch 1", stream=out, clock=clock) as bar:
        for _ in range(40):
            clock.now += 0.5
            bar.update(5, loss=1.23456, acc=np.float32(0.5))
    text = out.getvalue()
    lines = text.splitlines()
    assert "\r" not in text
    assert len(lines) == 10                      # 10%, 20%, ..., 90%, then close()
    # after 4 updates: 20/200 in 2 s -> 10 img/s, 180 left -> ETA 18 s
    assert lines[0] == ("epoch 1:  10%|##.......................| 20/200 "
                        "[00:02<00:18, 10.0 img/s] loss=1.235 acc=0.5")
    assert lines[-1].startswith("epoch 1: 100%|#########################| 200/200 [done in 00:20, 10.0 img/s]")


def test_big_jumps_print_one_line_not_one_per_tenth():
    out, clock = io.StringIO(), FakeClock()
    bar = ProgressBar(10, unit="batch", stream=out, clock=clock)
    clock.now += 2
    bar.update(7)
    assert out.getvalue().splitlines() == ["70%|#################........| 7/10 [00:02<00:01, 3.50 batch/s]"]


def test_unknown_total_logs_by_time_and_shows_the_count():
    out, clock = io.StringIO(), FakeClock()
    with ProgressBar(None, desc="HOG", unit="img", stream=out, clock=clock) as bar:
        for _ in range(25):
            clock.now += 1
            bar.update(100)
    lines = out.getvalue().splitlines()
    assert lines == ["HOG: 1000 img [00:10<?, 100 img/s]", "HOG: 2000 img [00:20<?, 100 img/s]",
                     "HOG: 2500 img [done in 00:25, 100 img/s]"]


def test_terminal_redraws_in_place_at_most_ten_times_a_second():
    out, clock = Terminal(), FakeClock()
    bar = ProgressBar(1000, stream=out, clock=clock)    # draws 0% at once
    for _ in range(100):                                 # 100 updates within 0.099 s: no redraw
        clock.now += 0.00099
        bar.update(1)
    clock.now += 0.01
    bar.update(1)                                        # 0.109 s after the first draw: redraw
    bar.close()
    text = out.getvalue()
    assert text.count("\r") == 3 and text.endswith("\n") and text.count("\n") == 1
    assert "101/1000" in text


def test_write_prints_a_message_above_the_bar():
    out = Terminal()
    with ProgressBar(4, stream=out, clock=FakeClock()) as bar:
        bar.write("epoch 1: val_acc=0.5")
    assert "\repoch 1: val_acc=0.5\n" in out.getvalue()


def test_quiet_prints_nothing():
    out = io.StringIO()
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


def test_close_is_idempotent_and_total_zero_is_complete():
    out = io.StringIO()
    bar = ProgressBar(0, stream=out, clock=FakeClock())
    bar.close()
    bar.close()
    assert out.getvalue().count("\n") == 1 and "100%" in out.getvalue()


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
