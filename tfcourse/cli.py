"""The `tfcourse` command line.

Misuse exits with status 2 and one line on stderr (no traceback), as students and
scripts both need: a typo should say what was expected, not dump a stack.
"""

import argparse
import importlib
import sys

from tfcourse.commands import NAMES


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser(selected=None):
    """Builds the parser with one subparser per module in tfcourse.commands.

    Only the `selected` subcommand's arguments are configured (all of them when None):
    configuring `train` imports TensorFlow, whose start-up lines would otherwise precede
    every one-line error of every other subcommand and slow `tfcourse --help`.
    """
    from tfcourse import __version__

    parser = _Parser(prog="tfcourse", description="TensorFlow course: MNIST MLP to ResNet-50 scaling.")
    parser.add_argument("--version", action="version", version=f"tfcourse {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in NAMES:
        module = importlib.import_module(f"tfcourse.commands.{name}")
        sub = subparsers.add_parser(name, help=module.HELP, description=module.HELP)
        if selected is None or name == selected:
            module.configure(sub)
        sub.set_defaults(_run=module.run)
    return parser


def _selected_command(argv):
    """The subcommand named in argv (the first word that is one), or None."""
    return next((word for word in argv if word in NAMES), None)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    selected = _selected_command(argv)
    parser = build_parser(selected if selected else "")
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    from tfcourse.errors import CourseError

    try:
        return args._run(args) or 0
    except CourseError as e:
        print(f"tfcourse {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"tfcourse {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
