"""Exercises of notebook 09 (distributed): accuracy under `strategy.run`, a worker's TF_CONFIG,
how a last partial batch is split, and a prediction of staleness in asynchronous training.

    from tfcourse.exercises import nb09 as ex

The replicas' work is checked under a MirroredStrategy with 2 replicas on "/cpu:0" and "/cpu:1". The
notebook's first cell splits the CPU into those 2 logical devices before TensorFlow starts (the
exercise section runs after it). In a process that started TensorFlow with one CPU device (a
test run, a kernel restarted without that cell) soft placement puts both replicas on /cpu:0:
still 2 replicas, each with its own copy of the variables and its part of the batch, so the
arithmetic the check compares is the same.
"""

import json
import os

import numpy as np

from tfcourse.exercises.core import (
    AnswerError,
    Case,
    FunctionExercise,
    Mistake,
    ValueExercise,
    answered,
    compare_values,
)

REPLICA_DEVICES = ("/cpu:0", "/cpu:1")
_STRATEGY = []  # one strategy per process, built by the first check that needs it


def _strategy():
    """The 2-replica MirroredStrategy every check of this notebook uses."""
    import tensorflow as tf

    if not _STRATEGY:
        # No NCCL on CPUs: reducing through one device works on any machine (as strategies.make_strategy does).
        _STRATEGY.append(tf.distribute.MirroredStrategy(
            list(REPLICA_DEVICES), cross_device_ops=tf.distribute.ReductionToOneDevice()))
    return _STRATEGY[0]


def _replica_devices():
    """The devices the 2 replicas really run on ("/cpu:0" twice without logical CPUs)."""
    import tensorflow as tf

    have = {device.name.split("device:")[-1].lower() for device in tf.config.list_logical_devices("CPU")}
    return [d if d.lstrip("/") in have else REPLICA_DEVICES[0] for d in REPLICA_DEVICES]


# ---------------------------------------------------------------- q1: accuracy under strategy.run

ACCURACY_SOLUTION = '''\
def distributed_accuracy(strategy, model, images, labels, global_batch_size):
    """The fraction of the global batch `model` classifies right (a float32 scalar), each replica
    counting on its own part: images, labels are distributed values (one part per replica)."""
    def count_correct(images, labels):
        predicted = tf.argmax(model(images), axis=1, output_type=tf.int32)
        return tf.reduce_sum(tf.cast(predicted == labels, tf.float32))

    counts = strategy.run(count_correct, args=(images, labels))
    # Counts add up; accuracies of unequal parts would not (3 + 2 examples, or 1 + 0).
    total = strategy.reduce("SUM", counts, axis=None)
    return total / global_batch_size
'''


def _accuracy_cases():
    rng = np.random.default_rng(8)

    def case(label, size, seed):
        images = rng.uniform(size=[size, 784]).astype(np.float32)
        # Which examples get the label the model predicts: the rest get another one.
        right = rng.uniform(size=size) < 0.6
        right[0] = True
        return Case(label, {"images": images, "right": right, "seed": seed})

    return [case("a global batch of 6 (3 per replica)", 6, seed=1),
            case("a last partial batch of 5 (split 3 + 2)", 5, seed=2),
            case("a global batch of 7 (split 4 + 3)", 7, seed=3),
            case("a global batch of 1 (one replica gets nothing)", 1, seed=4)]


def _distribute(strategy, *arrays):
    """Each array split over the replicas as a distributed dataset splits a batch (5 -> 3 + 2, 1 -> 1 + 0)."""
    import tensorflow as tf

    parts = np.array_split(np.arange(len(arrays[0])), strategy.num_replicas_in_sync)
    return [strategy.experimental_distribute_values_from_function(
        lambda context, array=array: tf.constant(array[parts[context.replica_id_in_sync_group]]))
        for array in arrays]


def _accuracy_labels(model, case_input):
    """int32 labels: the model's own prediction where case_input["right"], another class elsewhere."""
    import tensorflow as tf

    predicted = np.argmax(model(tf.constant(case_input["images"])).numpy(), axis=1)
    return np.where(case_input["right"], predicted, (predicted + 1) % 10).astype(np.int32)


def _run_accuracy(function, case_input):
    """A small MLP under the 2-replica strategy -> the answer's value on the distributed batch."""
    from tfcourse import mnist

    strategy = _strategy()
    with strategy.scope():
        model = mnist.MLP(16, 8, seed=case_input["seed"])
    images = case_input["images"]
    distributed_images, distributed_labels = _distribute(strategy, images, _accuracy_labels(model, case_input))
    value = function(strategy, model, distributed_images, distributed_labels, len(images))
    if value is Ellipsis:  # `return ...` of the skeleton: not attempted yet
        return Ellipsis
    if type(value).__name__ == "PerReplica":
        raise AnswerError("`distributed_accuracy` returned one value per replica (a PerReplica value): return one "
                          "number, `strategy.reduce(...)` of them")
    return value


def _every_case_raised_with(text):
    return lambda outcomes: all(o.error is not None and text in str(o.error) for o in outcomes)


def _right_on_even_splits_only(outcomes):
    """Right where both replicas got as many examples, wrong (or NaN) where they did not."""
    if any(o.error is not None for o in outcomes):
        return False
    right = [compare_values(e.value, o.value, rtol=1e-5) is None for e, o in zip(q1._expected(), outcomes)]
    return right[0] and not all(right[1:])


q1 = FunctionExercise(
    "nb09.q1", "distributed_accuracy", "accuracy under strategy.run",
    prompt=(
        "Section 1's step summed the replicas' *losses*, each already divided by the global batch. Now "
        "measure instead of train: write `distributed_accuracy(strategy, model, images, labels, "
        "global_batch_size)` returning the fraction of the global batch that `model` classifies right "
        "(a float scalar; the predicted class is the argmax of the logits). Each replica must work on its "
        "own part of the batch (`strategy.run`), and the parts combine into one number (`strategy.reduce`). "
        "`images` and `labels` are already distributed over the 2 replicas; the check uses global batches "
        "that do not split evenly (5 as 3 + 2, 1 as 1 + 0) and compares with one device."),
    skeleton='''\
def distributed_accuracy(strategy, model, images, labels, global_batch_size):
    """The fraction of the global batch `model` classifies right (a float32 scalar), each replica
    counting on its own part: images, labels are distributed values (one part per replica)."""
    ...
''',
    solution=ACCURACY_SOLUTION,
    hints=[
        "What a replica returns must add up across replicas into the answer's numerator: a count, not a "
        "fraction.",
        "In the replica function: `tf.argmax(model(images), axis=1, output_type=tf.int32)`, compared with the "
        "labels, cast to float and summed. Then `strategy.run(...)` and `strategy.reduce(...)`.",
        "Reduce the counts with `tf.distribute.ReduceOp.SUM` and divide by `global_batch_size`: a MEAN of the "
        "replicas' accuracies weighs 3 examples like 2 (and a replica with no example gives NaN).",
    ],
    mistakes=[
        Mistake("mean_of_replica_accuracies",
                "right when both replicas get as many examples, wrong on 5 = 3 + 2 and on 1 = 1 + 0: the MEAN of "
                "per-replica accuracies weighs each replica alike (and an empty replica's accuracy is 0/0). "
                "Let each replica count its correct examples, SUM the counts, divide by `global_batch_size`.",
                ACCURACY_SOLUTION.replace(
                    "return tf.reduce_sum(tf.cast(predicted == labels, tf.float32))",
                    "return tf.reduce_mean(tf.cast(predicted == labels, tf.float32))").replace(
                    'total = strategy.reduce("SUM", counts, axis=None)\n    return total / global_batch_size',
                    'return strategy.reduce("MEAN", counts, axis=None)'),
                detect=_right_on_even_splits_only),
        Mistake("not_under_strategy_run",
                "your code called the model on the distributed batch itself (a `PerReplica` value, one part per "
                "replica): call `strategy.run(count_correct, args=(images, labels))`, which hands each replica "
                "its own part.",
                ACCURACY_SOLUTION.replace("strategy.run(count_correct, args=(images, labels))",
                                          "count_correct(images, labels)"),
                detect=_every_case_raised_with("PerReplica")),
        Mistake("sum_of_replica_accuracies",
                "you added up the replicas' accuracies: each is a fraction of its own part, so the sum can pass "
                "1. Count correct examples per replica, SUM the counts, divide by `global_batch_size`.",
                ACCURACY_SOLUTION.replace(
                    "return tf.reduce_sum(tf.cast(predicted == labels, tf.float32))",
                    "return tf.reduce_mean(tf.cast(predicted == labels, tf.float32))").replace(
                    "return total / global_batch_size", "return total"),
                detect=lambda outcomes: outcomes[0].error is None and compare_values(
                    len(REPLICA_DEVICES) * np.asarray(q1._expected()[0].value), outcomes[0].value, rtol=1e-5) is None),
    ],
    cases=_accuracy_cases, run=_run_accuracy,
    compare=lambda expected, got: compare_values(expected, got, rtol=1e-5),
)

# ---------------------------------------------------------------- q2: a worker's TF_CONFIG

CONFIG_SOLUTION = '''\
def worker_tf_config(host, ports, index):
    """The TF_CONFIG dict of worker `index` in a cluster of len(ports) workers on `host`."""
    return {"cluster": {"worker": [f"{host}:{port}" for port in ports]},
            "task": {"type": "worker", "index": index}}
'''


def _config_cases():
    return [Case("worker 0 of 2 on 127.0.0.1, ports 2222 and 2223", ("127.0.0.1", [2222, 2223], 0)),
            Case("worker 1 of 2 (the last one)", ("127.0.0.1", [2222, 2223], 1)),
            Case("worker 2 of 3 on localhost, ports 41000-41002", ("localhost", [41000, 41001, 41002], 2))]


def _resolve(function, case_input):
    """What TensorFlow reads from the answer: TF_CONFIG (dict, or its JSON text) through
    TFConfigClusterResolver -> {cluster, task_type, task_id, config}."""
    import tensorflow as tf

    config = function(*case_input)
    if isinstance(config, str):
        try:
            config = json.loads(config)
        except json.JSONDecodeError:
            raise AnswerError("expected a dict (or its JSON text), got a str that is not JSON: return the dict "
                              "itself") from None
    if not isinstance(config, dict):
        raise AnswerError(f"expected a dict like `{{\"cluster\": ..., \"task\": ...}}`, got {type(config).__name__}")
    try:
        text = json.dumps(config)
    except TypeError as error:
        raise AnswerError(f"TF_CONFIG must be JSON: {error}") from None
    saved = os.environ.get("TF_CONFIG")
    os.environ["TF_CONFIG"] = text
    try:
        resolver = tf.distribute.cluster_resolver.TFConfigClusterResolver()
        cluster = resolver.cluster_spec().as_dict()
        task = (resolver.task_type, resolver.task_id)
    finally:
        if saved is None:
            del os.environ["TF_CONFIG"]
        else:
            os.environ["TF_CONFIG"] = saved
    return {"cluster": cluster, "task": task, "config": config}


def _compare_configs(expected, got):
    if got["cluster"] != expected["cluster"]:
        return f"TensorFlow reads the cluster {got['cluster']}, expected {expected['cluster']}"
    if got["task"] != expected["task"]:
        return f"TensorFlow reads this task as {got['task'][0]} {got['task'][1]}, expected {expected['task'][0]} " \
               f"{expected['task'][1]}"
    return None


def _all_resolved(predicate):
    def detect(outcomes):
        cases = q2.cases()
        return all(o.error is None for o in outcomes) and all(
            predicate(o.value, case.input) for o, case in zip(outcomes, cases))
    return detect


def _workers(value):
    return value["cluster"].get("worker", [])


q2 = FunctionExercise(
    "nb09.q2", "worker_tf_config", "a worker's TF_CONFIG",
    prompt=(
        "A multi-worker job gives every worker process a `TF_CONFIG`: the addresses of the whole cluster "
        "and which task this process is. Write `worker_tf_config(host, ports, index)` returning that dict for "
        "worker `index` of a cluster of `len(ports)` workers, all on `host`, worker i listening on `ports[i]`: "
        "`{\"cluster\": {\"worker\": [\"host:port\", ...]}, \"task\": {\"type\": \"worker\", \"index\": ...}}`. "
        "The check sets it as `TF_CONFIG` and asks TensorFlow's `TFConfigClusterResolver` what it reads."),
    skeleton='''\
def worker_tf_config(host, ports, index):
    """The TF_CONFIG dict of worker `index` in a cluster of len(ports) workers on `host`."""
    ...
''',
    solution=CONFIG_SOLUTION,
    hints=[
        "Two keys: `\"cluster\"` (every task's address, the same dict in every process) and `\"task\"` (who this "
        "process is, different in each).",
        "The cluster is `{\"worker\": [f\"{host}:{port}\" for port in ports]}`: one address per worker, each with "
        "its own port.",
        "The task is `{\"type\": \"worker\", \"index\": index}`: the index counts from 0 and picks this process's "
        "address in the worker list.",
    ],
    mistakes=[
        Mistake("missing_cluster_key",
                "TensorFlow finds no cluster: the worker list must sit under the `\"cluster\"` key, "
                "`{\"cluster\": {\"worker\": [...]}, \"task\": {...}}`.",
                CONFIG_SOLUTION.replace(
                    'return {"cluster": {"worker": [f"{host}:{port}" for port in ports]},\n'
                    '            "task"',
                    'return {"worker": [f"{host}:{port}" for port in ports],\n            "task"'),
                detect=_all_resolved(lambda value, case: not value["cluster"])),
        Mistake("ports_shared",
                "several workers share one address: each task needs its own port, so list "
                "`f\"{host}:{port}\"` for every port in `ports`.",
                CONFIG_SOLUTION.replace('[f"{host}:{port}" for port in ports]',
                                        '[f"{host}:{ports[0]}" for port in ports]'),
                detect=_all_resolved(lambda value, case: len(set(_workers(value))) < len(_workers(value)))),
        Mistake("only_this_worker_listed",
                "your cluster lists only this worker: every process must get the addresses of all workers "
                "(the same `\"cluster\"` everywhere), only `\"task\"` differs.",
                CONFIG_SOLUTION.replace('[f"{host}:{port}" for port in ports]', '[f"{host}:{ports[index]}"]'),
                detect=_all_resolved(lambda value, case: len(_workers(value)) == 1 < len(case[1]))),
        Mistake("wrong_task_type",
                "this process's task type is wrong: these processes are all `\"worker\"` tasks (worker 0 acts "
                "as the chief), so use `\"type\": \"worker\"`.",
                CONFIG_SOLUTION.replace('"type": "worker"', '"type": "chief" if index == 0 else "worker"'),
                detect=lambda outcomes: all(o.error is None for o in outcomes)
                and any(o.value["task"][0] != "worker" for o in outcomes)),
        Mistake("task_index_from_one",
                "the task index counts from 0: worker `index` is `ports[index]`, so use `\"index\": index` "
                "(not index + 1).",
                CONFIG_SOLUTION.replace('"index": index', '"index": index + 1')),
        Mistake("same_task_index_everywhere",
                "every worker gets the same task index, so they would all claim one address: use "
                "`\"index\": index`, different in each process.",
                CONFIG_SOLUTION.replace('"index": index', '"index": 0'),
                detect=lambda outcomes: all(o.error is None for o in outcomes)
                and len({o.value["task"][1] for o in outcomes}) == 1),
    ],
    cases=_config_cases, run=_resolve, compare=_compare_configs,
)

# ---------------------------------------------------------------- q3: the last batch's split

NUM_EXAMPLES, GLOBAL_BATCH = 1025, 100


def _last_step_split():
    """[examples of replica 0, of replica 1] in the last step of NUM_EXAMPLES examples batched by
    GLOBAL_BATCH and distributed over the 2 replicas: what TensorFlow does, run here."""
    import tensorflow as tf

    strategy = _strategy()
    dataset = tf.data.Dataset.range(NUM_EXAMPLES).batch(GLOBAL_BATCH)
    *_, last = strategy.experimental_distribute_dataset(dataset)
    return [int(part.shape[0]) for part in strategy.experimental_local_results(last)]


def _explain_split(value):
    devices = _replica_devices()
    where = f"({' and '.join(devices)})" if len(set(devices)) == len(devices) else \
        f"(both on {devices[0]}: run the notebook's first cell first for a device each)"
    return (f"the last batch holds {NUM_EXAMPLES % GLOBAL_BATCH} examples, split {value} over the 2 replicas "
            f"{where}: as evenly as it goes, the first replica takes the odd one.")


q3 = ValueExercise(
    "nb09.q3", "last_step_split", "the last, partial batch",
    prompt=(
        f"A training set of {NUM_EXAMPLES:,} examples is batched with `dataset.batch({GLOBAL_BATCH})` and split by "
        "`strategy.experimental_distribute_dataset` over 2 replicas, as in section 1. How many examples does "
        "each replica get in the **last** step? Set `last_step_split` to `[replica 0, replica 1]`. The check "
        "distributes such a dataset and counts."),
    skeleton="last_step_split = ...\n",
    solution=(f"last_step_split = [13, 12]  # {NUM_EXAMPLES} % {GLOBAL_BATCH} = 25 examples left: "
              "split as evenly as it goes\n"),
    hints=[f"How many examples are left for the last batch of {GLOBAL_BATCH}?",
           "The distributed dataset splits every global batch, the last one too, as evenly as it can."],
    mistakes=[
        Mistake("full_batch_assumed",
                f"{NUM_EXAMPLES:,} is no multiple of {GLOBAL_BATCH}: without `drop_remainder=True` the last "
                f"batch keeps the {NUM_EXAMPLES % GLOBAL_BATCH} examples left over, and that is what the replicas "
                "share.",
                "last_step_split = [50, 50]\n", detect=answered([50, 50])),
        Mistake("one_replica_takes_the_rest",
                "a partial batch is not handed to one replica: it is split as evenly as it goes.",
                "last_step_split = [25, 0]\n", detect=answered([25, 0], [0, 25])),
        Mistake("odd_example_dropped_or_misplaced",
                "25 examples do not halve: none is dropped, and the first replica gets the odd one.",
                "last_step_split = [12, 12]\n", detect=answered([12, 12], [12, 13], [13, 13])),
    ],
    expected=_last_step_split, explain=_explain_split,
)

# ---------------------------------------------------------------- q4: predict the staleness

NUM_WORKERS = 4
NUM_UPDATES = 8


def _simulated_staleness(num_workers=NUM_WORKERS, num_updates=NUM_UPDATES):
    """Equally fast workers, worker k starting at k/num_workers of a step, each reading the weights again
    as soon as its update landed. The ps counts updates in a tf.Variable as `paramserver.async_update`
    does: staleness = updates landed between this worker's read and its own landing."""
    import tensorflow as tf

    version = tf.Variable(0, dtype=tf.int64)
    read_at = {}
    events = sorted((k / num_workers, k, "read") for k in range(num_workers))
    staleness = []
    while len(staleness) < num_updates:
        time, worker, kind = events.pop(0)
        if kind == "read":
            read_at[worker] = int(version.read_value())
            events.append((time + 1.0, worker, "land"))
        else:
            landed = int(version.assign_add(1))
            staleness.append(landed - 1 - read_at[worker])
            events.append((time, worker, "read"))
        events.sort()
    return staleness


q4 = ValueExercise(
    "nb09.q4", "predicted_staleness", "predict the staleness",
    prompt=(
        "Predict, then let the check run it: asynchronous training with a parameter server and **4** equally "
        "fast workers. Worker k starts a quarter of a step after worker k-1; each reads the weights, computes "
        "its gradient for one step, sends its update, and at once reads the weights again. The *staleness* of "
        "an update is the number of other workers' updates that landed between its read and its own landing "
        "(what the notebook's `async_update` counts). Set `predicted_staleness` to the staleness of the first "
        "8 updates, in the order they land."),
    skeleton="predicted_staleness = ...\n",
    solution="predicted_staleness = [0, 1, 2, 3, 3, 3, 3, 3]  # then N - 1 = 3 for every update\n",
    hints=["The first 4 workers all read the initial weights; count who landed before each of them.",
           "Once running, between a worker's read and its landing every *other* worker lands exactly once."],
    mistakes=[
        Mistake("no_staleness_as_in_sync",
                "no staleness is synchronous training, where everyone waits for the others; here nobody waits, "
                "so other workers' updates land while a worker computes.",
                "predicted_staleness = [0] * 8\n", detect=answered([0] * 8)),
        Mistake("counted_own_update",
                "between a worker's read and its landing the 3 *other* workers land once each: N - 1 = 3, not "
                "N (its own update is not stale against itself).",
                "predicted_staleness = [0, 1, 2, 3, 4, 4, 4, 4]\n", detect=answered([0, 1, 2, 3, 4, 4, 4, 4])),
        Mistake("staleness_restarts_every_round",
                "the staleness does not start over: after the first round each worker reads weights that the 3 "
                "others will update before it lands, so it stays at N - 1 = 3.",
                "predicted_staleness = [0, 1, 2, 3, 0, 1, 2, 3]\n", detect=answered([0, 1, 2, 3, 0, 1, 2, 3])),
    ],
    expected=_simulated_staleness,
    explain=lambda values: f"running the schedule gives {values}; with 2 workers, "
                           f"{_simulated_staleness(2, 4)}: staleness grows with the number of workers.",
)

EXERCISES = [q1, q2, q3, q4]
# The solved section runs after the notebook's first cell (2 logical CPUs): the replicas get a device each.
SOLVED_SECTION_SAYS = {"nb09.q3": "(/cpu:0 and /cpu:1)"}
