"""Synchronous vs asynchronous parameter-server steps with a straggler (tfcourse.distribute.syncps)."""

import numpy as np
import pytest

from tfcourse.datasets import read_data_sets
from tfcourse.distribute import syncps
from tfcourse.errors import CourseError

# Worker 1 sleeps this long after each gradient; the MLP's gradient on a batch of 100 takes a few
# ms, tens under a heavy load: far less than the delay, which is what the assertions rely on.
SLOW = 0.15
DELAYS = (0.0, SLOW)


@pytest.fixture(scope="module")
def train_set():
    return read_data_sets(seed=0).train


def test_sync_step_waits_for_the_straggler_and_uses_every_gradient(train_set):
    run = syncps.train_ps(train_set, "sync", DELAYS, steps=4)
    assert run.updates == 4
    # One update per step, and every update averaged both workers' gradients.
    assert run.contributors == [(0, 1)] * 4
    assert run.updates_by_worker().tolist() == [4, 4]
    # Every step lasts at least the slow worker's delay: the fast one waits at the ps.
    assert np.all(np.diff(run.update_times, prepend=0.0) >= SLOW)
    assert np.all(np.isfinite(run.losses))


def test_async_updates_keep_flowing_from_the_fast_worker(train_set):
    sync = syncps.train_ps(train_set, "sync", DELAYS, steps=4)
    run = syncps.train_ps(train_set, "async", DELAYS, seconds=sync.seconds)
    fast, slow = run.updates_by_worker()
    # Each async update carries one worker's gradient; the slow worker lands about one per delay.
    assert all(len(workers) == 1 for workers in run.contributors)
    assert slow <= sync.seconds / SLOW + 1
    # What holds however long a gradient takes on a loaded machine (compute c per update): the
    # slow worker's updates are at least its delay apart; the fast one, needing c against c + SLOW,
    # lands at least as many (give or take the one under way when time ran out); async lands
    # updates faster than sync, whose every step lasts c + SLOW.
    slow_times = np.asarray([t for t, workers in zip(run.update_times, run.contributors) if workers == (1,)])
    assert len(slow_times) == slow and np.all(np.diff(slow_times) >= SLOW)
    assert fast >= slow - 1
    assert run.updates / run.seconds > sync.updates / sync.seconds
    rows = syncps.straggler_rows([sync, run], DELAYS)
    assert [row["mode"] for row in rows] == ["sync", "async"]
    assert "w1 (sleeps 0.15 s)" in syncps.format_straggler(rows)


def test_synchronous_updates_train_the_model(train_set):
    # The averaged update must go downhill: a wrong sign or scale of the mean gradient would not.
    run = syncps.train_ps(train_set, "sync", (0.0, 0.0), steps=30, learning_rate=0.1)
    assert run.losses[-5:].mean() < run.losses[:5].mean() - 0.2


@pytest.mark.parametrize("kwargs, message", [
    (dict(mode="both"), "mode must be one of sync, async"),
    (dict(mode="sync", delays_s=()), "one delay"),
    (dict(mode="sync", delays_s=(0.0, -1.0)), "seconds >= 0"),
    (dict(mode="sync", steps=0), "steps must be a positive integer"),
    (dict(mode="async", seconds=0), "seconds must be a positive finite number, got 0"),
    (dict(mode="sync", learning_rate=-0.1), "learning_rate must be a positive finite number, got -0.1"),
])
def test_bad_arguments_say_what_was_expected(train_set, kwargs, message):
    with pytest.raises(CourseError, match=message):
        syncps.train_ps(train_set, **kwargs)
