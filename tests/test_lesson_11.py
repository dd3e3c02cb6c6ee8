"""Notebook 11's proof, out of the lesson: what the stored full run printed for the workers
started by hand and by the launcher."""

import pathlib
import re

import nbformat

NOTEBOOK = pathlib.Path(__file__).resolve().parents[1] / "notebooks" / "11_one_command_service.ipynb"


def stored_output(marker):
    cells = [c for c in nbformat.read(NOTEBOOK, as_version=4).cells if c.cell_type == "code" and marker in c.source]
    assert len(cells) == 1, (marker, len(cells))
    return "".join(o.get("text", "") for o in cells[0].outputs if o.get("output_type") == "stream")


def params():
    cell = next(c for c in nbformat.read(NOTEBOOK, as_version=4).cells if "parameters" in c.metadata.get("tags", []))
    return eval("".join(o["data"]["text/plain"] for o in cell.outputs if "data" in o))  # noqa: S307 - our own dict


def test_the_late_worker_made_the_first_one_wait_about_the_delay():
    text = stored_output("time.sleep(params[\"late_start_s\"])")
    waited = float(re.search(r"worker 0 waited ([\d.]+) s", text).group(1))
    # Started late_start_s after worker 0; both then need about the same start-up.
    assert waited > 0.5 * params()["late_start_s"], text
    assert text.count("sum over the workers = 3.0") == 2


def test_the_wrong_index_fails_one_process_and_the_alarm_ends_the_other():
    text = stored_output('start_worker(0, cluster, job_start, f"wrong-index-{attempt}.log")')
    assert text.count("Could not start gRPC server") == 1, text
    assert "killed by signal SIGALRM" in text and "exited with code 1" in text, text
    assert "sum over the workers" not in text


def test_one_command_ran_the_same_workers_to_the_end():
    text = stored_output("launched = subprocess.run(")
    assert text.count("sum over the workers = 3.0") == 2 and "exit status 0" in text, text


def test_the_launcher_gives_ranks_per_host_and_stops_a_failed_job():
    ranks = stored_output("show_ranks = ")
    assert "[worker 3] rank 3 local rank 1 host 1 TF_CONFIG task worker 3" in ranks, ranks
    stopped = stored_output("one_fails = ")
    assert "worker 1" in stopped and "exited with code 3" in stopped and "exit status 3" in stopped, stopped


def test_the_trainer_launched_unchanged_trains_as_one_job():
    text = stored_output("trained = subprocess.run(")
    precision = float(re.search(r"test precision@1 ([\d.]+)", text).group(1))
    assert "exit status 0" in text and precision > 0.85, text
