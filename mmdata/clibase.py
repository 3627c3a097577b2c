"""Shared command-line plumbing of the ``mmdata`` and ``mmtrain`` programs.

Each sub-command lives in the module that owns its logic and exposes
``register(subparsers) -> None``, adding one or more parsers whose ``func`` default is called with the
parsed arguments. A program names its commands and the module registering each (a module name, a
string); :func:`run_cli` imports the chosen command's module only (every module for the program's own
``--help``, or when no known command is given), so a command's start-up pays for what it uses, builds the
parser and sets up logging.

Exit status, the same in both programs: 0 success; 1 a runtime failure (a check that failed, such
as a FAILED audit, which the command reports by returning 1; an unexpected exception, with its
traceback); 2 a usage or input error (argparse's usage errors, as one line ``PROG: error: MESSAGE (see
'PROG --help')``; every
:class:`~mmdata.errors.MotionMagError` and every ``OSError`` — a missing or unreadable file, a full
disk, a read-only folder — as one line on stderr naming the file or key); 130 an interrupt; 141
(the shell's status for SIGPIPE) when the reader of the output stops early (``mmdata sources show
--json | head``), quietly, with no BrokenPipeError traceback.
The global ``-q`` silences logging below warnings and every progress bar (``args.quiet``).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import importlib
from typing import Any, Mapping, NoReturn, Sequence

from mmdata.errors import MotionMagError

__all__ = ["DefaultsHelpFormatter", "OneLineParser", "build_parser", "command_modules", "run_cli"]

log = logging.getLogger(__name__)


class DefaultsHelpFormatter(argparse.HelpFormatter):
    """Help that shows each option's default, ``(default: X)``, unless its text already names one.

    Options whose default is ``None`` or ``False`` (unset: the value then comes from ``--config`` or the
    schema, as the text says) show none.
    """

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        if (default is None or default is False or default is argparse.SUPPRESS or default == []
                or "default" in text.lower() or "%(default)" in text
                or not (action.option_strings or action.nargs in ("?", "*"))):
            return text
        return f"{text} (default: %(default)s)"


class OneLineParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose usage errors are one line on stderr, with exit status 2.

    ``mmtrain magnify: error: argument --alpha: expected one argument (see 'mmtrain magnify --help')``;
    sub-command parsers are of the same class (argparse builds them with ``type(parent)``), and show
    their defaults in ``--help`` (:class:`DefaultsHelpFormatter`).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", DefaultsHelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {' '.join(message.split())} (see '{self.prog} --help')\n")


class _VersionAction(argparse._VersionAction):
    """``--version``: ``PROG VERSION``, the installed version looked up only when asked for (its package
    metadata takes a noticeable share of a light command's start-up)."""

    def __call__(self, parser: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> None:
        from mmdata.version import __version__

        self.version = f"%(prog)s {__version__}"
        super().__call__(parser, *args, **kwargs)


def build_parser(prog: str, description: str, modules: Sequence[str]) -> tuple[OneLineParser, Any]:
    """The program's parser and its sub-parsers action, the sub-commands of every named module registered.

    Args:
        prog: the program's name.
        description: its one-line description (``PROG --help``).
        modules: the modules that register the sub-commands (``"mmtrain.magnify.cli"``), imported here, in
            the order ``PROG --help`` lists their commands.
    """
    parser = OneLineParser(prog=prog, description=description)
    parser.add_argument("--version", action=_VersionAction)
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors, no progress bars")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for name in modules:
        importlib.import_module(name).register(subparsers)
    return parser, subparsers


def command_modules(commands: Mapping[str, str], argv: Sequence[str]) -> list[str]:
    """The modules to import for ``argv``: the chosen command's alone, else all of them (once each, in order).

    The command is the first argument that is not an option (the program's own options take no value);
    all modules are needed when there is none, when it is unknown (the error lists the commands) and when
    ``-h``/``--help`` comes before it (``PROG --help`` lists every command); none when ``--version`` does
    (argparse prints the version and exits as soon as it reaches the option, before any command).

    Args:
        commands: each command's name -> the module that registers it.
        argv: the arguments after the program's name.
    """
    for arg in argv:
        if arg == "--version":
            return []
        if arg in ("-h", "--help", "--"):
            break
        if not arg.startswith("-"):
            if arg in commands:
                return [commands[arg]]
            break
    return list(dict.fromkeys(commands.values()))


def run_cli(prog: str, description: str, commands: Mapping[str, str], argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` (default: ``sys.argv[1:]``), run the chosen sub-command and return the exit status.

    Args:
        prog: the program's name.
        description: its one-line description.
        commands: each command's name -> the module that registers it (:func:`command_modules`).
        argv: the arguments after the program's name.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    parser, subparsers = build_parser(prog, description, command_modules(commands, argv))
    args, extra = parser.parse_known_args(argv)
    if extra:  # named by the sub-command they were given to, as its other usage errors are
        subparsers.choices.get(args.command, parser).error(f"unrecognized arguments: {' '.join(extra)}")
    level = logging.WARNING if args.quiet else (logging.INFO if args.verbose < 2 else logging.DEBUG)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    try:
        status = args.func(args)
        sys.stdout.flush()  # a closed pipe shows up here rather than at interpreter exit
    except BrokenPipeError:
        return _stdout_closed()
    except (MotionMagError, OSError) as exc:
        message = " ".join(_in_words(exc).split())  # one line, whatever the exception's text holds
        print(f"{prog} {args.command}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{prog} {args.command}: interrupted", file=sys.stderr)
        return 130
    return int(status or 0)


def _in_words(exc: BaseException) -> str:
    """The error's text; an OS error without its number (``No space left on device: 'FILE'``, not ``[Errno 28] ...``)."""
    text = str(exc)
    if isinstance(exc, OSError) and exc.errno is not None and exc.strerror:
        text = text.removeprefix(f"[Errno {exc.errno}] ")
    return text


def _stdout_closed() -> int:
    """The reader of stdout went away: silence the rest of the output and exit as SIGPIPE would."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())  # the interpreter's final flush must not fail again
    os.close(devnull)
    return 128 + signal.SIGPIPE
