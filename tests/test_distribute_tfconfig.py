"""TF_CONFIG parsing, the chief, and the variables the launcher writes for the trainer (no TensorFlow)."""

import json

import pytest

from tfcourse.distribute import protocol, tfconfig
from tfcourse.errors import CourseError


def _env(cluster, task_type, index):
    return {"TF_CONFIG": tfconfig.tf_config(cluster, task_type, index)}


def test_outside_a_cluster_this_process_is_the_only_worker_and_the_chief():
    assert tfconfig.cluster_from_env({}) is None
    assert tfconfig.cluster_from_env({"TF_CONFIG": ""}) is None
    assert tfconfig.num_tasks(None) == 0 and tfconfig.is_chief(None)
    assert tfconfig.worker_info({}) == (0, 1)


def test_worker_0_is_the_chief_unless_there_is_a_chief_task():
    workers = tfconfig.cluster_spec(3, [1001, 1002, 1003])
    chiefs = [tfconfig.is_chief(tfconfig.cluster_from_env(_env(workers, "worker", i))) for i in range(3)]
    assert chiefs == [True, False, False]
    assert tfconfig.worker_info(_env(workers, "worker", 2)) == (2, 3)
    with_chief = tfconfig.cluster_spec(3, [1001, 1002, 1003], chief_task=True)
    assert with_chief == {"chief": ["127.0.0.1:1001"], "worker": ["127.0.0.1:1002", "127.0.0.1:1003"]}
    assert tfconfig.is_chief(tfconfig.cluster_from_env(_env(with_chief, "chief", 0)))
    assert not tfconfig.is_chief(tfconfig.cluster_from_env(_env(with_chief, "worker", 0)))
    assert tfconfig.num_tasks(tfconfig.cluster_from_env(_env(with_chief, "worker", 1))) == 3
    assert tfconfig.tasks_of(with_chief) == [("chief", 0), ("worker", 0), ("worker", 1)]


@pytest.mark.parametrize("text, message", [
    ("{not json", "TF_CONFIG is not valid JSON"),
    (json.dumps({"cluster": {"worker": ["h:1"]}}), "needs both 'cluster' and 'task'"),
])
def test_a_broken_tf_config_says_what_was_expected(text, message):
    with pytest.raises(CourseError, match=message):
        tfconfig.cluster_from_env({"TF_CONFIG": text})


def test_the_launcher_environment_round_trips_to_the_attempt_the_trainer_reads():
    env = protocol.worker_environment(num_workers=4, rank=3, npernode=2, attempt=1)
    assert env == {"TFCOURSE_NUM_WORKERS": "4", "TFCOURSE_RANK": "3", "TFCOURSE_LOCAL_RANK": "1",
                   "TFCOURSE_NODE_RANK": "1", "TFCOURSE_ATTEMPT": "1"}
    assert protocol.launch_attempt(env) == 1
    assert protocol.launch_attempt({}) == 0


@pytest.mark.parametrize("kwargs, message", [
    (dict(strategy="ring"), "strategy must be one of auto, one-device, mirrored, multiworker, got 'ring'"),
    (dict(device="tpu"), "device must be one of auto, cpu, gpu, got 'tpu'"),
    (dict(num_replicas=0), "replicas must be a positive integer, got 0"),
])
def test_a_strategy_asked_for_by_a_wrong_name_is_one_line(kwargs, message):
    from tfcourse.distribute import strategies

    with pytest.raises(CourseError, match=f"^{message}$"):
        strategies.choose_strategy(**kwargs)
