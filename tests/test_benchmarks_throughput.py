"""benchmarks/train_throughput.py credits every face exactly the steps its own counter saw run.

The script once gave Keras fit a slice of the training split holding half the steps it was
credited for; this runs the real script briefly and reads its JSON report.
"""

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STEPS, STEPS_PER_CALL, ROUNDS = 20, 10, 2
TRAINING_FACES = {"tfcourse TF2 face", "keras fit", f"keras fit, steps_per_execution={STEPS_PER_CALL}",
                  "graph/session feed_dict", "op-by-op floor (in-graph loop)"}


def test_every_face_is_credited_the_steps_it_ran(tmp_path):
    out = tmp_path / "throughput.json"
    run = subprocess.run(
        [sys.executable, os.path.join(ROOT, "benchmarks", "train_throughput.py"), "--steps", str(STEPS),
         "--steps_per_call", str(STEPS_PER_CALL), "--rounds", str(ROUNDS), "--matmul_size", "128",
         "--matmul_steps", "2", "--json", str(out)],
        capture_output=True, text=True, timeout=240, cwd=tmp_path, env=dict(os.environ, PYTHONPATH=ROOT))
    assert run.returncode == 0, run.stderr[-2000:]
    report = json.loads(out.read_text())
    counted = {name for name, face in report["faces"].items() if face["counter"]}
    assert counted == TRAINING_FACES
    for name in counted:
        face = report["faces"][name]
        assert face["steps_run"] == [STEPS] * ROUNDS, (name, face["steps_run"])
        assert face["steps_credited"] == face["steps_run"], name
        assert len(face["examples_per_s"]) == ROUNDS and all(rate > 0 for rate in face["examples_per_s"]), name
        assert face["best"] == max(face["examples_per_s"]), name
    # The step's matmuls at batch 100: forward 784x128, 128x32, 32x10, their weight
    # gradients, and the input gradients of layers 2 and 3 (not of the images).
    assert report["step_matmul_flops"] == 2 * 100 * (2 * (784 * 128 + 128 * 32 + 32 * 10) + 128 * 32 + 32 * 10)
    assert "TF2 face / op-by-op floor" in run.stdout and "TF2 face / compute limit" in run.stdout
