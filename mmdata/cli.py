"""The ``mmdata`` program: sources, preview, dataset generation, indexing, audit and export.

A command imports only its own module (:data:`COMMANDS`); ``mmdata --help`` imports them all.
"""

from __future__ import annotations

import sys
from typing import Sequence

from mmdata.clibase import run_cli

#: Each sub-command -> the module that registers it, in the order ``mmdata --help`` lists them.
COMMANDS: dict[str, str] = {
    "sources": "mmdata.sources.cli",
    "preview": "mmdata.render.cli",
    "generate": "mmdata.store.cli",
    "index": "mmdata.store.cli",
    "audit": "mmdata.store.cli",
    "explain": "mmdata.store.cli",
    "export-official": "mmdata.formats.cli",
    "import-official": "mmdata.formats.cli",
}


def main(argv: Sequence[str] | None = None) -> int:
    return run_cli("mmdata", "Synthetic motion-magnification dataset tools.", COMMANDS, argv)


if __name__ == "__main__":
    sys.exit(main())
