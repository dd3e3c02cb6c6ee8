"""tfcourse launch: run a command as an N-process TF_CONFIG cluster, or emit a cluster job file."""

import argparse

from tfcourse.commands.args import (
    non_negative_float,
    non_negative_int,
    port_list,
    positive_float,
    positive_int,
    server_port,
)

HELP = "start N workers with their TF_CONFIG on 127.0.0.1 (or emit a Slurm/Kubernetes/compose job)"

EPILOG = """examples:
  tfcourse launch -np 2 -- tfcourse train --max_steps 200 --log_dir /tmp/mw
  tfcourse launch -np 2 --restarts 3 --timeout 600 -- tfcourse train --log_dir /tmp/mw
  tfcourse launch --emit slurm -np 8 -npernode 4 --gpus 1 -- tfcourse train --log_dir /shared/run1
  tfcourse launch --backend ray --address ray://head:10001 -np 4 -- tfcourse train --log_dir /shared/mw
  tfcourse launch --emit k8s -np 4 --image me/tfcourse:1 --pvc runs -- tfcourse train --log_dir /train
  tfcourse launch --emit compose -np 2 -o compose.yaml -- tfcourse train --resume --log_dir /train
  tfcourse launch --emit compose -np 4 -npernode 2 --hosts 10.0.0.1,10.0.0.2 --volume /shared/run1 \\
      --gpus 2 -- tfcourse train --resume --log_dir /train
"""


def configure(parser):
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EPILOG
    parser.add_argument("-np", "--np", dest="num_workers", type=positive_int, default=None,
                        help="number of worker processes, the chief included (Horovod's -np)")
    parser.add_argument("-npernode", "--npernode", dest="npernode", type=positive_int, default=None,
                        help="processes per host (Horovod's -npernode; default: all on one host)")
    parser.add_argument("--restarts", type=non_negative_int, default=0,
                        help="relaunch the job up to N times after a failure; it resumes from its checkpoint")
    parser.add_argument("--timeout", type=positive_float, default=None, help="stop every worker after S seconds (exit 124)")
    parser.add_argument("--grace", type=non_negative_float, default=10.0,
                        help="seconds the others get to stop by themselves when one ends (default 10)")
    parser.add_argument("--chief", action="store_true", help="task 0 is a separate 'chief' task, not worker 0")
    parser.add_argument("--ports", type=port_list, default=None, help="comma-separated ports (default: free ones)")
    parser.add_argument("--backend", choices=["local", "ray"], default="local",
                        help="local: processes on 127.0.0.1 (default); ray: Ray Train workers on a Ray cluster")
    parser.add_argument("--address", default=None,
                        help="--backend ray: the Ray cluster (default $RAY_ADDRESS, else a new local one)")
    parser.add_argument("--emit", choices=["slurm", "k8s", "compose"], default=None,
                        help="print a job file instead of running locally: a Slurm script, a Kubeflow TFJob, "
                             "or a compose file (a head service and node services)")
    parser.add_argument("--output", "-o", default=None, help="write the emitted job file here instead of stdout")
    parser.add_argument("--gpus", type=non_negative_int, default=0, help="GPUs per worker in emitted job files (default 0)")
    parser.add_argument("--image", default="default",
                        help="container image the emitted job runs (default: tfcourse:VERSION, -gpu with --gpus, "
                             "as scripts/build_image.sh tags it); --emit slurm --image none: no container")
    parser.add_argument("--pvc", default=None, help="PersistentVolumeClaim mounted at /train for --emit k8s")
    parser.add_argument("--volume", default=None,
                        help="mounted at /train: --emit compose: a volume name or a shared host folder "
                             "(default: volume tfcourse-train); --emit slurm: a shared folder of the nodes")
    parser.add_argument("--hosts", default=None,
                        help="--emit compose: comma-separated host addresses, the head's first (the talk's "
                             "hosts file; default: all on 127.0.0.1)")
    parser.add_argument("--port-base", type=server_port, default=None,
                        help="first port on each host (default 8888 for Slurm, 2222 for compose, as in a TFJob)")
    parser.add_argument("--from-slurm", action="store_true",
                        help="inside an srun task: write TF_CONFIG from the Slurm environment, then run")
    parser.add_argument("worker_command", nargs=argparse.REMAINDER, metavar="-- COMMAND", help="-- then the command every worker runs")


def _command(args):
    from tfcourse.errors import CourseError

    command = list(args.worker_command)
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        raise CourseError("no command given; expected: tfcourse launch -np N -- COMMAND ...")
    return command


def _from_slurm(args, command):
    import os

    from tfcourse.distribute import jobfiles, processes

    env = dict(os.environ)
    env["TF_CONFIG"] = jobfiles.slurm_tf_config(args.gpus, args.port_base or jobfiles.SLURM_PORT, env)
    argv = processes.worker_command(command)
    os.execvpe(argv[0], argv, env)


def trainer_argv(command):
    """The flags after `train` in `tfcourse train ...` (or `python -m tfcourse train ...`).

    Ray workers run the tfcourse trainer itself, so the command must be that trainer.
    """
    import os

    from tfcourse.errors import CourseError

    words = list(command)
    if words[:1] == ["tfcourse"]:
        rest = words[1:]
    elif len(words) >= 3 and os.path.basename(words[0]).startswith("python") and words[1:3] == ["-m", "tfcourse"]:
        rest = words[3:]
    else:
        rest = None
    if not rest or rest[0] != "train":
        raise CourseError(f"--backend ray runs the tfcourse trainer in every Ray worker; expected "
                          f"'-- tfcourse train [FLAGS]', got {' '.join(words)!r}")
    return rest[1:]


def _run_on_ray(args, command):
    from tfcourse import cli
    from tfcourse.commands import train
    from tfcourse.distribute import raybackend
    from tfcourse.errors import CourseError

    given = {"-npernode": args.npernode is not None, "--timeout": args.timeout is not None,
             "--chief": args.chief, "--ports": args.ports is not None}
    local_only = [flag for flag, was_given in given.items() if was_given]
    if local_only:
        raise CourseError(f"{', '.join(local_only)}: only for --backend local (Ray places and starts the workers)")
    # Parsed here, so a flag mistake answers at once (exit 2), before the seconds Ray takes to start.
    train_args = cli.build_parser("train").parse_args(["train", *trainer_argv(command)])
    # Ray forwards worker output line by line; a carriage-return progress bar would flood it.
    train_args.no_progress = True
    return raybackend.launch_on_ray(train.run, train_args, args.num_workers, args.address, args.restarts, args.gpus)


def _job_file(args, command):
    """The text of the job file --emit asks for."""
    from tfcourse.distribute import jobfiles
    from tfcourse.errors import CourseError

    given = {"--pvc": (args.pvc, ("k8s",)), "--volume": (args.volume, ("slurm", "compose")),
             "--hosts": (args.hosts, ("compose",)), "--port-base": (args.port_base, ("slurm", "compose"))}
    for flag, (value, emits) in given.items():
        if value is not None and args.emit not in emits:
            raise CourseError(f"{flag} is for --emit {' or '.join(emits)}, not --emit {args.emit}")
    if args.emit == "slurm":
        image = None if args.image == "none" else args.image
        return jobfiles.slurm_script(command, args.num_workers, args.npernode, args.gpus,
                                     args.port_base or jobfiles.SLURM_PORT, restarts=args.restarts, image=image, mount=args.volume)
    if args.emit == "k8s":
        return jobfiles.tfjob_manifest(command, args.num_workers, args.gpus, args.image,
                                       restarts=args.restarts, pvc=args.pvc)
    hosts = tuple(args.hosts.split(",")) if args.hosts else ("127.0.0.1",)
    return jobfiles.compose_file(command, args.num_workers, args.npernode, args.gpus, args.image, hosts,
                                 args.port_base or jobfiles.TFJOB_PORT, args.volume or "tfcourse-train",
                                 args.restarts)


def run(args):
    import sys

    from tfcourse.errors import CourseError

    command = _command(args)
    if args.from_slurm:
        return _from_slurm(args, command)
    if args.num_workers is None:
        raise CourseError("-np N is required (number of worker processes)")
    if args.emit and args.backend == "ray":
        raise CourseError("--emit writes a job file for Slurm or Kubernetes; leave out --backend ray")
    if args.emit:
        text = _job_file(args, command)
        if args.output:
            with open(args.output, "w") as f:
                f.write(text)
            print(f"wrote {args.output}", file=sys.stderr)
        else:
            sys.stdout.write(text)
        return 0
    if args.backend == "ray":
        return _run_on_ray(args, command)
    if args.address:
        raise CourseError("--address is for --backend ray")
    from tfcourse.distribute.processes import launch

    result = launch(command, args.num_workers, args.npernode, args.restarts, args.timeout, args.chief,
                    args.ports, grace=args.grace)
    for failure in result.failures:
        print(f"[launch] {failure}", file=sys.stderr)
    return result.returncode
