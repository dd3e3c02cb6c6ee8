"""Exercises of notebook 11 (one-command distributed training as a service): a TF_CONFIG with
parameter servers, the start order of a job started by hand, mpirun's -np/-npernode for a
cluster of labelled machines, and a launcher whose TF_CONFIGs are broken.

    from tfcourse.exercises import nb11 as ex

The TF_CONFIG answers are judged by what TensorFlow reads from them: each is set as the
TF_CONFIG of a `TFConfigClusterResolver`, and the cluster and task it resolves are compared
with the reference's, so any dict (or JSON string) TensorFlow reads the same way passes.
"""

import ast
import inspect
import json
import os
import textwrap

import numpy as np

from tfcourse.exercises.core import (
    AnswerError,
    Case,
    FunctionExercise,
    Mistake,
    NotAttempted,
    ValueExercise,
    compare_values,
)

PORT = 2222

# ---------------------------------------------------------------- shared: what TensorFlow reads


def _resolved(config):
    """What TensorFlow reads from one TF_CONFIG (dict or JSON text): {"cluster": {job: [addresses]},
    "task": [type, index]}. AnswerError for something TensorFlow cannot read."""
    import tensorflow as tf

    if isinstance(config, str):
        try:
            config = json.loads(config)
        except json.JSONDecodeError as error:
            raise AnswerError(f"expected a TF_CONFIG dict (or its JSON text), got a str that is not JSON ({error})") from None
    if not isinstance(config, dict):
        raise AnswerError(f"expected a TF_CONFIG dict like {{\"cluster\": ..., \"task\": ...}}, "
                          f"got {type(config).__name__}")
    if set(config) != {"cluster", "task"}:
        raise AnswerError(f"a TF_CONFIG has the keys 'cluster' and 'task', got {sorted(map(str, config))}")
    try:
        text = json.dumps(config)
    except TypeError as error:
        raise AnswerError(f"the TF_CONFIG must be plain JSON data (dicts, lists, str, int): {error}") from None
    saved = os.environ.get("TF_CONFIG")
    os.environ["TF_CONFIG"] = text
    try:
        resolver = tf.distribute.cluster_resolver.TFConfigClusterResolver()
        cluster = {job: list(addresses) for job, addresses in resolver.cluster_spec().as_dict().items()}
        task = [resolver.task_type, resolver.task_id]
    except (ValueError, TypeError, KeyError, AttributeError) as error:
        raise AnswerError(f"TensorFlow cannot read this TF_CONFIG: {error}") from None
    finally:
        if saved is None:
            del os.environ["TF_CONFIG"]
        else:
            os.environ["TF_CONFIG"] = saved
    return {"cluster": cluster, "task": task}


def _config_difference(expected, got, who=""):
    """None if TensorFlow reads the same cluster and task; else expected/got of the first difference."""
    where = f"{who}: " if who else ""
    if got["cluster"] != expected["cluster"]:
        return f"{where}expected the cluster {expected['cluster']}, got {got['cluster']} (what TensorFlow reads)"
    if got["task"] != expected["task"]:
        return (f"{where}expected the task {tuple(expected['task'])}, got {tuple(got['task'])} "
                "(what TensorFlow reads)")
    return None


# ---------------------------------------------------------------- q1: a TF_CONFIG with parameter servers

JOB_SOLUTION = '''\
def job_tf_config(hosts, num_ps, task_type, index):
    """The TF_CONFIG dict of task (`task_type`, `index`): the first `num_ps` hosts are parameter
    servers, the others workers, every task on port 2222."""
    addresses = [f"{host}:2222" for host in hosts]
    cluster = {"ps": addresses[:num_ps], "worker": addresses[num_ps:]}
    return {"cluster": cluster, "task": {"type": task_type, "index": index}}
'''


def _job_cases():
    return [Case("3 hosts, 1 ps, worker 1", (["node-a", "node-b", "node-c"], 1, "worker", 1)),
            Case("5 hosts, 2 ps, ps 1", ([f"gpu{i:02d}" for i in range(5)], 2, "ps", 1)),
            Case("4 hosts by IP address, 1 ps, worker 0", ([f"10.0.0.{i}" for i in range(1, 5)], 1, "worker", 0)),
            Case("7 hosts, 3 ps, worker 3", ([f"h{i}" for i in range(7)], 3, "worker", 3))]


def _run_job(function, case_input):
    return _resolved(function(*case_input))


def _outcomes_ok(outcomes):
    return all(o.error is None for o in outcomes)


def _all_cases(predicate):
    """A detector: predicate(value, case_input) holds on every case."""
    def detect(outcomes):
        cases = q1.cases()
        return _outcomes_ok(outcomes) and all(predicate(o.value, c.input) for o, c in zip(outcomes, cases))
    return detect


def _jobs_swapped(value, case_input):
    hosts, num_ps = case_input[0], case_input[1]
    return value["cluster"].get("worker") == [f"{h}:{PORT}" for h in hosts[:num_ps]]


def _ps_hosts_also_workers(value, case_input):
    return value["cluster"].get("worker") == [f"{h}:{PORT}" for h in case_input[0]]


def _index_over_all_hosts(value, case_input):
    _, num_ps, task_type, index = case_input
    return task_type == "ps" or value["task"] == ["worker", index + num_ps]


def _no_port(value, case_input):
    return all(":" not in address for addresses in value["cluster"].values() for address in addresses)


q1 = FunctionExercise(
    "nb11.q1", "job_tf_config", "a TF_CONFIG with parameter servers",
    prompt=(
        "A job runs on the machines `hosts` (a list of host names): the first `num_ps` of them are parameter "
        "servers (job `\"ps\"`), the others workers (job `\"worker\"`, worker 0 plays the chief), every task "
        "listening on port 2222. Write `job_tf_config(hosts, num_ps, task_type, index)` returning the TF_CONFIG "
        "dict of the task `task_type` (`\"ps\"` or `\"worker\"`) number `index`: `{\"cluster\": {...}, "
        "\"task\": {...}}`. The check sets it as `TF_CONFIG` and compares what TensorFlow's "
        "`TFConfigClusterResolver` reads (cluster and task) with the reference on 4 clusters."),
    skeleton='''\
def job_tf_config(hosts, num_ps, task_type, index):
    """The TF_CONFIG dict of task (`task_type`, `index`): the first `num_ps` hosts are parameter
    servers, the others workers, every task on port 2222."""
    ...
''',
    solution=JOB_SOLUTION,
    hints=[
        "Every task of the job gets the same `cluster`; only `task` differs. An address is \"host:port\".",
        "`hosts[:num_ps]` are the ps addresses, `hosts[num_ps:]` the workers': the index counts within "
        "its own job, so worker 0 is `hosts[num_ps]`.",
        "`{\"cluster\": {\"ps\": [...], \"worker\": [...]}, \"task\": {\"type\": task_type, \"index\": index}}`",
    ],
    mistakes=[
        Mistake("ps_and_workers_swapped",
                "your workers are the first hosts: the prompt puts the parameter servers first, `hosts[:num_ps]`, "
                "and the workers after them, `hosts[num_ps:]`.",
                JOB_SOLUTION.replace('{"ps": addresses[:num_ps], "worker": addresses[num_ps:]}',
                                     '{"ps": addresses[len(hosts) - num_ps:], "worker": addresses[:num_ps]}'),
                detect=_all_cases(_jobs_swapped)),
        Mistake("ps_hosts_also_workers",
                "your worker job lists every host, the parameter servers' too: a machine runs one task here, "
                "so the workers are `hosts[num_ps:]` only.",
                JOB_SOLUTION.replace('"worker": addresses[num_ps:]', '"worker": addresses'),
                detect=_all_cases(_ps_hosts_also_workers)),
        Mistake("index_counted_over_all_hosts",
                "a task's index counts within its own job: worker 0 is the first worker (`hosts[num_ps]`), "
                "not host number 0 of the whole list. Keep `index` as given.",
                JOB_SOLUTION.replace('"index": index}', '"index": index + num_ps if task_type == "worker" else index}'),
                detect=_all_cases(_index_over_all_hosts)),
        Mistake("no_port",
                "an address is \"host:port\": TensorFlow's servers listen on a port, here 2222 "
                "(`f\"{host}:2222\"`).",
                JOB_SOLUTION.replace('f"{host}:2222"', "host"), detect=_all_cases(_no_port)),
    ],
    cases=_job_cases, run=_run_job, compare=_config_difference,
)

# ---------------------------------------------------------------- q2: started by hand, one late

STARTS_S = (0.0, 10.0, 3.0)  # when each worker's command was typed
STARTUP_S = 4.0  # seconds each needs to import TensorFlow and start its server


def _ready_at():
    """MultiWorkerMirroredStrategy() returns in every worker once the last one has come up."""
    everyone_up = max(start + STARTUP_S for start in STARTS_S)
    return np.full(len(STARTS_S), everyone_up)


def _as_times(got):
    try:
        array = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        raise AnswerError(f"expected a list of 3 times in seconds like `[1.0, 2.0, 3.0]`, got {got!r}") from None
    if array.shape != (len(STARTS_S),):
        raise AnswerError(f"expected 3 times, one per worker (`[worker_0, worker_1, worker_2]`), got {got!r}")
    return array


def _compare_times(expected, got):
    return compare_values(expected, _as_times(got), rtol=0, atol=1.0)


def _times_near(values):
    def detect(outcomes):
        return np.allclose(_as_times(outcomes[0].value), values, atol=1.0)
    return detect


q2 = ValueExercise(
    "nb11.q2", "ready_at", "a job started by hand, one worker late",
    prompt=(
        "Three workers of one job (`MultiWorkerMirroredStrategy`, correct TF_CONFIGs) are started by hand: "
        "worker 0 at t = 0 s, worker 1 at t = 10 s and worker 2 at t = 3 s. Each needs 4 s to import "
        "TensorFlow and start its server before its `MultiWorkerMirroredStrategy()` can reach the others. "
        "At what time t does each worker get past `MultiWorkerMirroredStrategy()`? Set `ready_at` to the "
        "three times in seconds, `[worker_0, worker_1, worker_2]` (within 1 s)."),
    skeleton="ready_at = ...\n",
    solution="ready_at = [10 + 4] * 3  # every worker waits inside the strategy for the last one (worker 1)\n",
    hints=["Section 1's late worker: what did the worker that started first print, and when?",
           "No worker passes the strategy before every worker of the cluster has come up; the last one "
           "comes up at its start + 4 s."],
    mistakes=[
        Mistake("nobody_waits",
                "those are the times each worker comes up on its own: the strategy waits (with no time limit) "
                "until every worker of the cluster has come up, so each passes it when the last one does.",
                "ready_at = [0 + 4, 10 + 4, 3 + 4]\n",
                detect=_times_near(np.asarray(STARTS_S) + STARTUP_S)),
        Mistake("startup_forgotten",
                "the last worker is started at t = 10 s, but it needs 4 s more before it can answer the others.",
                "ready_at = [10, 10, 10]\n", detect=_times_near(np.full(3, max(STARTS_S)))),
        Mistake("start_times_only",
                "those are the start times: each worker needs 4 s to come up, and then waits for the last one.",
                "ready_at = [0, 10, 3]\n", detect=_times_near(np.asarray(STARTS_S))),
    ],
    expected=_ready_at, compare=_compare_times,
    explain=lambda times: f"all three pass it at t = {times[0]:.0f} s: a worker started first only waits "
                          "longer, and with a wrong address or index it waits for ever.",
)

# ---------------------------------------------------------------- q3: -np and -npernode for a cluster

FLAGS_SOLUTION = '''\
def mpirun_flags(gpus_per_machine):
    """(np, npernode) of the largest job one process per GPU, the same count on every machine used."""
    best = (0, 0)
    for npernode in set(gpus_per_machine):
        machines = sum(1 for gpus in gpus_per_machine if gpus >= npernode)
        best = max(best, (machines * npernode, npernode))
    return best
'''


def _flags_cases():
    return [Case("3 machines labelled 8 GPUs, 2 labelled 4", ([8, 4, 8, 4, 8],)),
            Case("2 machines of 8, 6 machines of 4", ([8, 8, 4, 4, 4, 4, 4, 4],)),
            Case("one machine of 2 GPUs", ([2],)),
            Case("machines of 1, 2, 4 and 8 GPUs", ([1, 2, 4, 8],)),
            Case("4 machines of 8 (the talk's largest run)", ([8, 8, 8, 8],))]


def _run_flags(function, case_input):
    got = function(*case_input)
    try:
        values = [int(v) if float(v) == int(v) else float(v) for v in got]
    except (TypeError, ValueError):
        raise AnswerError(f"expected a pair (np, npernode) of whole numbers, got {got!r}") from None
    if len(values) != 2:
        raise AnswerError(f"expected a pair (np, npernode), got {len(values)} values: {got!r}")
    return values


def _compare_flags(expected, got):
    if list(got) != list(expected):
        return f"expected (np, npernode) = {tuple(expected)}, got {tuple(got)}"
    return None


def _flags_detector(predicate):
    def detect(outcomes):
        cases = q3.cases()
        return _outcomes_ok(outcomes) and all(predicate(o.value, c.input[0]) for o, c in zip(outcomes, cases))
    return detect


q3 = FunctionExercise(
    "nb11.q3", "mpirun_flags", "-np and -npernode for a cluster",
    prompt=(
        "The service labels every machine with its GPU count, e.g. `[8, 4, 8, 4, 8]`. A job runs one process "
        "per GPU, and `mpirun -np N -npernode G` starts G processes on **every** machine of its hosts file "
        "(N in all), so a machine with fewer than G GPUs cannot be listed. Write `mpirun_flags(gpus_per_machine)` "
        "returning `(np, npernode)` of the largest job (most processes) the cluster can run that way; on a tie, "
        "the larger `npernode` (fewer machines)."),
    skeleton='''\
def mpirun_flags(gpus_per_machine):
    """(np, npernode) of the largest job one process per GPU, the same count on every machine used."""
    ...
''',
    solution=FLAGS_SOLUTION,
    hints=["Try each possible `npernode` G: which machines can take G processes, and how many processes is that?",
           "For G in the labels, the machines with at least G GPUs each take G: np = G x their number. Keep "
           "the largest np (tuples compare element by element, so `max((np, G), ...)` also breaks ties)."],
    mistakes=[
        Mistake("all_gpus_summed",
                "that counts every GPU of the cluster, but one -npernode is used on every machine listed: with "
                "G = 8 a machine of 4 GPUs cannot be listed, with G = 4 the bigger machines leave GPUs idle.",
                FLAGS_SOLUTION.replace("best = max(best, (machines * npernode, npernode))",
                                       "best = (sum(gpus_per_machine), max(gpus_per_machine))"),
                detect=_flags_detector(lambda value, gpus: value[0] == sum(gpus))),
        Mistake("np_is_machines",
                "-np is the number of processes in the whole job (machines x npernode), not the number of machines.",
                FLAGS_SOLUTION.replace("(machines * npernode, npernode)", "(machines, npernode)")),
        Mistake("largest_machine_only",
                "G processes on every machine with at least G GPUs: taking the largest label leaves out the "
                "smaller machines, which a smaller G could use for a larger job.",
                FLAGS_SOLUTION.replace("for npernode in set(gpus_per_machine):",
                                       "for npernode in [max(gpus_per_machine)]:")),
        Mistake("smallest_machine_only",
                "with the smallest label every machine is listed, but the bigger machines then leave GPUs idle: "
                "try every G and keep the largest job.",
                FLAGS_SOLUTION.replace("for npernode in set(gpus_per_machine):",
                                       "for npernode in [min(gpus_per_machine)]:")),
    ],
    cases=_flags_cases, run=_run_flags, compare=_compare_flags,
)

# ---------------------------------------------------------------- q4: repair a launcher's TF_CONFIGs

BROKEN_CONFIGS = '''\
import json


def all_tf_configs(hosts, port):
    """The TF_CONFIG (JSON text) of every worker, worker i on hosts[i]: a list, worker 0's first."""
    configs = []
    for host in hosts:
        cluster = {"worker": [f"{host}:{port}"]}
        configs.append(json.dumps({"cluster": cluster, "task": {"type": "worker", "index": 0}}))
    return configs
'''

CONFIGS_SOLUTION = '''\
import json


def all_tf_configs(hosts, port):
    """The TF_CONFIG (JSON text) of every worker, worker i on hosts[i]: a list, worker 0's first."""
    configs = []
    cluster = {"worker": [f"{host}:{port}" for host in hosts]}  # the same whole cluster for everyone
    for index, host in enumerate(hosts):
        configs.append(json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}}))
    return configs
'''


def _configs_cases():
    return [Case("2 hosts, port 2222", (["node-a", "node-b"], 2222)),
            Case("4 hosts, port 12345", ([f"10.1.0.{i}" for i in range(4)], 12345)),
            Case("1 host (a job of one worker)", (["solo"], 2222)),
            Case("3 hosts given in another order", (["c", "a", "b"], 7000))]


def _run_configs(function, case_input):
    got = function(*case_input)
    if not isinstance(got, (list, tuple)):
        raise AnswerError(f"expected a list of TF_CONFIGs, one per worker, got {type(got).__name__}")
    hosts = case_input[0]
    if len(got) != len(hosts):
        raise AnswerError(f"expected {len(hosts)} TF_CONFIGs (one per host), got {len(got)}")
    return [_resolved(config) for config in got]


def _compare_configs(expected, got):
    for index, (want, have) in enumerate(zip(expected, got)):
        difference = _config_difference(want, have, f"worker {index}'s TF_CONFIG")
        if difference:
            return difference
    return None


def _configs_detector(predicate):
    def detect(outcomes):
        cases = q4.cases()
        return _outcomes_ok(outcomes) and all(predicate(o.value, c.input) for o, c in zip(outcomes, cases))
    return detect


def _clusters_of_one(value, case_input):
    return all(len(config["cluster"].get("worker", [])) == 1 for config in value)


def _every_index_zero(value, case_input):
    hosts, port = case_input
    whole = [f"{host}:{port}" for host in hosts]
    return all(config["cluster"].get("worker") == whole and config["task"] == ["worker", 0] for config in value)


def _own_address_first(value, case_input):
    hosts, port = case_input
    return len(hosts) == 1 or any(config["cluster"].get("worker", [None])[0] == f"{host}:{port}"
                                  and index > 0 for index, (config, host) in enumerate(zip(value, hosts)))


def _normalised_source(function):
    """The function's code without comments or formatting, or None when it cannot be read."""
    try:
        return ast.dump(ast.parse(textwrap.dedent(inspect.getsource(function))))
    except (OSError, TypeError, SyntaxError):
        return None


class RepairExercise(FunctionExercise):
    """A debugging exercise: the skeleton is a broken function, and handing it back unchanged
    is not an attempt."""

    def _check_attempted(self, answer):
        super()._check_attempted(answer)
        broken = _normalised_source(self._broken())
        if broken is not None and _normalised_source(answer) == broken:
            raise NotAttempted(f"`{self.answer}` is still the snippet as given: run it on two hosts, read each "
                               "worker's TF_CONFIG, then repair it.")

    def _broken(self):
        from tfcourse.exercises.answers import run_source

        return run_source(self.skeleton, self.answer, f"<{self.id} skeleton>")


q4 = RepairExercise(
    "nb11.q4", "all_tf_configs", "repair a launcher's TF_CONFIGs",
    prompt=(
        "This launcher writes the TF_CONFIG of every worker of a job (worker i on `hosts[i]`, all on `port`), "
        "but a job started with its TF_CONFIGs does not train as one cluster. Run it on two hosts, read what "
        "each worker would get, and repair `all_tf_configs(hosts, port)` so that it returns one TF_CONFIG "
        "(JSON text or dict) per worker, worker 0's first. The check asks TensorFlow's "
        "`TFConfigClusterResolver` what each one says."),
    skeleton=BROKEN_CONFIGS,
    solution=CONFIGS_SOLUTION,
    hints=["`print(*all_tf_configs([\"a\", \"b\"], 2222), sep=\"\\n\")`: does each worker know the other? "
           "What index does worker 1 get?",
           "Two bugs: every worker must get the *same* cluster, listing every host, and its own index: "
           "`enumerate(hosts)`."],
    mistakes=[
        Mistake("each_worker_alone",
                "each worker's cluster lists only itself: every worker would train on its own, N separate jobs. "
                "Every worker gets the same cluster, listing every host.",
                BROKEN_CONFIGS.replace('"index": 0', '"index": 0 if True else 1'),
                detect=_configs_detector(_clusters_of_one)),
        Mistake("every_index_zero",
                "the cluster is right now, but every worker is told it is worker 0: all of them would try to "
                "listen on worker 0's address and nobody on the others'. Give worker i the index i.",
                BROKEN_CONFIGS.replace('    for host in hosts:\n        cluster = {"worker": [f"{host}:{port}"]}\n',
                                       '    cluster = {"worker": [f"{host}:{port}" for host in hosts]}\n'
                                       '    for host in hosts:\n'),
                detect=_configs_detector(_every_index_zero)),
        Mistake("own_address_first",
                "each worker's cluster starts with its own address: but the order of the list *is* the index, "
                "so the workers disagree on who is who. Every worker gets the same list, in the order of `hosts`.",
                CONFIGS_SOLUTION.replace(
                    '    for index, host in enumerate(hosts):\n',
                    '    for index, host in enumerate(hosts):\n'
                    '        cluster = {"worker": [f"{h}:{port}" for h in hosts[index:] + hosts[:index]]}\n'),
                detect=_configs_detector(_own_address_first)),
    ],
    cases=_configs_cases, run=_run_configs, compare=_compare_configs,
)

EXERCISES = [q1, q2, q3, q4]
