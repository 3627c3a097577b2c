"""The ``mmdata`` program: sources, preview, dataset generation, indexing, audit and export."""

from __future__ import annotations

import sys
from typing import Sequence

from mmdata.clibase import run_cli

# Modules that each register sub-commands (see mmdata.clibase).
COMMAND_MODULES: list[str] = [
    "mmdata.sources.cli",
    "mmdata.preview",
    "mmdata.dataset_cli",
]


def main(argv: Sequence[str] | None = None) -> int:
    return run_cli("mmdata", "Synthetic motion-magnification dataset tools.", COMMAND_MODULES, argv)


if __name__ == "__main__":
    sys.exit(main())
