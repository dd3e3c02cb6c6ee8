"""A model of data-parallel step time: compute + the all-reduce of the gradients.

    step(N) = compute + (1 - overlap) x allreduce(N)

compute is one device's forward + backward + update on its batch (measured on 1 device);
all-reduce moves the whole gradient (4 bytes per parameter in float32) among N devices:

  ring          one ring over all N devices, limited by its slowest link:
                2(N-1)/N x bytes / bandwidth + 2(N-1) x latency per message
  hierarchical  reduce-scatter/all-gather inside each machine (fast link), then a ring across
                the M machines on the network: 2(g-1)/g x bytes / intra + 2(M-1)/M x bytes / net

`overlap` is the fraction of communication hidden behind the backward pass (Horovod starts
all-reducing the last layers' gradients while the first layers are still being computed).

No one here has 32 P100s, so the model is checked against the talk's table with stated
assumptions (`TalkAssumptions`) and against this machine with a measured bandwidth.
"""

import dataclasses

import numpy as np

from tfcourse.errors import CourseError
from tfcourse.resnet import scaling

RESNET50_PARAMETERS = 25_557_032
TOPOLOGIES = ("ring", "hierarchical")


@dataclasses.dataclass(frozen=True)
class TalkAssumptions:
    """What the talk does not say, stated so every prediction can be traced to it.

    batch_per_gpu: 64, tf_cnn_benchmarks' usual ResNet-50 batch on a 16 GB P100 in float32
      (the talk gives no batch size); it fixes compute_time = 64 / 221.4 images/s = 0.289 s.
    network_bandwidth: 25 Gbit/s Ethernet between machines = 3.125e9 bytes/s.
    intra_node_bandwidth: 10 GB/s, PCIe 3.0 x16 peer-to-peer between GPUs in one machine.
    latency_s: 30 us per ring hop message (TCP over Ethernet; RoCE would be ~10x less).
    messages: 2 all-reduces per step (Horovod fuses tensors into 64 MB buffers: 102 MB -> 2).
    """

    single_gpu_images_per_sec: float = scaling.TALK_SINGLE_GPU_IMAGES_PER_SEC
    batch_per_gpu: int = 64
    gradient_bytes: int = RESNET50_PARAMETERS * 4
    network_bandwidth: float = 25e9 / 8
    intra_node_bandwidth: float = 10e9
    latency_s: float = 30e-6
    messages: int = 2

    @property
    def compute_time_s(self):
        return self.batch_per_gpu / self.single_gpu_images_per_sec


def ring_allreduce_time(num_devices, num_bytes, bandwidth, latency_s=0.0, messages=1):
    """Seconds for a ring all-reduce of `num_bytes` over `num_devices` (0 for one device).

    2(N-1) hops (N-1 reduce-scatter, N-1 all-gather), each carrying bytes/N per device.
    """
    if num_devices < 1 or bandwidth <= 0:
        raise CourseError(f"need num_devices >= 1 and bandwidth > 0, got {num_devices}, {bandwidth}")
    if num_devices == 1:
        return 0.0
    hops = 2 * (num_devices - 1)
    return hops / num_devices * num_bytes / bandwidth + hops * latency_s * messages


def allreduce_time(num_devices, devices_per_node, num_bytes, network_bandwidth, intra_node_bandwidth,
                   latency_s=0.0, messages=1, topology="ring"):
    """All-reduce seconds for N devices placed `devices_per_node` to a machine."""
    if topology not in TOPOLOGIES:
        raise CourseError(f"topology must be one of {', '.join(TOPOLOGIES)}, got {topology!r}")
    per_node = min(devices_per_node, num_devices)
    nodes = -(-num_devices // per_node)
    if nodes == 1:
        return ring_allreduce_time(num_devices, num_bytes, intra_node_bandwidth, latency_s, messages)
    if topology == "ring":
        # The ring crosses machines, so every hop waits for the slowest link: the network.
        return ring_allreduce_time(num_devices, num_bytes, network_bandwidth, latency_s, messages)
    inside = ring_allreduce_time(per_node, num_bytes, intra_node_bandwidth, latency_s, messages)
    across = ring_allreduce_time(nodes, num_bytes, network_bandwidth, latency_s, messages)
    return inside + across


def predict_step_time(num_devices, devices_per_node, compute_time_s, gradient_bytes, network_bandwidth,
                      intra_node_bandwidth, latency_s=0.0, messages=1, overlap=0.0, topology="ring"):
    """Predicted seconds per synchronous step on N devices (each with the 1-device batch)."""
    if not 0.0 <= overlap <= 1.0:
        raise CourseError(f"overlap must be in [0, 1], got {overlap}")
    communication = allreduce_time(num_devices, devices_per_node, gradient_bytes, network_bandwidth,
                                   intra_node_bandwidth, latency_s, messages, topology)
    return compute_time_s + (1.0 - overlap) * communication


def predict_talk(assumptions=TalkAssumptions(), overlap=0.0, topology="ring"):
    """Predicted scaling rows for the talk's layouts (same keys as scaling rows + step_time_s)."""
    a = assumptions
    rows = []
    for entry in scaling.TALK_RESULTS:
        machines, per_machine = (int(v) for v in entry["layout"].split("x"))
        step = predict_step_time(entry["devices"], per_machine, a.compute_time_s, a.gradient_bytes,
                                 a.network_bandwidth, a.intra_node_bandwidth, a.latency_s, a.messages,
                                 overlap, topology)
        images = entry["devices"] * a.batch_per_gpu / step
        row = scaling._row(entry["devices"], entry["layout"], images, a.single_gpu_images_per_sec)
        rows.append(dict(row, step_time_s=step))
    return rows


def fit_overlap(assumptions=TalkAssumptions(), topology="ring"):
    """The overlap in [0, 0.99] whose predictions best match the talk's efficiencies (least squares)."""
    measured = np.array([r["efficiency"] for r in scaling.talk_table()])
    candidates = np.linspace(0.0, 0.99, 100)
    errors = [np.sum((np.array([r["efficiency"] for r in predict_talk(assumptions, o, topology)]) - measured) ** 2)
              for o in candidates]
    return float(candidates[int(np.argmin(errors))])


def implied_communication_time(efficiency, compute_time_s):
    """Exposed communication seconds per step that a measured efficiency implies.

    efficiency = compute / (compute + exposed)  =>  exposed = compute x (1/efficiency - 1).
    """
    return compute_time_s * (1.0 / efficiency - 1.0)


def model_vs_talk(assumptions=TalkAssumptions()):
    """Talk efficiency next to the model's, for both topologies, with and without fitted overlap.

    Returns:
      (rows, fitted) where rows are dicts with devices, layout, talk, ring, hierarchical,
      ring_fit, hierarchical_fit (efficiencies as fractions) and implied_comm_ms (the exposed
      communication the talk's efficiency implies), and fitted = {topology: overlap}.
    """
    fitted = {t: fit_overlap(assumptions, t) for t in TOPOLOGIES}
    columns = {t: predict_talk(assumptions, 0.0, t) for t in TOPOLOGIES}
    columns.update({f"{t}_fit": predict_talk(assumptions, fitted[t], t) for t in TOPOLOGIES})
    rows = []
    for i, talk in enumerate(scaling.talk_table()):
        row = {"devices": talk["devices"], "layout": talk["layout"], "talk": talk["efficiency"],
               "implied_comm_ms": 1e3 * implied_communication_time(talk["efficiency"], assumptions.compute_time_s)}
        row.update({name: column[i]["efficiency"] for name, column in columns.items()})
        rows.append(row)
    return rows, fitted


def format_model_vs_talk(rows, fitted):
    """A text table of model_vs_talk's result, efficiencies in percent."""
    names = ("ring", "hierarchical", "ring_fit", "hierarchical_fit")
    header = (f"{'GPUs':>5} {'layout':>7} {'talk':>7} {'ring':>7} {'hier':>7} "
              f"{'ring+ov':>8} {'hier+ov':>8} {'implied comm':>13}")
    lines = [header, "-" * len(header)]
    for r in rows:
        values = " ".join(f"{100 * r[n]:>{8 if n.endswith('fit') else 7}.1f}" for n in names)
        lines.append(f"{r['devices']:>5} {'(' + r['layout'] + ')':>7} {100 * r['talk']:>7.1f} {values} "
                     f"{r['implied_comm_ms']:>10.1f} ms")
    lines.append(f"fitted overlap: ring {fitted['ring']:.2f}, hierarchical {fitted['hierarchical']:.2f}")
    gaps = {n: max_gap_points(rows, n) for n in ("ring_fit", "hierarchical_fit")}
    lines.append(f"largest gap to the talk with the fitted overlap: ring {gaps['ring_fit']:.1f} points, "
                 f"hierarchical {gaps['hierarchical_fit']:.1f} points")
    return "\n".join(lines)


def max_gap_points(rows, column):
    """The largest |model - talk| efficiency over model_vs_talk's rows, in percentage points."""
    return max(abs(100 * r[column] - 100 * r["talk"]) for r in rows)


def predict_local_efficiency(compute_time_s, gradient_bytes, allreduce, num_workers=None, compute_slowdown=1.0,
                             allreduces_per_step=1):
    """Predicted efficiency of N local worker processes from a measured all-reduce.

    Args:
      compute_time_s: one worker's measured step time on its own (no communication).
      gradient_bytes: the model's gradient size (model.gradient_bytes).
      allreduce: allreduce.measure_allreduce_bandwidth's result (latency_s, bandwidth).
      compute_slowdown: how much slower each worker computes than one alone. 1 for devices of
        their own (GPUs, machines); N when N workers share the cores one replica already used,
        as logical devices or worker processes on one CPU do.
      allreduces_per_step: collectives a step starts, each paying the measured latency; the
        gradient bytes cross once. The benchmark's step does 2: the gradients, and the sum of
        the loss across workers that it returns.
    """
    num_workers = num_workers or allreduce["workers"]
    communication = ring_allreduce_time(num_workers, gradient_bytes, allreduce["bandwidth_bytes_per_s"],
                                        allreduce["latency_s"] / (2 * (allreduce["workers"] - 1)),
                                        messages=allreduces_per_step)
    return compute_time_s / (compute_slowdown * compute_time_s + communication)
