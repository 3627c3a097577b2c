"""Usage errors of both programs are one line on stderr (with a --help hint) and exit status 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mmdata.cli import main as mmdata_main
from mmtrain.cli import main as mmtrain_main

REPO = Path(__file__).resolve().parents[2]
MAINS = {"mmtrain": mmtrain_main, "mmdata": mmdata_main}

CASES = [
    ("mmtrain", ["magnify"], "mmtrain magnify", "the following arguments are required: input, -o/--out"),
    ("mmtrain", ["magnify", "in.mp4", "-o", "out.mp4", "--alpha"], "mmtrain magnify",
     "argument --alpha: expected one argument"),
    ("mmtrain", ["magnify", "in.mp4", "-o", "out.mp4", "--mode", "sideways"], "mmtrain magnify",
     "argument --mode: invalid choice: 'sideways'"),
    ("mmtrain", ["magnify", "in.mp4", "-o", "out.mp4", "--alpha", "ten"], "mmtrain magnify",
     "argument --alpha: invalid float value: 'ten'"),
    ("mmtrain", ["magnify", "in.mp4", "-o", "out.mp4", "--bogus", "3"], "mmtrain magnify",
     "unrecognized arguments: --bogus 3"),
    ("mmtrain", ["train", "--root"], "mmtrain train", "argument --root: expected one argument"),
    ("mmtrain", ["no-such-command"], "mmtrain", "argument COMMAND: invalid choice: 'no-such-command'"),
    ("mmtrain", [], "mmtrain", "the following arguments are required: COMMAND"),
    ("mmdata", ["generate", "--shard", "x"], "mmdata generate", "argument --shard: invalid int value: 'x'"),
    ("mmdata", ["sources", "show"], "mmdata sources show", "the following arguments are required: --catalogue"),
    ("mmdata", ["sources", "list"], "mmdata sources", "argument ACTION: invalid choice: 'list'"),
    ("mmdata", [], "mmdata", "the following arguments are required: COMMAND"),
]


@pytest.mark.timeout(30)
@pytest.mark.parametrize("program, argv, prog, message", CASES)
def test_usage_errors_are_one_line_with_a_help_hint(program, argv, prog, message, capsys) -> None:
    with pytest.raises(SystemExit) as info:
        MAINS[program](argv)
    assert info.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and "usage:" not in captured.err, captured.err
    assert captured.err.startswith(f"{prog}: error: ") and message in captured.err, captured.err
    assert captured.err.rstrip().endswith(f"(see '{prog} --help')"), captured.err


@pytest.mark.timeout(120)
@pytest.mark.parametrize("program, argv, prog", [
    ("mmtrain", ["magnify", "in.mp4", "--alpha", "2"], "mmtrain magnify"),
    ("mmdata", ["index"], "mmdata index"),
])
def test_usage_errors_as_a_user_sees_them(program, argv, prog, tmp_path) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-m", f"{program}.cli", *argv], capture_output=True, text=True,
                          timeout=100, env=env, cwd=tmp_path)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and done.stderr.startswith(f"{prog}: error: the following arguments"), \
        done.stderr
    assert f"(see '{prog} --help')" in done.stderr


@pytest.mark.timeout(60)
def test_help_still_shows_the_full_usage(capsys) -> None:
    with pytest.raises(SystemExit) as info:
        mmtrain_main(["magnify", "--help"])
    assert info.value.code == 0 and capsys.readouterr().out.startswith("usage: mmtrain magnify")


@pytest.mark.timeout(30)
def test_os_errors_are_one_line_in_words_without_their_number(tmp_path, capsys, monkeypatch) -> None:
    import errno
    import types

    from mmdata.clibase import run_cli

    target = tmp_path / "out.bin"

    def register(subparsers) -> None:
        p = subparsers.add_parser("write")
        p.set_defaults(func=lambda args: (_ for _ in ()).throw(OSError(errno.ENOSPC, "No space left on device",
                                                                       str(target))))

    monkeypatch.setitem(sys.modules, "writer_cli", types.SimpleNamespace(register=register))
    status = run_cli("prog", "test program", {"write": "writer_cli"}, ["write"])
    err = capsys.readouterr().err
    assert status == 2 and err == f"prog write: error: No space left on device: '{target}'\n", err

