"""The ``mmtrain`` program: training, weight conversion, video magnification, the local app and evaluation.

A command imports only its own module (:data:`COMMANDS`); ``mmtrain --help`` imports them all.
"""

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

#: Each sub-command -> the module that registers it, in the order ``mmtrain --help`` lists them.
COMMANDS: dict[str, str] = {
    "magnify": "mmtrain.magnify.cli",
    "make-demo-video": "mmtrain.magnify.cli",
    "spectrum": "mmtrain.analysis.cli",
    "app": "mmtrain.app.cli",
    "train": "mmtrain.train.cli",
    "curves": "mmtrain.train.cli",
    "convert-weights": "mmtrain.train.cli",
    "evaluate": "mmtrain.evaluate.cli",
    "models": "mmtrain.model.cli",
}


def main(argv: Sequence[str] | None = None) -> int:
    return run_cli("mmtrain", "Train, evaluate and apply the motion-magnification network.", COMMANDS, argv)


if __name__ == "__main__":
    sys.exit(main())
