"""Where a training step's time goes, op by op, read from the TensorFlow Profiler's own trace.

`trace` runs a function under `tf.profiler.experimental` and returns the `.xplane.pb` file the
profiler writes (the file TensorBoard's Profile tab reads). `op_table` reads that file back with
the protobuf classes TensorFlow ships (`tensorflow.tsl.profiler.protobuf.xplane_pb2`) and adds up
the host's TensorFlow op events by op type: how many ran, their total and self time, and each
type's share of all op time. `profile_trainer` does both for the MLP trainer's compiled loop.

Why not TensorBoard's profile plugin (the `xprof` package): on PyPI it installs, but brings some
forty packages (Google Cloud storage clients, duckdb, aiohttp) into the course environment, for
a table that is a few dozen lines over the same protobuf. The file format is the same one.
"""

import collections
import glob
import os
import re

import tensorflow as tf
from tensorflow.tsl.profiler.protobuf import xplane_pb2

# The profiler names an op's event "<node name>:<op type>", e.g. "gradient_tape/MatMul:_MklMatMul".
# Its own bookkeeping events use "::" or spaces ("ExecutorState::Process", "EagerLocalExecute: f").
_OP_EVENT = re.compile(r"^[^\s:]+:([A-Za-z_][A-Za-z0-9_]*)$")
_PS_PER_US = 1e6

OpRow = collections.namedtuple("OpRow", "op_type count total_us self_us share")
OpRow.__doc__ = """One op type: runs counted, total and self microseconds, share of all op self time."""


def trace(function, logdir, calls=10):
    """Runs function() `calls` times under the TensorFlow Profiler.

    Trace the function once before (a warm-up call) so the trace holds steady-state steps,
    not tracing and graph building.

    Args:
      function: a callable taking no arguments (e.g. a tf.function's call with its inputs bound);
        it should end on a host value (`.numpy()`) so the trace holds the whole of each call.
      logdir: the profiler's log directory (TensorBoard's --logdir shows it under Profile).
      calls: how many calls to record.
    Returns:
      the path of the `.xplane.pb` file this trace wrote.
    """
    if calls < 1:
        raise ValueError(f"calls must be a positive number of calls to record, got {calls!r}")
    before = set(_xplane_files(logdir))
    # Level 3 records every op; the default (2) drops the ones TensorFlow deems inexpensive.
    options = tf.profiler.experimental.ProfilerOptions(host_tracer_level=3, python_tracer_level=0)
    tf.profiler.experimental.start(logdir, options=options)
    try:
        for _ in range(calls):
            function()
    finally:
        tf.profiler.experimental.stop()
    new = sorted(set(_xplane_files(logdir)) - before)
    if not new:
        raise RuntimeError(f"the profiler wrote no .xplane.pb under {logdir}")
    return new[-1]


def _xplane_files(logdir):
    return glob.glob(os.path.join(logdir, "plugins", "profile", "*", "*.xplane.pb"))


def read_xspace(path):
    """The profiler's XSpace protobuf from a `.xplane.pb` file.

    Args:
      path: a file `trace` returned (or any `.xplane.pb` the profiler wrote).
    Returns:
      a `xplane_pb2.XSpace`.
    """
    if not str(path).endswith(".xplane.pb"):
        raise ValueError(f"expected a profiler trace file ending in .xplane.pb, got {path}")
    space = xplane_pb2.XSpace()
    with open(path, "rb") as file:
        space.ParseFromString(file.read())
    return space


def _host_plane(space):
    for plane in space.planes:
        if plane.name == "/host:CPU":
            return plane
    raise ValueError("the trace has no /host:CPU plane: was it written by tf.profiler on this host?")


def op_events(space):
    """Every TensorFlow op the host ran in the trace, with its self time.

    An op's self time is its duration less the ops nested inside it on the same thread (a
    function-call op such as the training loop's `While` contains the ops of its body).

    Args:
      space: an XSpace (`read_xspace`).
    Returns:
      list of (node name, op type, duration in picoseconds, self time in picoseconds).
    """
    plane = _host_plane(space)
    found = []
    for line in plane.lines:
        # (end, index into found) of the ops still open at this point of the line.
        open_ops = []
        for event in sorted(line.events, key=lambda e: (e.offset_ps, -e.duration_ps)):
            name = plane.event_metadata[event.metadata_id].name
            match = _OP_EVENT.match(name)
            if not match:
                continue
            start, end = event.offset_ps, event.offset_ps + event.duration_ps
            while open_ops and open_ops[-1][0] <= start:
                open_ops.pop()
            if open_ops:  # nested: its time is not its parent's own
                parent = found[open_ops[-1][1]]
                parent[3] -= event.duration_ps
            found.append([name.rsplit(":", 1)[0], match.group(1), event.duration_ps, event.duration_ps])
            open_ops.append((end, len(found) - 1))
    return [tuple(row) for row in found]


def op_table(space_or_path):
    """The op-by-op table of a trace: per op type, count, total and self time, share of self time.

    Args:
      space_or_path: an XSpace or the path of a `.xplane.pb` file.
    Returns:
      list of OpRow, the most self time first; share is a fraction of all op self time (sums to 1).
    """
    space = read_xspace(space_or_path) if isinstance(space_or_path, (str, os.PathLike)) else space_or_path
    events = op_events(space)
    if not events:
        raise ValueError("the trace holds no TensorFlow op events (did the traced function run any op?)")
    count, total, self_time = collections.Counter(), collections.Counter(), collections.Counter()
    for _, op_type, duration, own in events:
        count[op_type] += 1
        total[op_type] += duration
        self_time[op_type] += own
    all_self = sum(self_time.values())
    rows = [OpRow(op_type, count[op_type], total[op_type] / _PS_PER_US, self_time[op_type] / _PS_PER_US,
                  self_time[op_type] / all_self) for op_type in count]
    return sorted(rows, key=lambda row: -row.self_us)


def function_call_us(space):
    """Wall time of each tf.function call the trace holds, in microseconds, in call order.

    Args:
      space: an XSpace (`read_xspace`).
    Returns:
      list of floats, one per call of a tf.function (the profiler's `tf_function_call` events).
    """
    plane = _host_plane(space)
    call_stat = [key for key, meta in plane.stat_metadata.items() if meta.name == "tf_function_call"]
    calls = []
    for line in plane.lines:
        for event in line.events:
            if any(stat.metadata_id in call_stat for stat in event.stats):
                calls.append((event.offset_ps + line.timestamp_ns * 1000, event.duration_ps / _PS_PER_US))
    return [duration for _, duration in sorted(calls)]


def profile_trainer(trainer, iterator, logdir, steps_per_call=100, calls=5):
    """Traces the MLP trainer's compiled loop and returns where its steps' time went.

    Args:
      trainer: a tfcourse.training.Trainer (its loop is traced once here before recording).
      iterator: an iterator over `trainer.dataset(...)`.
      logdir: the profiler's log directory.
      steps_per_call: training steps per loop call (the benchmark's --steps_per_call).
      calls: loop calls recorded.
    Returns:
      dict with "table" (op_table's rows), "xplane" (the trace file), "step_us" (wall time of one
      training step, the calls' median over steps_per_call) and "op_us_per_step" (all op self
      time per step: more than step_us where ops overlap on threads, less where the executor idles).
    """
    trainer.train_steps(iterator, steps_per_call)  # trace and warm up outside the recording
    path = trace(lambda: trainer.train_steps(iterator, steps_per_call), logdir, calls)
    space = read_xspace(path)
    table = op_table(space)
    call_us = sorted(function_call_us(space))
    if not call_us:
        raise ValueError("the trace holds no tf.function call: nothing to divide into steps")
    return {"table": table, "xplane": path,
            "step_us": call_us[len(call_us) // 2] / steps_per_call,
            "op_us_per_step": sum(row.self_us for row in table) / (len(call_us) * steps_per_call)}


def format_op_table(rows, limit=15):
    """The table as aligned text (the `limit` op types with the most self time, then the rest summed).

    Args:
      rows: op_table's rows.
      limit: how many op types to show by name.
    Returns:
      a string, one op type a line.
    """
    lines = [f"{'op type':<34}{'count':>8}{'total us':>12}{'self us':>12}{'share':>8}"]
    for row in rows[:limit]:
        lines.append(f"{row.op_type:<34}{row.count:>8}{row.total_us:>12.0f}{row.self_us:>12.0f}{row.share:>8.1%}")
    rest = rows[limit:]
    if rest:
        lines.append(f"{f'({len(rest)} other op types)':<34}{sum(r.count for r in rest):>8}"
                     f"{sum(r.total_us for r in rest):>12.0f}{sum(r.self_us for r in rest):>12.0f}"
                     f"{sum(r.share for r in rest):>8.1%}")
    return "\n".join(lines)
