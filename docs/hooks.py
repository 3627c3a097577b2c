"""MkDocs hook: the command-line reference, generated from the programs' own argparse parsers.

At build time, for each program (``mmdata``, ``mmtrain``), the sub-command tree is built as
:func:`mmdata.clibase.run_cli` builds it for ``PROG --help`` (every module of the program's ``COMMANDS``
registers its parsers), walked depth first, and each command's ``--help`` (the text the program itself prints,
at a fixed width of 100 columns) becomes one section of ``cli/<program>.md``. Nothing is written to
``docs/``: the pages exist only in the built site, so they cannot go stale.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import os
from typing import Iterator

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files

PROGRAMS = {"mmdata": "mmdata.cli", "mmtrain": "mmtrain.cli"}
WIDTH = "100"


def _command_paths(prog: str, module) -> Iterator[list[str]]:
    """Every command of the program as the words after its name: [], ["sources"], ["sources", "build"], ..."""
    from mmdata.clibase import build_parser

    parser, _ = build_parser(prog, "", list(dict.fromkeys(module.COMMANDS.values())))

    def walk(node: argparse.ArgumentParser, path: list[str]) -> Iterator[list[str]]:
        yield path
        seen: set[int] = set()
        for action in node._actions:  # argparse keeps its sub-command table here
            if isinstance(action, argparse._SubParsersAction):
                for name, child in action.choices.items():
                    if id(child) not in seen:  # an alias names the same parser again
                        seen.add(id(child))
                        yield from walk(child, path + [name])

    yield from walk(parser, [])


def _help(module, words: list[str]) -> str:
    """What ``PROG WORDS... --help`` prints."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        try:
            module.main([*words, "--help"])
        except SystemExit:
            pass
    return out.getvalue().rstrip()


def cli_page(prog: str) -> str:
    module = importlib.import_module(PROGRAMS[prog])
    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = WIDTH
    try:
        sections = [(words, _help(module, words)) for words in _command_paths(prog, module)]
    finally:
        if old is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = old
    lines = [f"# {prog}", "",
             f"Every command of `{prog}` with its `--help`, generated from the program's parsers when this "
             "site was built. Options shared by all commands, exit status and naming conventions: "
             "[Command-line reference](index.md).", ""]
    lines += [f"* [`{' '.join([prog, *words])}`](#{'-'.join([prog, *words])})" for words, _ in sections[1:]]
    for words, text in sections:
        title = " ".join([prog, *words])
        lines += ["", f"## {title} {{#{'-'.join([prog, *words])}}}", "", "```text", text, "```"]
    return "\n".join(lines) + "\n"


def on_files(files: Files, config: MkDocsConfig) -> Files:
    for prog in PROGRAMS:
        files.append(File.generated(config, f"cli/{prog}.md", content=cli_page(prog)))
    return files
