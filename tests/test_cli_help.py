"""Every sub-command of both programs explains itself: a description, help on every option, defaults shown."""

from __future__ import annotations

import argparse

import pytest

from mmdata import cli as mmdata_cli
from mmdata.clibase import build_parser
from mmtrain import cli as mmtrain_cli

#: Each program's commands -> the module registering each (a command imports its own module only).
PROGRAMS = {"mmdata": mmdata_cli.COMMANDS, "mmtrain": mmtrain_cli.COMMANDS}


def _modules(commands: dict[str, str]) -> list[str]:
    return list(dict.fromkeys(commands.values()))


def _subparsers(parser: argparse.ArgumentParser, prefix: str) -> list[tuple[str, argparse.ArgumentParser]]:
    """Every (nested) sub-command parser, named by its command path."""
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.append((f"{prefix} {name}", sub))
                found += _subparsers(sub, f"{prefix} {name}")
    return found


def _all_commands() -> list[tuple[str, argparse.ArgumentParser]]:
    out = []
    for prog, commands in PROGRAMS.items():
        parser, _ = build_parser(prog, "", _modules(commands))
        out += _subparsers(parser, prog)
    return out


def test_the_walk_finds_the_commands_of_both_programs() -> None:
    names = {name for name, _ in _all_commands()}
    assert {"mmtrain magnify", "mmtrain models fetch", "mmtrain evaluate video-accuracy", "mmdata generate",
            "mmdata import-official"} <= names


@pytest.mark.parametrize("prog", PROGRAMS)
def test_the_command_table_names_every_command_and_the_module_that_registers_it(prog: str) -> None:
    """``PROG --help`` (all modules) lists exactly the table's commands, and each command's module alone
    registers it: a command the table missed, or placed under the wrong module, fails here."""
    commands = PROGRAMS[prog]
    _, subparsers = build_parser(prog, "", _modules(commands))
    assert list(subparsers.choices) == list(commands)
    for module in _modules(commands):
        _, alone = build_parser(prog, "", [module])
        assert set(alone.choices) == {name for name, owner in commands.items() if owner == module}


@pytest.mark.parametrize("name,parser", _all_commands(), ids=lambda v: v if isinstance(v, str) else "")
def test_every_subcommand_has_a_description_and_help_on_every_option(name: str, parser: argparse.ArgumentParser) -> None:
    assert (parser.description or "").strip(), f"{name}: no description"
    undocumented = [a.dest for a in parser._actions
                    if not isinstance(a, (argparse._HelpAction, argparse._SubParsersAction)) and not (a.help or "").strip()]
    assert undocumented == [], f"{name}: arguments without help text: {undocumented}"
    text = parser.format_help()
    assert parser.description.split()[0] in text


def test_help_shows_defaults() -> None:
    commands = dict(_all_commands())
    magnify = commands["mmtrain magnify"].format_help()
    assert "motionmag-cpu-ref" in magnify  # the default model
    assert "(default: 17)" in " ".join(magnify.split()) or "default 17" in magnify  # --crf
    fetch = " ".join(commands["mmtrain models fetch"].format_help().split())
    assert "(default: https://people.csail.mit.edu/tiam/deepmag/data.zip)" in fetch
    assert "(default: official)" in fetch
    generate = " ".join(commands["mmdata generate"].format_help().split())
    assert "(default: 1)" in generate  # --workers
