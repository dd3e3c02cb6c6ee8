"""Notebook 11's exercises against independent oracles, other right answers and wrong answers no
catalogue names (issue 21): right ones pass, wrong ones are mistakes whose message shows
expected, got and where."""

import itertools
import json
import textwrap

import numpy as np
import pytest

from tfcourse.exercises import core
from tfcourse.exercises import nb11 as ex


def answer(source, name):
    return core.run_source(textwrap.dedent(source), name, f"<test {name}>")


def assert_uncatalogued(result, *fragments):
    assert result.status == "mistake" and result.mistake == core.WRONG_RESULT, (result.status, result.message)
    for fragment in ("expected", "got", *fragments):
        assert fragment in result.message, result.message


# ---------------------------------------------------------------- q1: a TF_CONFIG with parameter servers


def test_q1_reference_resolves_to_the_hand_written_cluster():
    for case, outcome in zip(ex.q1.cases(), ex.q1._expected()):
        hosts, num_ps, task_type, index = case.input
        cluster = {"ps": [f"{h}:2222" for h in hosts[:num_ps]], "worker": [f"{h}:2222" for h in hosts[num_ps:]]}
        assert outcome.value == {"cluster": cluster, "task": [task_type, index]}, case.label


Q1_RIGHT = [
    """\
    import json

    def job_tf_config(hosts, num_ps, task_type, index):
        jobs = {"ps": hosts[:num_ps], "worker": hosts[num_ps:]}
        return json.dumps({"cluster": {job: [h + ":2222" for h in names] for job, names in jobs.items()},
                           "task": {"index": index, "type": task_type}})
    """,
    """\
    def job_tf_config(hosts, num_ps, task_type, index):
        cluster = {"worker": [], "ps": []}
        for position, host in enumerate(hosts):
            cluster["ps" if position < num_ps else "worker"].append("%s:%d" % (host, 2222))
        return dict(task=dict(type=task_type, index=int(index)), cluster=cluster)
    """,
]


@pytest.mark.parametrize("source", Q1_RIGHT, ids=["json-text", "loop"])
def test_q1_other_right_answers_pass(source):
    result = ex.q1.evaluate(answer(source, "job_tf_config"))
    assert result.status == "passed", result.message


Q1_WRONG = {
    "other_port": """\
    def job_tf_config(hosts, num_ps, task_type, index):
        addresses = [f"{host}:2223" for host in hosts]
        return {"cluster": {"ps": addresses[:num_ps], "worker": addresses[num_ps:]},
                "task": {"type": task_type, "index": index}}
    """,
    "workers_reversed": """\
    def job_tf_config(hosts, num_ps, task_type, index):
        addresses = [f"{host}:2222" for host in hosts]
        return {"cluster": {"ps": addresses[:num_ps], "worker": addresses[num_ps:][::-1]},
                "task": {"type": task_type, "index": index}}
    """,
}


@pytest.mark.parametrize("name", sorted(Q1_WRONG))
def test_q1_uncatalogued_wrong_answers_show_expected_got_and_where(name):
    assert_uncatalogued(ex.q1.evaluate(answer(Q1_WRONG[name], "job_tf_config")), "on ", "cluster")


def test_q1_something_tensorflow_cannot_read_is_one_line():
    result = ex.q1.evaluate(lambda hosts, num_ps, task_type, index: {"cluster": {}, "task": 3, "extra": 1})
    assert result.status == "error" and "'cluster' and 'task'" in result.message and "\n" not in result.message


# ---------------------------------------------------------------- q2: a job started by hand, one late


def test_q2_expected_is_the_last_start_plus_its_start_up():
    np.testing.assert_allclose(ex.q2._expected()[0].value, [14.0, 14.0, 14.0])


@pytest.mark.parametrize("value", [[14, 14, 14], (14.0, 14.0, 14.0), np.array([14.3, 13.8, 14.0])])
def test_q2_right_values_in_any_form_pass(value):
    result = ex.q2.evaluate(value)
    assert result.status == "passed", result.message


@pytest.mark.parametrize("value", [[18, 18, 18], [14, 14, 7]])
def test_q2_plausible_wrong_values_show_expected_and_got(value):
    assert_uncatalogued(ex.q2.evaluate(value))


def test_q2_a_word_instead_of_times_is_told_what_to_give():
    result = ex.q2.evaluate("waits")
    assert result.status == "error" and "3 times" in result.message


# ---------------------------------------------------------------- q3: -np and -npernode


def oracle_flags(gpus):
    """Every subset of machines, the same count G on each (G at most the subset's smallest label)."""
    best = (0, 0)
    for size in range(1, len(gpus) + 1):
        for subset in itertools.combinations(gpus, size):
            for npernode in range(1, min(subset) + 1):
                best = max(best, (size * npernode, npernode))
    return list(best)


def test_q3_reference_matches_the_exhaustive_oracle():
    for case, outcome in zip(ex.q3.cases(), ex.q3._expected()):
        assert outcome.value == oracle_flags(case.input[0]), case.label


Q3_RIGHT = [
    """\
    def mpirun_flags(gpus_per_machine):
        labels = sorted(gpus_per_machine, reverse=True)
        options = [((k + 1) * labels[k], labels[k]) for k in range(len(labels))]
        return max(options)
    """,
    """\
    import collections
    import numpy as np

    def mpirun_flags(gpus_per_machine):
        counts = collections.Counter(gpus_per_machine)
        best_np, best_g = 0, 0
        for g in sorted(counts):
            machines = sum(n for label, n in counts.items() if label >= g)
            if machines * g >= best_np:
                best_np, best_g = machines * g, g
        return np.array([best_np, best_g])
    """,
]


@pytest.mark.parametrize("source", Q3_RIGHT, ids=["sorted", "counter-array"])
def test_q3_other_right_answers_pass(source):
    result = ex.q3.evaluate(answer(source, "mpirun_flags"))
    assert result.status == "passed", result.message


Q3_WRONG = {
    # Counts only the machines labelled exactly G, not those with more GPUs.
    "exact_label_only": """\
    def mpirun_flags(gpus_per_machine):
        return max((gpus_per_machine.count(g) * g, g) for g in set(gpus_per_machine))
    """,
    # A tie goes to the smaller npernode (more machines) against the prompt.
    "tie_to_smaller": """\
    def mpirun_flags(gpus_per_machine):
        best = (0, 0)
        for g in sorted(set(gpus_per_machine), reverse=True):
            n = g * sum(1 for gpus in gpus_per_machine if gpus >= g)
            if n >= best[0]:
                best = (n, g)
        return best
    """,
}


@pytest.mark.parametrize("name", sorted(Q3_WRONG))
def test_q3_uncatalogued_wrong_answers_show_expected_got_and_where(name):
    assert_uncatalogued(ex.q3.evaluate(answer(Q3_WRONG[name], "mpirun_flags")), "on ", "(np, npernode)")


# ---------------------------------------------------------------- q4: repair a launcher's TF_CONFIGs


def test_q4_reference_matches_hand_written_tf_configs():
    for case, outcome in zip(ex.q4.cases(), ex.q4._expected()):
        hosts, port = case.input
        whole = [f"{host}:{port}" for host in hosts]
        assert outcome.value == [{"cluster": {"worker": whole}, "task": ["worker", i]} for i in range(len(hosts))]


Q4_RIGHT = [
    """\
    def all_tf_configs(hosts, port):
        cluster = {"worker": ["%s:%s" % (h, port) for h in hosts]}
        return [{"cluster": cluster, "task": {"type": "worker", "index": i}} for i in range(len(hosts))]
    """,
    """\
    import json

    def all_tf_configs(hosts, port):
        configs = []
        for index, host in enumerate(hosts):
            cluster = {"worker": [f"{other}:{port}" for other in hosts]}
            configs.append(json.dumps({"task": {"index": index, "type": "worker"}, "cluster": cluster}, indent=2))
        return tuple(configs)
    """,
]


@pytest.mark.parametrize("source", Q4_RIGHT, ids=["dicts", "json-tuple"])
def test_q4_other_right_answers_pass(source):
    result = ex.q4.evaluate(answer(source, "all_tf_configs"))
    assert result.status == "passed", result.message


Q4_WRONG = {
    # One port per worker, as on one machine: the hosts differ, so the addresses are wrong.
    "port_per_worker": """\
    def all_tf_configs(hosts, port):
        cluster = {"worker": [f"{host}:{port + i}" for i, host in enumerate(hosts)]}
        return [{"cluster": cluster, "task": {"type": "worker", "index": i}} for i in range(len(hosts))]
    """,
    # Sorted hosts: the same cluster for all, but worker i is no longer on hosts[i].
    "sorted_hosts": """\
    def all_tf_configs(hosts, port):
        cluster = {"worker": [f"{host}:{port}" for host in sorted(hosts)]}
        return [{"cluster": cluster, "task": {"type": "worker", "index": i}} for i in range(len(hosts))]
    """,
}


@pytest.mark.parametrize("name", sorted(Q4_WRONG))
def test_q4_uncatalogued_wrong_answers_show_expected_got_and_where(name):
    assert_uncatalogued(ex.q4.evaluate(answer(Q4_WRONG[name], "all_tf_configs")), "on ", "worker ")


def test_q4_the_broken_snippet_handed_back_is_not_an_attempt_but_an_edited_one_is_judged():
    broken = answer(ex.BROKEN_CONFIGS, "all_tf_configs")
    assert ex.q4.evaluate(broken).status == "not_attempted"
    commented = answer(ex.BROKEN_CONFIGS.replace("    configs = []", "    # looked at it\n    configs = []"),
                       "all_tf_configs")
    assert ex.q4.evaluate(commented).status == "not_attempted"
    reindexed = answer(ex.BROKEN_CONFIGS.replace('"index": 0', '"index": hosts.index(host)'), "all_tf_configs")
    result = ex.q4.evaluate(reindexed)
    assert result.status == "mistake" and result.mistake == "each_worker_alone", result.message
    assert json.loads(broken(["a", "b"], 1)[1])["task"]["index"] == 0  # the snippet is really broken
