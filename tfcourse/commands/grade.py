"""tfcourse grade: run submitted notebooks headless and tabulate their exercises.

  tfcourse grade submissions/*/03_loss_and_training.ipynb
  tfcourse grade --smoke --exercises-only --csv -o grades.csv submissions/*.ipynb

The grading itself is tfcourse.exercises.grading (one notebook -> its grades) and
tfcourse.exercises.gradebook (table, JSON, CSV); this module parses and prints.
"""

import argparse
import sys

from tfcourse.commands.args import positive_float, positive_int
from tfcourse.exercises import sandbox

HELP = "run students' notebooks headless and print each exercise's grade (table, --json or --csv)"

EPILOG = """\
Each notebook runs in a new kernel whose working directory is a new temporary directory
(removed afterwards), one after the other. An exception in a cell costs that exercise only;
a notebook that loops or kills its kernel scores what it reached, and the next one is graded.
Statuses: passed, mistake (with its name), not attempted, error, not reached.
Progress goes to stderr, the grades to stdout (or --output).
The students' code runs with your permissions: grade untrusted work in a container or VM.
Exit status: 0 when every notebook was graded (whatever the grades), 2 on a path that is
not a notebook or another misuse (nothing is run then)."""


DEFAULT_TIMEOUT = 300.0  # seconds per notebook: ~5x the longest lesson's full run on a 2-core CPU
DEFAULT_KERNEL = "python3"
DEFAULT_MAX_OUTPUT_MB = 20  # a full lesson with its plots keeps ~2 MB of outputs


def configure(parser):
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EPILOG
    parser.add_argument("paths", nargs="+", metavar="PATH", help="submitted notebooks (.ipynb)")
    parser.add_argument("--timeout", type=positive_float, default=DEFAULT_TIMEOUT,
                        help=f"seconds each notebook's cells may run in total, kernel start not counted; "
                             f"when they are spent the notebook scores what it reached "
                             f"(default: {DEFAULT_TIMEOUT:g})")
    parser.add_argument("--kernel", default=DEFAULT_KERNEL,
                        help=f"Jupyter kernel to run the notebooks in (default: {DEFAULT_KERNEL}; "
                             "`jupyter kernelspec list` shows them)")
    parser.add_argument("--smoke", action="store_true",
                        help="run the lessons at their small CI sizes (TFCOURSE_SMOKE=1 in the kernels; "
                             "without it the kernels inherit TFCOURSE_SMOKE from your environment)")
    parser.add_argument("--exercises-only", action="store_true",
                        help="run only each notebook's first code cell and its exercise section, "
                             "not the lesson (faster; the exercises use nothing from the lesson)")
    limits = sandbox.Limits()
    parser.add_argument("--no-sandbox", action="store_true",
                        help="run the notebooks unconfined, with your permissions, network and files "
                             "(only for work you trust)")
    parser.add_argument("--memory-mb", type=positive_int, default=limits.memory >> 20,
                        help=f"MiB of address space per process in the sandbox (default: {limits.memory >> 20})")
    parser.add_argument("--processes", type=positive_int, default=limits.processes,
                        help=f"processes and threads the sandbox's user may run (default: {limits.processes})")
    parser.add_argument("--disk-mb", type=positive_int, default=limits.disk >> 20,
                        help=f"MiB of the sandbox's home and of its /tmp, and the largest file "
                             f"(default: {limits.disk >> 20})")
    parser.add_argument("--output-mb", type=positive_float, default=DEFAULT_MAX_OUTPUT_MB,
                        help=f"MiB of outputs a notebook may print; past them its kernel is killed "
                             f"(default: {DEFAULT_MAX_OUTPUT_MB:g})")
    formats = parser.add_mutually_exclusive_group()
    formats.add_argument("--json", action="store_true",
                         help="the gradebook as JSON (per notebook: totals, why a run stopped, "
                              "each exercise) on stdout instead of the table, or to --output")
    formats.add_argument("--csv", action="store_true",
                         help="the gradebook as CSV (notebook,exercise,status,mistake,message: one row "
                              "per exercise) on stdout instead of the table, or to --output")
    parser.add_argument("-o", "--output", default=None, metavar="FILE",
                        help="write the gradebook (the table, or JSON/CSV with --json/--csv) to FILE; "
                             "the table is printed on stdout as well")
    parser.add_argument("--points", default=None, metavar="FILE",
                        help="points per exercise, a TOML file (`default = 1`, then `[points]` and "
                             "`\"nb03.q1\" = 2`); a passed exercise scores its points, any other status 0. "
                             "The totals then show points too")
    parser.add_argument("--reports", default=None, metavar="DIR",
                        help="write into DIR: feedback/<student>.html per student (status, the check's "
                             "message, the next hint), class-report.txt and .png (passes and named "
                             "mistakes per exercise, most made first), grades-lms.csv (points per "
                             "student, for a Canvas or Moodle import)")
    parser.add_argument("--assignment", default="tfcourse exercises",
                        help="the grade column's name in grades-lms.csv (default: %(default)s)")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="under each exercise not passed, the message its student saw "
                             "(or why it was not graded)")


def _check_arguments(args):
    """Every misuse, found before any notebook runs: CourseError (exit 2, one line)."""
    import os
    import pathlib

    from tfcourse.errors import CourseError

    try:
        from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

        from tfcourse.exercises import gradebook, grading
    except ModuleNotFoundError as error:
        raise CourseError(f"grading needs the notebook packages ({error.name} is missing): "
                          "pip install 'tfcourse[notebooks]'") from None

    notebooks = [grading.read_submission(path) for path in args.paths]
    if args.output is not None:
        output = pathlib.Path(args.output)
        if output.suffix == ".ipynb" or any(output.resolve() == pathlib.Path(p).resolve() for p in args.paths):
            raise CourseError(f"--output {args.output!r} would overwrite a notebook; expected a new file "
                              "such as grades.csv")
        if not output.parent.is_dir():
            raise CourseError(f"--output {args.output!r}: directory {str(output.parent)!r} does not exist")
    manager = KernelSpecManager()
    try:
        manager.get_kernel_spec(args.kernel)
    except NoSuchKernel:
        installed = ", ".join(sorted(manager.find_kernel_specs())) or "none"
        raise CourseError(f"no Jupyter kernel named {args.kernel!r}; expected one of: {installed}") from None
    try:
        args.weights = gradebook.load_points(args.points) if args.points is not None else None
    except ValueError as error:
        raise CourseError(str(error)) from None
    if args.reports is not None and os.path.exists(args.reports) and not os.path.isdir(args.reports):
        raise CourseError(f"--reports {args.reports!r} is a file; expected a directory (created if missing)")
    if args.no_sandbox:
        return notebooks, None, None
    limits = sandbox.Limits(memory=args.memory_mb << 20, cpu_seconds=int(2 * args.timeout) + 60,
                            processes=args.processes, disk=args.disk_mb << 20)
    return notebooks, limits, sandbox.bwrap_path()


def run(args):
    notebooks, limits, bwrap = _check_arguments(args)
    import dataclasses

    from tfcourse.exercises import gradebook, grading, report

    grades = []
    for number, (path, notebook) in enumerate(zip(args.paths, notebooks), start=1):
        print(f"[{number}/{len(args.paths)}] {path} ...", file=sys.stderr, flush=True)
        grade = grading.grade_notebook(notebook, path, timeout=args.timeout, kernel_name=args.kernel,
                                       smoke=args.smoke, exercises_only=args.exercises_only,
                                       limits=limits, bwrap=bwrap, max_output=int(args.output_mb * (1 << 20)))
        student, name = gradebook.identity(path, notebook)
        grade = dataclasses.replace(grade, student=student, student_name=name)
        note = f"; {grade.note}" if grade.note else ""
        print(f"[{number}/{len(args.paths)}] {path}: {grade.passed}/{grade.total} passed in "
              f"{grade.seconds:g} s{note}", file=sys.stderr, flush=True)
        grades.append(grade)
    table = gradebook.format_gradebook(grades, details=args.verbose, weights=args.weights)
    if args.reports is not None:
        written = report.write_reports(grades, args.reports, args.weights, args.assignment)
        print(f"feedback for {len(written) - 3} students, the class report and grades-lms.csv written to "
              f"{args.reports}", file=sys.stderr)
    if args.json:
        text = gradebook.format_json(grades, args.weights)
    elif args.csv:
        text = gradebook.format_csv(grades)
    else:
        text = table + "\n"
    if args.output is None:
        sys.stdout.write(text)
    else:
        with open(args.output, "w", newline="") as f:
            f.write(text)
        print(table)
        print(f"gradebook written to {args.output}")
    return 0
