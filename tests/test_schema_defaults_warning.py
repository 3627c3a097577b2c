"""Run by hand without ``--config``, ``mmtrain train`` and ``mmdata generate`` say that the schema's
defaults are the paper's full scale, and how to run the demo instead; with ``--config`` they do not."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from mmdata.cli import main as mmdata_main
from mmtrain.cli import main as mmtrain_main

DEMO_CONFIG = Path(__file__).resolve().parents[1] / "config" / "config.yaml"


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and "--config" in r.getMessage()]


@pytest.mark.parametrize("program,argv", [
    (mmtrain_main, ["train", "--root", "{tmp}/no-dataset", "-o", "{tmp}/run"]),
    (mmdata_main, ["generate", "--catalogue", "{tmp}/no-catalogue", "--part", "1", "--shard", "0", "--root", "{tmp}/ds"]),
])
def test_no_config_warns_of_the_papers_scale_once(program, argv: list[str], tmp_path: Path,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    args = [a.format(tmp=tmp_path) for a in argv]
    with caplog.at_level(logging.WARNING):
        assert program(args) == 2  # no data here: the run itself fails, after the warning
    (line,) = _warnings(caplog)
    assert "paper's full scale" in line and "train.steps=260000" in line and "dataset.parts=20000" in line
    assert "--config config/config.yaml" in line
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        assert program([*args, "--config", str(DEMO_CONFIG)]) == 2
    assert _warnings(caplog) == []
