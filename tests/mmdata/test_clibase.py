"""Usage errors of the command-line programs: one line on stderr, exit 2, no usage text."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import mmdata
from mmdata.cli import main


@pytest.mark.parametrize(
    "argv, line",
    [
        (["generate", "--part", "1"], "mmdata generate: error: the following arguments are required: --catalogue, --shard, --root (see mmdata generate --help)"),
        (["generate", "--part", "1", "--shard", "x", "--catalogue", "c", "--root", "r"], "mmdata generate: error: argument --shard: invalid int value: 'x' (see mmdata generate --help)"),
        (["sources", "build", "--kind", "imagenet", "-o", "out"], "mmdata sources build: error: argument --kind: invalid choice: 'imagenet' (choose from 'builtin', 'coco_voc') (see mmdata sources build --help)"),
        (["index", "--root", "r", "--frobnicate"], "mmdata: error: unrecognized arguments: --frobnicate (see mmdata --help)"),
    ],
)
def test_usage_errors_are_one_line(argv, line, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    captured = capsys.readouterr()
    assert captured.err == line + "\n" and captured.out == ""


def test_unknown_command_is_one_line(capsys):
    with pytest.raises(SystemExit) as info:
        main(["bogus"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("mmdata: error: argument COMMAND: invalid choice: 'bogus'"), err


@pytest.mark.timeout(60)
def test_usage_error_from_the_installed_program(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(Path(mmdata.__file__).resolve().parent.parent)}
    run = subprocess.run([sys.executable, "-m", "mmdata.cli", "index"], capture_output=True, text=True, env=env, timeout=60)
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr == "mmdata index: error: the following arguments are required: --root (see mmdata index --help)\n"


def test_help_still_prints_the_usage(capsys):
    with pytest.raises(SystemExit) as info:
        main(["index", "--help"])
    assert info.value.code == 0
    assert capsys.readouterr().out.startswith("usage: mmdata index")
