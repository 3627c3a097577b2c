"""The ``mmtrain`` program: training, weight conversion, video magnification, the local app and evaluation."""

from __future__ import annotations

import os
import sys
from typing import Sequence

# OpenMP threads that wait at a barrier spin (libgomp's ACTIVE policy) while another process holds the
# core they wait for: with one other busy process per core a frame took 6x as long. PASSIVE threads
# sleep instead, at no measurable cost on a quiet machine (benchmarks/bench_load.py). Set before any
# module loads torch (and its OpenMP runtime), unless the user chose a policy.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from mmdata.clibase import run_cli
from mmtrain.analysis import cli as analysis_cli
from mmtrain.app import cli as app_cli
from mmtrain.evaluate import cli as evaluate_cli
from mmtrain.magnify import cli as magnify_cli
from mmtrain.model import cli as models_cli
from mmtrain.train import cli as train_cli

#: The modules that register the sub-commands, in the order ``mmtrain --help`` lists them.
COMMAND_MODULES = (magnify_cli, analysis_cli, app_cli, train_cli, evaluate_cli, models_cli)


def main(argv: Sequence[str] | None = None) -> int:
    return run_cli("mmtrain", "Train, evaluate and apply the motion-magnification network.", COMMAND_MODULES, argv)


if __name__ == "__main__":
    sys.exit(main())
