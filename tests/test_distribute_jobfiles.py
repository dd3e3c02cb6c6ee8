"""Emitted cluster job files, parsed and compared with the expected files in tests/data/."""

import json
import os
import pathlib
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
    text = jobfiles.slurm_script(["tfcourse", "train", "--train_dir", "/shared/run1"], 4, npernode=2, restarts=1)
    assert text == (DATA / "launch_slurm_np4_npernode2.sh").read_text()
    options = _sbatch_options(text)
    assert options["--nodes"] == "2" and options["--ntasks"] == "4" and options["--ntasks-per-node"] == "2"
    assert "--requeue" in options and "--gpus-per-task" not in options
    srun = [line for line in text.splitlines() if line.startswith("srun ")]
    assert len(srun) == 1 and "launch --from-slurm --gpus 0" in srun[0]
    assert srun[0].endswith("-- tfcourse train --train_dir /shared/run1")


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
