"""Exercises of notebook 09 (distributed): a step under `strategy.run`, a worker's TF_CONFIG,
the global batch, and a prediction of staleness in asynchronous training.

    from tfcourse.exercises import nb09 as ex

The step is checked under a MirroredStrategy with 2 replicas on "/cpu:0" and "/cpu:1". The
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


# ---------------------------------------------------------------- q1: a step under strategy.run

STEP_SOLUTION = '''\
def distributed_step(strategy, model, optimizer, images, labels, global_batch_size):
    """One synchronous step on every replica; returns the loss of the global batch (float32 scalar).

    images, labels: distributed values (one [per-replica batch, 784] / [per-replica batch] part per replica).
    """
    def replica_step(images, labels):
        with tf.GradientTape() as tape:
            logits = model(images)
            per_example = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
            # Divide by the GLOBAL batch: the replicas' gradients are summed.
            loss = tf.nn.compute_average_loss(per_example, global_batch_size=global_batch_size)
        gradients = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(gradients, model.trainable_variables))
        return loss

    per_replica_loss = strategy.run(replica_step, args=(images, labels))
    return strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica_loss, axis=None)
'''

LEARNING_RATE = 0.5


def _step_cases():
    rng = np.random.default_rng(8)

    def case(label, labels, seed):
        images = rng.uniform(size=[len(labels), 784]).astype(np.float32)
        return Case(label, {"images": images, "labels": np.asarray(labels, np.int32), "seed": seed})

    return [case("a global batch of 6 (3 per replica, labels 0..9)", [0, 9, 4, 9, 0, 3], seed=1),
            case("a last partial batch of 5 (split 3 + 2)", [9, 1, 2, 0, 5], seed=2),
            case("a global batch of 1 (one replica gets nothing)", [9], seed=3)]


def _run_step(function, case_input):
    """A fresh small MLP and SGD optimizer under the 2-replica strategy, one step -> {loss, moved}."""
    import tensorflow as tf

    from tfcourse import mnist

    strategy = _strategy()
    with strategy.scope():
        model = mnist.MLP(16, 8, seed=case_input["seed"])
        optimizer = tf.keras.optimizers.SGD(LEARNING_RATE)
    images, labels = case_input["images"], case_input["labels"]
    # Split as a distributed dataset splits a batch (5 -> 3 + 2, 1 -> 1 + 0), without its slow iterator.
    parts = np.array_split(np.arange(len(images)), strategy.num_replicas_in_sync)
    distributed_images, distributed_labels = (
        strategy.experimental_distribute_values_from_function(
            lambda context, array=array: tf.constant(array[parts[context.replica_id_in_sync_group]]))
        for array in (images, labels))
    before = model.get_weights()
    loss = function(strategy, model, optimizer, distributed_images, distributed_labels, len(images))
    if loss is Ellipsis:  # `return ...` of the skeleton: not attempted yet
        return Ellipsis
    if type(loss).__name__ == "PerReplica":
        return {"loss": loss, "moved": None}
    after = model.get_weights()
    return {"loss": loss, "moved": {name: after[name] - before[name] for name in before}}


def _compare_steps(expected, got):
    if got["moved"] is None:
        raise AnswerError("`distributed_step` returned one loss per replica (a PerReplica value): return one "
                          "number, `strategy.reduce(...)` of them")
    try:
        difference = compare_values(expected["loss"], got["loss"], rtol=1e-4)
    except AnswerError as wrong:
        raise AnswerError(f"`distributed_step` must return the loss of the global batch: {wrong}") from None
    if difference:
        return f"the returned loss: {difference}"
    for name, moved in expected["moved"].items():
        if not np.allclose(got["moved"][name], moved, rtol=1e-3, atol=1e-6):
            return f"the update of {name} differs from one SGD step on the whole batch"
    return None


def _update_ratio(outcomes, expected):
    """got update / reference update of the softmax biases, per case (None if unusable)."""
    ratios = []
    for outcome, reference in zip(outcomes, expected):
        if outcome.error is not None or outcome.value["moved"] is None:
            return None
        got = outcome.value["moved"]["softmax_linear/biases"].astype(np.float64)
        want = reference.value["moved"]["softmax_linear/biases"].astype(np.float64)
        ratios.append(float(np.dot(got, want) / np.dot(want, want)))
    return ratios


def _updates_scaled_by_replicas(outcomes):
    """The evenly split batch moved the weights 2x (the number of replicas) as far as it should."""
    ratios = _update_ratio(outcomes, q1._expected())
    return ratios is not None and np.isclose(ratios[0], len(REPLICA_DEVICES), rtol=1e-3)


def _not_under_strategy_run(outcomes):
    return all(o.error is not None and "PerReplica" in str(o.error) for o in outcomes)


def _returned_per_replica(outcomes):
    return all(o.error is None and o.value["moved"] is None for o in outcomes)


q1 = FunctionExercise(
    "nb09.q1", "distributed_step", "one step under strategy.run",
    prompt=(
        "Write `distributed_step(strategy, model, optimizer, images, labels, global_batch_size)`, the trainer's "
        "synchronous step on a `MirroredStrategy` with 2 replicas. Inside a `replica_step(images, labels)` "
        "function: the per-example losses "
        "(`tf.nn.sparse_softmax_cross_entropy_with_logits`), averaged over the **global** batch with "
        "`tf.nn.compute_average_loss(..., global_batch_size=...)` under a `tf.GradientTape`, then "
        "`optimizer.apply_gradients` (it sums the replicas' gradients). Run it on every replica with "
        "`strategy.run`, and return the loss of the whole batch, `strategy.reduce` of the replicas' losses. "
        "`images` and `labels` are already distributed (one part per replica); the check compares the loss and "
        "the update with one SGD step on one device."),
    skeleton='''\
def distributed_step(strategy, model, optimizer, images, labels, global_batch_size):
    """One synchronous step on every replica; returns the loss of the global batch (float32 scalar)."""
    def replica_step(images, labels):
        ...

    return ...
''',
    solution=STEP_SOLUTION,
    hints=[
        "Two levels: `replica_step` is what one replica does with its part of the batch; `strategy.run` "
        "calls it on every replica and gives back one value per replica.",
        "Each replica divides the sum of its losses by the global batch "
        "(`tf.nn.compute_average_loss(per_example, global_batch_size=global_batch_size)`): summed over the "
        "replicas, that is the mean over the whole batch, and so are the summed gradients.",
        "`per_replica_loss = strategy.run(replica_step, args=(images, labels))`, then "
        "`strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica_loss, axis=None)`: SUM, since each part was "
        "already divided by the global batch.",
    ],
    mistakes=[
        Mistake("step_without_strategy_run",
                "your step got the distributed batch as it is (a `PerReplica` value, one part per replica): call "
                "`strategy.run(replica_step, args=(images, labels))`, which hands each replica its own part.",
                STEP_SOLUTION.replace("strategy.run(replica_step, args=(images, labels))",
                                      "replica_step(images, labels)"),
                detect=_not_under_strategy_run),
        Mistake("loss_not_reduced",
                "you returned one loss per replica: combine them into the loss of the batch with "
                "`strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica_loss, axis=None)`.",
                STEP_SOLUTION.replace("return strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica_loss, axis=None)",
                                      "return per_replica_loss"),
                detect=_returned_per_replica),
        Mistake("averaged_by_per_replica_batch",
                "the weights moved 2x too far: each replica averaged over its own part of the batch, and the "
                "replicas' gradients are then summed, so the loss is scaled twice. Divide by the global batch: "
                "`tf.nn.compute_average_loss(per_example, global_batch_size=global_batch_size)`.",
                STEP_SOLUTION.replace(
                    "tf.nn.compute_average_loss(per_example, global_batch_size=global_batch_size)",
                    "tf.reduce_mean(per_example)"),
                detect=_updates_scaled_by_replicas),
        Mistake("reduce_mean_of_replica_losses",
                "the update is right but the loss is half what it should be: each replica's loss is already its "
                "share of the global mean, so add them up with `ReduceOp.SUM`; `MEAN` divides by the replicas "
                "once more.",
                STEP_SOLUTION.replace("tf.distribute.ReduceOp.SUM", "tf.distribute.ReduceOp.MEAN")),
        Mistake("global_batch_size_left_out",
                "right on evenly split batches, wrong on the last partial one: without `global_batch_size`, "
                "`compute_average_loss` assumes every replica got as many examples as this one (5 split 3 + 2 "
                "counts as 6 and 4). Pass `global_batch_size=global_batch_size`.",
                STEP_SOLUTION.replace(
                    "tf.nn.compute_average_loss(per_example, global_batch_size=global_batch_size)",
                    "tf.nn.compute_average_loss(per_example)")),
    ],
    cases=_step_cases, run=_run_step, compare=_compare_steps,
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
        "`tfcourse launch -np 2` gives every worker process a `TF_CONFIG`: the addresses of the whole cluster "
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

# ---------------------------------------------------------------- q3: the global batch


def _per_replica_batches(global_batch_size):
    """Distributes one batch of `global_batch_size` examples over the 2 replicas -> examples per replica."""
    import tensorflow as tf

    strategy = _strategy()
    dataset = tf.data.Dataset.range(10 * global_batch_size).batch(global_batch_size)
    first = next(iter(strategy.experimental_distribute_dataset(dataset)))
    return [int(part.shape[0]) for part in strategy.experimental_local_results(first)]


PER_REPLICA_BATCH = 50


def _global_batch():
    return PER_REPLICA_BATCH * _strategy().num_replicas_in_sync


def _explain_global_batch(value):
    sizes = _per_replica_batches(value)
    devices = _replica_devices()
    where = f"({' and '.join(devices)})" if len(set(devices)) == len(devices) else \
        f"(both on {devices[0]}: run the notebook's first cell first for a device each)"
    return (f"distributing batches of {value} over the {len(sizes)} replicas {where} gives them "
            f"{sizes} examples: `global_batch_size={value}` in `compute_average_loss`.")


q3 = ValueExercise(
    "nb09.q3", "global_batch_size", "the global batch",
    prompt=(
        "Each of the 2 replicas should compute on 50 examples per step. What batch size goes into "
        "`dataset.batch(...)` before `strategy.experimental_distribute_dataset` splits it, and into "
        "`tf.nn.compute_average_loss(..., global_batch_size=...)`? Set `global_batch_size` to the number. "
        "The check distributes such batches over the 2 replicas and counts what each gets."),
    skeleton="global_batch_size = ...\n",
    solution="global_batch_size = 50 * 2  # per-replica batch x replicas\n",
    hints=["The distributed dataset cuts each batch into one part per replica.",
           "The global batch is what all replicas together see in one step: per-replica batch x replicas."],
    mistakes=[
        Mistake("per_replica_batch_as_global",
                "50 is what one replica gets; the dataset is batched with what all replicas together get, "
                "and split from there: per-replica batch x replicas.",
                "global_batch_size = 50\n", detect=answered(50)),
        Mistake("divided_by_replicas",
                "splitting a batch of 25 over 2 replicas leaves each about 12: the global batch is the "
                "per-replica batch *times* the replicas.",
                "global_batch_size = 50 // 2\n", detect=answered(25)),
    ],
    expected=_global_batch,
    compare=lambda expected, got: compare_values(expected, got, rtol=0, atol=0),
    explain=_explain_global_batch,
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


def _compare_staleness(expected, got):
    if isinstance(got, np.ndarray):
        got = got.tolist()
    if not isinstance(got, (list, tuple)) or not all(isinstance(v, (int, np.integer)) for v in got):
        raise AnswerError(f"expected a list of {NUM_UPDATES} integers like `[0, 0, ...]`, got "
                          f"{type(got).__name__}")
    if len(got) != len(expected):
        raise AnswerError(f"expected {len(expected)} numbers, one per update, got {len(got)}")
    return None if list(got) == list(expected) else f"running it gives {list(expected)}, you predicted {list(got)}"


def _predicted(values):
    return lambda outcomes: list(np.ravel(outcomes[0].value)) == values


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
                "predicted_staleness = [0] * 8\n", detect=_predicted([0] * 8)),
        Mistake("counted_own_update",
                "between a worker's read and its landing the 3 *other* workers land once each: N - 1 = 3, not "
                "N (its own update is not stale against itself).",
                "predicted_staleness = [0, 1, 2, 3, 4, 4, 4, 4]\n", detect=_predicted([0, 1, 2, 3, 4, 4, 4, 4])),
        Mistake("staleness_restarts_every_round",
                "the staleness does not start over: after the first round each worker reads weights that the 3 "
                "others will update before it lands, so it stays at N - 1 = 3.",
                "predicted_staleness = [0, 1, 2, 3, 0, 1, 2, 3]\n", detect=_predicted([0, 1, 2, 3, 0, 1, 2, 3])),
    ],
    expected=_simulated_staleness, compare=_compare_staleness,
    explain=lambda values: f"running the schedule gives {values}; with 2 workers, "
                           f"{_simulated_staleness(2, 4)}: staleness grows with the number of workers.",
)

EXERCISES = [q1, q2, q3, q4]
# The solved section runs after the notebook's first cell (2 logical CPUs): the replicas get a device each.
SOLVED_SECTION_SAYS = {"nb09.q3": "(/cpu:0 and /cpu:1)"}
