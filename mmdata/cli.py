"""The ``mmdata`` program: sources, preview, dataset generation, indexing, audit and export."""

from __future__ import annotations

import sys
from typing import Sequence

from mmdata.clibase import run_cli
from mmdata.formats import cli as formats_cli
from mmdata.render import preview
from mmdata.sources import cli as sources_cli
from mmdata.store import cli as store_cli

#: The modules that register the sub-commands, in the order ``mmdata --help`` lists them.
COMMAND_MODULES = (sources_cli, preview, store_cli, formats_cli)


def main(argv: Sequence[str] | None = None) -> int:
    return run_cli("mmdata", "Synthetic motion-magnification dataset tools.", COMMAND_MODULES, argv)


if __name__ == "__main__":
    sys.exit(main())
