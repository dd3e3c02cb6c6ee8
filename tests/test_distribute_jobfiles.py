"""Emitted cluster job files, parsed and compared with the expected files in tests/data/."""

import json
import os
import pathlib
import re
import subprocess
import sys

import pytest
import yaml

from tfcourse.distribute import jobfiles
from tfcourse.errors import CourseError

DATA = pathlib.Path(__file__).parent / "data"
COMMAND = ["tfcourse", "train", "--train_dir", "/train"]


def _sbatch_options(text):
    return dict(line[len("#SBATCH "):].split("=", 1) if "=" in line else (line[len("#SBATCH "):], None)
                for line in text.splitlines() if line.startswith("#SBATCH "))


def test_slurm_script_matches_expected_file():
    text = jobfiles.slurm_script(["tfcourse", "train", "--train_dir", "/train/run1"], 4, npernode=2, restarts=1,
                                 image="registry.example/tfcourse:0.1", mount="/shared")
    assert text == (DATA / "launch_slurm_np4_npernode2.sh").read_text()
    options = _sbatch_options(text)
    assert options["--nodes"] == "2" and options["--ntasks"] == "4" and options["--ntasks-per-node"] == "2"
    assert "--requeue" in options and "--gpus-per-task" not in options
    srun = [line for line in text.splitlines() if line.startswith("srun ")]
    assert len(srun) == 1 and "launch --from-slurm --gpus 0" in srun[0]
    assert "--container-image=registry.example/tfcourse:0.1 --container-mounts=/shared:/train " in srun[0]
    assert srun[0].endswith("-- tfcourse train --train_dir /train/run1")


def test_job_files_name_the_image_build_image_sh_tags_unless_told_otherwise():
    import tfcourse

    assert jobfiles.default_image() == f"tfcourse:{tfcourse.__version__}"
    assert jobfiles.default_image(gpus=1) == f"tfcourse:{tfcourse.__version__}-gpu"
    srun = jobfiles.slurm_script(COMMAND, 2, gpus=1).splitlines()[-1]
    assert f"--container-image=tfcourse:{tfcourse.__version__}-gpu tfcourse launch" in srun
    bare = jobfiles.slurm_script(COMMAND, 2, image=None).splitlines()[-1]
    assert "--container" not in bare and bare.startswith("srun --kill-on-bad-exit=1 --label tfcourse launch")
    with pytest.raises(CourseError, match="needs an --image"):
        jobfiles.slurm_script(COMMAND, 2, image=None, mount="/shared")
    pods = yaml.safe_load(jobfiles.tfjob_manifest(COMMAND, 2))["spec"]["tfReplicaSpecs"]
    assert {pods[r]["template"]["spec"]["containers"][0]["image"] for r in pods} == {jobfiles.default_image()}
    services = yaml.safe_load(jobfiles.compose_file(COMMAND, 2, image="me/tfcourse:2"))["services"]
    assert {s["image"] for s in services.values()} == {"me/tfcourse:2"}


def test_slurm_script_rounds_nodes_up_and_asks_for_gpus():
    options = _sbatch_options(jobfiles.slurm_script(COMMAND, 5, npernode=2, gpus=1))
    assert options["--nodes"] == "3" and options["--gpus-per-task"] == "1"


def test_tfjob_manifest_matches_expected_file_and_has_chief_and_workers():
    text = jobfiles.tfjob_manifest(COMMAND, 3, gpus=1, image="registry.example/tfcourse:0.1", restarts=2, pvc="runs")
    manifest = yaml.safe_load(text)
    assert manifest == yaml.safe_load((DATA / "launch_tfjob_np3.yaml").read_text())
    assert manifest["apiVersion"] == "kubeflow.org/v1" and manifest["kind"] == "TFJob"
    specs = manifest["spec"]["tfReplicaSpecs"]
    assert specs["Chief"]["replicas"] == 1 and specs["Worker"]["replicas"] == 2
    container = specs["Worker"]["template"]["spec"]["containers"][0]
    assert container["name"] == "tensorflow" and container["command"] == COMMAND
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert manifest["spec"]["runPolicy"]["backoffLimit"] == 2


def test_cpu_tfjob_has_no_gpu_limits_and_one_pod_needs_two():
    manifest = yaml.safe_load(jobfiles.tfjob_manifest(COMMAND, 2))
    container = manifest["spec"]["tfReplicaSpecs"]["Chief"]["template"]["spec"]["containers"][0]
    assert "resources" not in container and "volumeMounts" not in container
    with pytest.raises(CourseError, match="-np 2 or more"):
        jobfiles.tfjob_manifest(COMMAND, 1)


def test_compose_file_matches_expected_file_with_a_head_and_node_services():
    command = ["tfcourse", "train", "--resume", "--log_dir", "/train"]
    text = jobfiles.compose_file(command, 3, npernode=2, gpus=1, image="registry.example/tfcourse:0.1-gpu",
                                 hosts=("10.0.0.1", "10.0.0.2"), volume="/shared/run1", restarts=2)
    compose = yaml.safe_load(text)
    assert compose == yaml.safe_load((DATA / "launch_compose_np3_npernode2.yaml").read_text())
    services = compose["services"]
    assert list(services) == ["head", "node-1", "node-2"] and "volumes" not in compose
    configs = {name: json.loads(s["environment"]["TF_CONFIG"]) for name, s in services.items()}
    cluster = {"chief": ["10.0.0.1:2222"], "worker": ["10.0.0.1:2223", "10.0.0.2:2222"]}
    assert all(c["cluster"] == cluster for c in configs.values())
    assert [c["task"] for c in configs.values()] == [{"type": "chief", "index": 0}, {"type": "worker", "index": 0},
                                                     {"type": "worker", "index": 1}]
    for name, service in services.items():
        assert service["entrypoint"] == command and service["network_mode"] == "host"
        assert service["volumes"] == ["/shared/run1:/train"] and service["restart"] == "on-failure:2"
        assert service["labels"]["tfcourse.gpus"] == "1" and service["labels"]["tfcourse.role"] == (
            "head" if name == "head" else "node")
        assert service["deploy"]["resources"]["reservations"]["devices"] == [
            {"driver": "nvidia", "count": 1, "capabilities": ["gpu"]}]
    assert [s["labels"]["tfcourse.host"] for s in services.values()] == ["10.0.0.1", "10.0.0.1", "10.0.0.2"]


def test_cpu_compose_file_on_one_host_has_a_named_volume_no_gpus_and_no_restarts():
    compose = yaml.safe_load(jobfiles.compose_file(COMMAND, 2))
    assert compose["volumes"] == {"tfcourse-train": {"name": "tfcourse-train"}}
    for service in compose["services"].values():
        assert "deploy" not in service and service["restart"] == "no"
        assert service["volumes"] == ["tfcourse-train:/train"] and service["labels"]["tfcourse.gpus"] == "0"
    head = json.loads(compose["services"]["head"]["environment"]["TF_CONFIG"])
    assert head["cluster"] == {"chief": ["127.0.0.1:2222"], "worker": ["127.0.0.1:2223"]}


@pytest.mark.parametrize("kwargs, message", [
    (dict(num_workers=1), "a compose job needs -np 2 or more"),
    (dict(num_workers=3, npernode=1, hosts=("a", "b")), "-np 3 -npernode 1 needs 3 hosts, got 2: a,b"),
    (dict(num_workers=2, npernode=3), "-npernode must be between 1 and -np (2), got 3"),
])
def test_compose_misuse_is_one_line(kwargs, message):
    with pytest.raises(CourseError, match=f"^{re.escape(message)}"):
        jobfiles.compose_file(COMMAND, **kwargs)


@pytest.mark.parametrize("argv, message", [
    (["--emit", "k8s", "--hosts", "a,b"], "--hosts is for --emit compose, not --emit k8s"),
    (["--emit", "compose", "--pvc", "runs"], "--pvc is for --emit k8s, not --emit compose"),
    (["--emit", "k8s", "--volume", "v"], "--volume is for --emit slurm or compose, not --emit k8s"),
])
def test_emit_flag_misuse_exits_2_with_one_line(argv, message):
    result = subprocess.run([sys.executable, "-m", "tfcourse", "launch", *argv, "-np", "2", "--", "tfcourse", "train"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and result.stderr.strip().endswith(message), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_emit_compose_writes_the_file_from_the_command_line(tmp_path):
    out = tmp_path / "compose.yaml"
    result = subprocess.run([sys.executable, "-m", "tfcourse", "launch", "--emit", "compose", "-np", "2",
                             "--restarts", "1", "-o", str(out), "--", *COMMAND],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert yaml.safe_load(out.read_text()) == yaml.safe_load(jobfiles.compose_file(COMMAND, 2, restarts=1))


def _slurm_env(procid):
    return {"SLURM_PROCID": str(procid), "SLURM_STEP_NUM_TASKS": "4", "SLURM_STEP_NODELIST": "node[01-02]",
            "SLURM_STEP_TASKS_PER_NODE": "2(x2)"}


def test_slurm_tf_config_on_cpu_nodes_works_around_the_resolver_gpu_quirks():
    configs = [json.loads(jobfiles.slurm_tf_config(0, 9000, _slurm_env(rank))) for rank in range(4)]
    assert configs[0]["cluster"] == {"worker": ["node01:9000", "node01:9001", "node02:9000", "node02:9001"]}
    assert [c["task"] for c in configs] == [{"type": "worker", "index": i} for i in range(4)]


def test_slurm_tf_config_on_gpu_nodes_pins_each_task_to_its_gpus():
    env = _slurm_env(3)
    config = json.loads(jobfiles.slurm_tf_config(2, 8888, env))
    assert config["task"] == {"type": "worker", "index": 3}
    assert env["CUDA_VISIBLE_DEVICES"] == "2,3"


def test_from_slurm_runs_the_command_with_tf_config_and_fails_clearly_outside_slurm():
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLURM_")}
    inside = subprocess.run([sys.executable, "-m", "tfcourse", "launch", "--from-slurm", "--", sys.executable, "-c",
                             "import os; print(os.environ['TF_CONFIG'])"],
                            capture_output=True, text=True, env={**env, **_slurm_env(2)}, timeout=120)
    assert inside.returncode == 0, inside.stderr
    assert json.loads(inside.stdout)["task"] == {"type": "worker", "index": 2}
    cli = subprocess.run([sys.executable, "-m", "tfcourse", "launch", "--from-slurm", "--", "true"],
                         capture_output=True, text=True, env=env)
    assert cli.returncode == 2 and "SLURM_PROCID is not set" in cli.stderr


@pytest.mark.parametrize("kwargs, message", [
    (dict(num_workers=0), "-np must be a positive integer, got 0"),
    (dict(num_workers=2, gpus=-1), "--gpus must be a non-negative integer, got -1"),
])
def test_job_file_misuse_is_one_line(kwargs, message):
    for write in (jobfiles.slurm_script, jobfiles.tfjob_manifest):
        with pytest.raises(CourseError, match=f"^{message}$"):
            write(["python", "-m", "tfcourse", "train"], **kwargs)
