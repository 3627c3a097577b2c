"""A command imports what it uses: the help of ``mmtrain magnify`` (a fresh process each) loads no numerical
library beyond numpy, and the magnification path loads torch but none of the others (sys.modules, not timings)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

#: Libraries that take seconds to import and that neither the help nor a plain magnification needs.
HEAVY = ("torch", "scipy", "skimage", "dask", "zarr", "matplotlib", "pyrtools", "jsonschema")


def _imported_after(code: str) -> list[str]:
    """The packages of HEAVY in sys.modules after running ``code`` in a fresh interpreter."""
    probe = f"""
import contextlib, io, json, sys
with contextlib.redirect_stdout(io.StringIO()):
    try:
{chr(10).join('        ' + line for line in code.strip().splitlines())}
    except SystemExit:
        pass
print(json.dumps(sorted(k for k in {HEAVY!r} if k in sys.modules)))
"""
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("argv", [["magnify", "--help"], ["make-demo-video", "--help"], ["-q", "magnify", "--help"]])
def test_the_help_of_a_magnify_command_imports_no_heavy_library(argv: list[str]) -> None:
    assert _imported_after(f"from mmtrain.cli import main\nmain({argv!r})") == []


def test_magnifying_loads_torch_but_not_scipy_or_the_store() -> None:
    # the modules `mmtrain magnify` imports for a network run with no temporal filter and no --band peak
    code = """
import mmtrain.magnify.cli, mmtrain.magnify.pipeline, mmtrain.magnify.roi, mmtrain.magnify.videofile
import mmtrain.model.registry, mmtrain.analysis.peakband, mmtrain.temporal.filters, mmtrain.video.io
"""
    assert _imported_after(code) == ["torch"]
