"""Restates a stored result file's rounds with the one statistic (tfcourse.paired.paired_ratio).

Result files written before the paired statistic kept every round but published best rounds.
This reads their rounds, pairs round i of face A with round i of face B, and writes
`<name>.paired.json` beside the file; nothing is measured again.

    PYTHONPATH=$PWD python benchmarks/restate.py benchmarks/results/mlp_throughput/run_a.json ...
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from tfcourse import paired  # noqa: E402

TF2, FIT, FEED = "tfcourse TF2 face", "keras fit", "graph/session feed_dict"
FLOOR, LIMIT = "op-by-op floor (in-graph loop)", "compute limit"


def throughput(report):
    """mlp_throughput (before the paired statistic): one matmul burst after every face of every round."""
    names = list(report["faces"])
    rates = {name: face["examples_per_s"] for name, face in report["faces"].items()}
    rounds = report["rounds"]
    bursts = report["matmul_flops_per_s"]
    if len(bursts) != rounds * len(names):
        raise ValueError(f"expected {rounds * len(names)} matmul bursts (one after every face), got {len(bursts)}")
    # The burst right after the TF2 face's round i: the compute limit of round i.
    after_tf2 = [bursts[index * len(names) + names.index(TF2)] for index in range(rounds)]
    rates[LIMIT] = [report["batch"] * rate / report["step_matmul_flops"] for rate in after_tf2]
    spe = next(name for name in names if name.startswith("keras fit, steps_per_execution"))
    pairs = [(TF2, FIT), (TF2, spe), (TF2, FEED), (TF2, FLOOR), (TF2, LIMIT)]
    pairs += [(a, b) for a, b in (("tfcourse TF2 face + XLA", TF2), ("in-graph loop, one XLA cluster", FLOOR))
              if a in rates]
    return {"note": f"'{FEED}' here is the tutorial's loop, next_batch inside the clock (the later script's "
                    "'graph/session feed_dict + next_batch per step')",
            "load_average": [report["load_before"][0], report["load_after"][0]],
            "ratios": {f"{a} / {b}": paired.as_dict(paired.paired_ratio(rates[a], rates[b])) for a, b in pairs}}


def small_resnet_bfloat16(report):
    """small_resnet_bfloat16 (before the paired statistic): per seed, rounds of both precisions."""
    ratios = {}
    for seed in report["args"]["seeds"]:
        fp32, bf16 = (next(row for row in report["rows"] if row["seed"] == seed and row["precision"] == p)
                      for p in ("float32", "mixed_bfloat16"))
        ratios[f"seed {seed}: mixed_bfloat16 / float32"] = paired.as_dict(
            paired.paired_ratio(bf16["images_per_s_rounds"], fp32["images_per_s_rounds"]))
        ratios[f"seed {seed}: test precision bf16 - fp32"] = bf16["test_precision"] - fp32["test_precision"]
    return {"load_average": [report["load_before"][0], report["load_after"][0]], "ratios": ratios}


def resnet50_peer(report):
    """resnet50_peer (before the paired statistic): interleaved rounds of 2 models x 2 precisions."""
    rounds = {(run["model"], run["precision"]): run["images_per_sec"] for run in report["runs"]}
    ratios = {}
    for precision in ("float32", "mixed_bfloat16"):
        ratios[f"tfcourse / keras.applications, {precision}"] = paired.as_dict(paired.paired_ratio(
            rounds[("tfcourse", precision)], rounds[("keras.applications", precision)]))
    for model in ("tfcourse", "keras.applications"):
        ratios[f"{model}: mixed_bfloat16 / float32"] = paired.as_dict(paired.paired_ratio(
            rounds[(model, "mixed_bfloat16")], rounds[(model, "float32")]))
    return {"load_average": [report["load_before"][0], report["load_after"][0]], "ratios": ratios}


def cpu_scaling(lines):
    """resnet_cpu_scaling's results.jsonl: rounds of 1 replica, 2 replicas (1 process), 2 workers, interleaved."""
    rounds = {}
    for row in lines:
        rounds.setdefault((row["replicas"], row["workers"]), []).append(row["images_per_sec"])
    single = rounds[(1, 1)]
    ratios = {}
    for name, key in (("2 replicas (1 process)", (2, 1)), ("2 workers (2 processes)", (2, 2))):
        speedup = paired.paired_ratio(rounds[key], single)
        ratios[f"{name} / 1 replica"] = dict(paired.as_dict(speedup), efficiency=speedup.median / 2)
    return {"ratios": ratios}


def restate(path):
    if path.endswith(".jsonl"):
        with open(path) as file:
            lines = [json.loads(line) for line in file if line.strip()]
        return _write(path, cpu_scaling(lines), ".jsonl")
    with open(path) as file:
        report = json.load(file)
    kind = throughput if "faces" in report else resnet50_peer if "runs" in report else small_resnet_bfloat16
    return _write(path, kind(report), ".json")


def _write(path, restated, suffix):
    result = {"source": os.path.basename(path), "restated_by": "python benchmarks/restate.py " + path,
              "statistic": "median of paired per-round ratios (tfcourse.paired.paired_ratio)", **restated}
    out = path[: -len(suffix)] + ".paired.json"
    with open(out, "w") as file:
        json.dump(result, file, indent=1)
    return out, result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+")
    for path in parser.parse_args().paths:
        out, result = restate(path)
        print(out)
        for name, ratio in result["ratios"].items():
            if isinstance(ratio, dict):
                text = paired.describe(paired.PairedRatio(**{k: ratio[k] for k in paired.PairedRatio._fields}))
            else:
                text = f"{ratio:+.4f}"
            print(f"  {name:<64}{text}")


if __name__ == "__main__":
    main()
