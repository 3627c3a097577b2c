"""The ``mmtrain`` program: training, weight conversion, video magnification and evaluation."""

from __future__ import annotations

import sys
from typing import Sequence

from mmdata.clibase import run_cli

# Modules that each register sub-commands (see mmdata.clibase).
COMMAND_MODULES: list[str] = [
    "mmtrain.magnify_cli",
    "mmtrain.train_cli",
    "mmtrain.evaluate",
]


def main(argv: Sequence[str] | None = None) -> int:
    return run_cli("mmtrain", "Train, evaluate and apply the motion-magnification network.", COMMAND_MODULES, argv)


if __name__ == "__main__":
    sys.exit(main())
