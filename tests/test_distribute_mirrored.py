"""Synchronous data parallel gives the single-device weights: Mirrored on logical CPUs, and 2 workers."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest

SCRIPT = textwrap.dedent("""
    import sys
    import numpy as np
    from tfcourse.distribute import strategies
    from tfcourse.datasets import read_data_sets
    from tfcourse import mnist
    from tfcourse import training
    replicas, log_dir, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    config = training.TrainConfig(batch_size=64, optimizer="sgd", learning_rate=0.1, max_steps=20,
                                  steps_per_call=10, log_dir=log_dir, write_summaries=False)
    strategy, chief = strategies.make_strategy(replicas)
    result = training.train(read_data_sets(fake_data=True), config, strategy=strategy, chief=chief,
                            progress=False, verbose=False)
    if chief:
        initial = mnist.initial_weights(config.hidden1, config.hidden2, config.seed)
        np.savez(out, replicas=strategy.num_replicas_in_sync,
                 **{k.replace("/", "_"): v for k, v in result.model.get_weights().items()},
                 **{"initial_" + k.replace("/", "_"): v for k, v in initial.items()})
    """)


def _train(tmp_path, name, replicas=1, launch_np=None):
    out = tmp_path / f"{name}.npz"
    command = [sys.executable, "-c", SCRIPT, str(replicas), str(tmp_path / name), str(out)]
    if launch_np:
        command = [sys.executable, "-m", "tfcourse", "launch", "-np", str(launch_np), "--timeout", "150", "--", *command]
    done = subprocess.run(command, capture_output=True, text=True, timeout=200)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return dict(np.load(out))


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    return _train(tmp_path_factory.mktemp("ref"), "one")


def _assert_same_weights(a, b):
    keys = [k for k in a if k != "replicas" and not k.startswith("initial_")]
    assert len(keys) == 6
    for key in keys:
        np.testing.assert_allclose(a[key], b[key], rtol=0, atol=1e-6, err_msg=key)
        # It trained: every variable moved from its initial value far beyond the tolerance above.
        moved = np.abs(a[key] - a["initial_" + key]).max()
        assert moved > 1e-3, (key, moved)


def test_two_mirrored_replicas_match_one_device(reference, tmp_path):
    two = _train(tmp_path, "two", replicas=2)
    assert int(two["replicas"]) == 2 and int(reference["replicas"]) == 1
    _assert_same_weights(reference, two)


@pytest.mark.slow
def test_two_workers_through_the_launcher_match_one_process(reference, tmp_path):
    workers = _train(tmp_path, "workers", launch_np=2)
    assert int(workers["replicas"]) == 2
    _assert_same_weights(reference, workers)
