"""Long work shows progress where no terminal watches: log lines from ``mmdata generate`` and ``mmtrain magnify``."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from store_helpers import builtin_catalogue_dir, small_config, write_config

from mmdata.progress import LogProgress, progress_bar

REPO = Path(__file__).resolve().parents[2]


def _lines(records: list[logging.LogRecord]) -> list[str]:
    return [r.getMessage() for r in records]


def test_lines_come_every_step_of_percent_or_of_time(caplog) -> None:
    t = [0.0]
    caplog.set_level(logging.INFO, logger="mmdata.progress")
    with LogProgress(100, desc="render", unit="sample", every_percent=25, every_seconds=60, clock=lambda: t[0]) as bar:
        for _ in range(100):
            t[0] += 0.5
            bar.update(1)
    lines = _lines(caplog.records)
    assert [re.search(r"\((\d+)%\)", m).group(1) for m in lines[:-1]] == ["25", "50", "75", "100"]
    assert lines[0] == "render: 25/100 samples (25%), 2 samples/s, about 38 s left"
    assert lines[-1] == "render: done, 100 samples in 50 s"
    caplog.clear()
    t[0] = 0.0
    slow = LogProgress(1000, desc="magnify", unit="frame", every_percent=50, every_seconds=10, clock=lambda: t[0])
    for _ in range(3):
        t[0] += 11  # slow work: a line every 10 s even though 50 % is far away
        slow.update(1)
    assert len(caplog.records) == 3 and all("magnify: " in m for m in _lines(caplog.records))


def test_a_terminal_gets_tqdm_and_quiet_gets_nothing(monkeypatch) -> None:
    from tqdm import tqdm

    assert isinstance(progress_bar(10, desc="d", unit="u"), LogProgress)  # pytest's stderr is not a terminal
    assert isinstance(progress_bar(10, desc="d", unit="u", enabled=False), tqdm)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    assert isinstance(progress_bar(10, desc="d", unit="u"), tqdm)


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)}
    return subprocess.run([sys.executable, "-c", "import sys; from {0}.cli import main; sys.exit(main(sys.argv[1:]))".format(args[0]), *args[1:]],
                          env=env, capture_output=True, text=True, timeout=600)


def test_magnify_logs_progress_when_stderr_is_a_pipe(tmp_path) -> None:
    from mmtrain.video.io import write_video

    frames = np.random.default_rng(0).integers(0, 256, (30, 16, 24, 3), dtype=np.uint8)
    write_video(tmp_path / "in.mkv", frames, 30, codec="ffv1")
    result = _run("mmtrain", "magnify", str(tmp_path / "in.mkv"), "-o", str(tmp_path / "out.mkv"), "--codec", "ffv1",
                  "--method", "linear", "--alpha", "2", "--batch", "3")
    assert result.returncode == 0, result.stderr
    lines = re.findall(r"magnify: (\d+)/30 frames \((\d+)%\)", result.stderr)
    assert len(lines) >= 5 and lines[-1] == ("30", "100"), result.stderr
    assert "magnify: done, 30 frames" in result.stderr
    assert "\r" not in result.stderr  # no bar redrawn into a log file
    quiet = _run("mmtrain", "-q", "magnify", str(tmp_path / "in.mkv"), "-o", str(tmp_path / "out2.mkv"), "--codec", "ffv1",
                 "--method", "linear", "--alpha", "2", "--batch", "3")
    assert quiet.returncode == 0 and "magnify:" not in quiet.stderr


def test_generate_logs_progress_when_stderr_is_a_pipe(tmp_path, tmp_path_factory) -> None:
    catalogue = builtin_catalogue_dir(tmp_path_factory)
    cfg = write_config(tmp_path / "c.yaml", small_config(dataset={"shard_size": 8, "parts": {"fg_bg": 8, "bg_only": 0, "blur_bg": 0, "static": 0, "fg_only": 0}}))
    result = _run("mmdata", "generate", "--config", str(cfg), "--catalogue", str(catalogue), "--part", "1", "--shard", "0",
                  "--root", str(tmp_path / "ds"), "--workers", "1")
    assert result.returncode == 0, result.stderr
    assert re.search(r"render: 8/8 samples \(100%\)", result.stderr), result.stderr
    assert len(re.findall(r"render: \d+/8 samples", result.stderr)) >= 4 and "render: done, 8 samples" in result.stderr
