"""Both programs end quietly when the reader of their output goes away (``... | head -1``)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

BIN_DIR = Path(sys.executable).parent
REPO_ROOT = Path(__file__).resolve().parents[2]


def _pipe_into_head(command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-o", "pipefail", "-c", f"{command} | head -1"], cwd=cwd, capture_output=True,
                          text=True, timeout=120, env={"PATH": f"{BIN_DIR}:/usr/bin:/bin", "PYTHONPATH": str(REPO_ROOT)})


def test_run_cli_output_into_a_closed_pipe_ends_without_a_traceback(tmp_path):
    """A sub-command printing far more than a pipe holds, read by ``head -1``."""
    (tmp_path / "chatty.py").write_text(textwrap.dedent('''
        def register(subparsers):
            p = subparsers.add_parser("chatty")
            p.set_defaults(func=lambda args: print("\\n".join(str(i) for i in range(200_000))))
    '''))
    (tmp_path / "prog.py").write_text(textwrap.dedent('''
        import sys
        from mmdata.clibase import run_cli
        sys.exit(run_cli("prog", "test program", {"chatty": "chatty"}))
    '''))
    script = f"cd {tmp_path} && PYTHONPATH={REPO_ROOT}:{tmp_path} {sys.executable} prog.py chatty"
    result = _pipe_into_head(script, tmp_path)
    assert result.stdout == "0\n"
    assert result.stderr == ""  # no BrokenPipeError, no "Exception ignored" message
    assert result.returncode == 141  # 128 + SIGPIPE, what a shell reports for a process stopped by the pipe


def test_entry_points_end_quietly(tmp_path):
    """The installed programs, piped: a short output is not affected."""
    for prog in ("mmdata", "mmtrain"):
        result = _pipe_into_head(f"{prog} --version", tmp_path)
        assert result.returncode == 0 and result.stderr == "" and prog in result.stdout
