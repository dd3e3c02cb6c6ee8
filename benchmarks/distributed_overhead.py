"""What synchronous data parallel costs on this machine, and what the launcher adds.

One run measures, for the MNIST MLP (784-128-32-10, SGD 0.01, global batch 100):

  1. training throughput (examples/s) on 1 device, MirroredStrategy over 2 logical CPUs,
     and 2 worker processes started by `tfcourse launch -np 2` (MultiWorkerMirroredStrategy,
     gRPC ring all-reduce), each in a fresh process (logical CPUs and TF_CONFIG must be
     set before TensorFlow starts);
  2. in each of them, the all-reduce alone: a tf.function loop that only sums tensors of
     the gradients' shapes (104,938 floats, 420 KB) across the replicas, ms per step;
  3. the launcher's start-up overhead: wall time of `tfcourse launch -np 2 -- CMD` vs the
     same two workers started by hand with their TF_CONFIG, alternated over --rounds rounds,
     for two CMDs: `python -c pass` (the launcher's own machinery alone)
     and a 20-step `tfcourse train --fake_data` (a real job, whose MultiWorkerMirrored
     rendezvous and TensorFlow start-up vary with the machine's load).

The three setups run --throughput_rounds times, interleaved; every comparison is the median of
the paired per-round ratios (`tfcourse.paired.paired_ratio`), with its range; the launcher's
cost is the median of the per-round differences launched - by hand.

Usage:
    python benchmarks/distributed_overhead.py [--steps 500] [--throughput_rounds 3] [--rounds 2] [--json out.json]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, ROOT)

from tfcourse import paired  # noqa: E402

BATCH, LR, STEPS_PER_CALL = 100, 0.01, 50


def measure(role, steps):
    """Runs inside the fresh process: throughput and all-reduce ms/step under this role's strategy."""
    import tensorflow as tf

    from tfcourse import training
    from tfcourse.datasets import read_data_sets
    from tfcourse.distribute import strategies

    strategy, chief = strategies.make_strategy(2 if role == "mirrored" else None)
    data_sets = read_data_sets()
    config = training.TrainConfig(batch_size=BATCH, optimizer="sgd", learning_rate=LR, lr_schedule="constant",
                                  max_steps=10**9, steps_per_call=STEPS_PER_CALL, deterministic=False)
    trainer = training.Trainer(config, data_sets.train.num_examples, strategy)
    iterator = iter(trainer.dataset(data_sets.train))
    trainer.train_steps(iterator, STEPS_PER_CALL)  # trace and warm up
    start = time.perf_counter()
    for _ in range(steps // STEPS_PER_CALL):
        trainer.train_steps(iterator, STEPS_PER_CALL)
    step_seconds = (time.perf_counter() - start) / (steps // STEPS_PER_CALL * STEPS_PER_CALL)

    shapes = [v.shape for v in trainer.model.trainable_variables]

    @tf.function
    def reduce_only(num_steps):
        # The same gradient-shaped tensors every step, summed across replicas and nothing else.
        def replica_fn(scale):
            tensors = [tf.fill(shape, scale) for shape in shapes]
            reduced = tf.distribute.get_replica_context().all_reduce(tf.distribute.ReduceOp.SUM, tensors)
            # Use one element of every result, so no reduction is pruned as unused.
            return tf.add_n([tf.reshape(t, [-1])[0] for t in reduced])
        total = tf.constant(0.0)
        for i in tf.range(num_steps):
            out = strategy.run(replica_fn, args=(tf.cast(i, tf.float32),))
            total += tf.reduce_sum(strategy.experimental_local_results(out)[0])
        return total

    reduce_only(tf.constant(10)).numpy()
    start = time.perf_counter()
    reduce_only(tf.constant(steps)).numpy()  # the host has the sum: every reduction has finished
    reduce_seconds = (time.perf_counter() - start) / steps
    return {"role": role, "replicas": strategy.num_replicas_in_sync, "chief": chief,
            "examples_per_sec": BATCH / step_seconds, "step_ms": step_seconds * 1e3,
            "allreduce_ms": reduce_seconds * 1e3,
            "gradient_floats": int(sum(s.num_elements() for s in shapes))}


def _result_line(text):
    for line in text.splitlines():
        if "RESULT " in line:
            return json.loads(line.split("RESULT ", 1)[1])
    raise RuntimeError(f"no RESULT line in:\n{text[-3000:]}")


def _run(argv, timeout=240):
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    if done.returncode:
        raise RuntimeError(f"{argv} exited {done.returncode}:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return done.stdout


def throughput(steps):
    me = [sys.executable, os.path.abspath(__file__), "--steps", str(steps)]
    rows = [_result_line(_run([*me, "--role", "single"])), _result_line(_run([*me, "--role", "mirrored"]))]
    out = _run([sys.executable, "-m", "tfcourse", "launch", "-np", "2", "--timeout", "200", "--",
                *me, "--role", "worker"])
    rows.append(_result_line("\n".join(line for line in out.splitlines() if line.startswith("[worker 0]"))))
    return rows


def launcher_overhead(rounds, job):
    """Best wall seconds of the same 2-worker job, by hand vs `tfcourse launch -np 2`.

    job: "pass" (`python -c pass`) or "train" (a 20-step `tfcourse train --fake_data`).
    """
    from tfcourse.distribute import tfconfig

    scratch = tempfile.mkdtemp(prefix="tfcourse-bench-launch-")

    def command(name):
        if job == "pass":
            return [sys.executable, "-c", "pass"]
        return [sys.executable, "-m", "tfcourse", "train", "--fake_data", "--max_steps", "20", "--batch_size", "100",
                "--optimizer", "sgd", "--steps_per_call", "10", "--no_progress", "--log_dir", os.path.join(scratch, name)]

    def by_hand(name):
        cluster = tfconfig.cluster_spec(2, tfconfig.free_ports(2))
        start = time.perf_counter()
        workers = [subprocess.Popen(command(name), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                    env=dict(os.environ, TF_CONFIG=tfconfig.tf_config(cluster, "worker", index)))
                   for index in range(2)]
        codes = [w.wait(timeout=200) for w in workers]
        if any(codes):
            raise RuntimeError(f"hand-started workers exited {codes}")
        return time.perf_counter() - start

    def launched(name):
        start = time.perf_counter()
        _run([sys.executable, "-m", "tfcourse", "launch", "-np", "2", "--timeout", "200", "--", *command(name)])
        return time.perf_counter() - start

    hand, launcher = [], []
    for round_index in range(rounds):
        # Alternate who goes first, so neither always meets a warmer page cache or a quieter machine.
        order = (by_hand, launched) if round_index % 2 == 0 else (launched, by_hand)
        for run in order:
            (hand if run is by_hand else launcher).append(run(f"{run.__name__}{round_index}"))
    return {"job": job, "by_hand_all": hand, "launcher_all": launcher,
            "difference_s_median": statistics.median(b - a for a, b in zip(hand, launcher))}


NAMES = {"single": "1 device", "mirrored": "MirroredStrategy, 2 logical CPUs", "worker": "2 workers (launch -np 2, MWMS)"}


def paired_rows(rounds):
    """Per setup: median examples/s, step and all-reduce ms over rounds, and vs 1 device paired by round."""
    single = [row["examples_per_sec"] for row in (r[0] for r in rounds)]
    rows = []
    for index, role in enumerate(("single", "mirrored", "worker")):
        per_round = [r[index] for r in rounds]
        rates = [row["examples_per_sec"] for row in per_round]
        rows.append({"role": role, "replicas": per_round[0]["replicas"],
                     "examples_per_sec_rounds": rates, "examples_per_sec": statistics.median(rates),
                     "step_ms": statistics.median(row["step_ms"] for row in per_round),
                     "allreduce_ms": statistics.median(row["allreduce_ms"] for row in per_round),
                     "gradient_floats": per_round[0]["gradient_floats"],
                     "vs_1_device": paired.as_dict(paired.paired_ratio(rates, single))})
    return rows


def report(rows, launch_times):
    single = rows[0]
    lines = [f"MNIST MLP 784-128-32-10, SGD {LR}, global batch {BATCH}, {STEPS_PER_CALL} steps per call, "
             f"{os.cpu_count()} CPU cores; medians over rounds, vs 1 device: median of paired per-round ratios",
             f"{'setup':<38}{'replicas':>9}{'examples/s':>12}{'ms/step':>9}{'all-reduce ms':>15}  vs 1 device"]
    for row in rows:
        ratio = paired.PairedRatio(**row["vs_1_device"])
        lines.append(f"{NAMES[row['role']]:<38}{row['replicas']:>9}{row['examples_per_sec']:>12,.0f}"
                     f"{row['step_ms']:>9.2f}{row['allreduce_ms']:>15.2f}  {paired.describe(ratio)}")
    lines.append("(1 device: nothing to reduce; its all-reduce column is the timing loop's own cost)")
    for row in rows[1:]:
        extra = row["step_ms"] - single["step_ms"]
        share = 100 * row["allreduce_ms"] / extra if extra > 0 else float("nan")
        lines.append(f"  {NAMES[row['role']]}: +{extra:.2f} ms/step over 1 device, of which all-reduce "
                     f"{row['allreduce_ms']:.2f} ms ({share:.0f}%)")
    jobs = {"pass": "python -c pass", "train": "20-step tfcourse train --fake_data"}
    if launch_times:
        lines += ["", "Launcher start-up overhead, 2 workers, same command (goal: under 5 s):"]
    for times in launch_times:
        lines.append(f"  {jobs[times['job']]:<36} launch - by hand, median of {len(times['launcher_all'])} paired "
                     f"rounds {times['difference_s_median']:+.2f} s (by hand "
                     f"{', '.join(f'{t:.1f}' for t in times['by_hand_all'])} s, launch "
                     f"{', '.join(f'{t:.1f}' for t in times['launcher_all'])} s)")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=500, help="timed training steps per setup")
    parser.add_argument("--rounds", type=int, default=2, help="launcher vs by-hand rounds (0: skip)")
    parser.add_argument("--throughput_rounds", type=int, default=3, help="rounds of the three setups")
    parser.add_argument("--json", help="also write the numbers to this file")
    parser.add_argument("--role", choices=("single", "mirrored", "worker"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role:
        result = measure(args.role, args.steps)
        if result["chief"]:
            print("RESULT " + json.dumps(result), flush=True)
        return
    if args.throughput_rounds < 1:
        parser.error("--throughput_rounds must be >= 1")
    started = time.perf_counter()
    load_before = os.getloadavg()
    rows = paired_rows([throughput(args.steps) for _ in range(args.throughput_rounds)])
    launch_times = [launcher_overhead(args.rounds + 1, "pass"), launcher_overhead(args.rounds, "train")] \
        if args.rounds else []
    print(report(rows, launch_times))
    print(f"(benchmark wall time {time.perf_counter() - started:.0f} s)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"run": paired.run_record(sys.argv, load_before, os.getloadavg()),
                       "statistic": "median of paired per-round ratios (tfcourse.paired.paired_ratio)",
                       "throughput": rows, "launcher": launch_times}, f, indent=1)


if __name__ == "__main__":
    main()
