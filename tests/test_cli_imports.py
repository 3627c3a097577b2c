"""A command imports what it uses (a fresh process each; sys.modules, not timings): the help of every command
of ``mmdata`` and ``mmtrain`` loads no numerical library, ``--version`` no command module, and the
magnification path loads torch and the video library but none of the others (no schema validator either)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

#: Libraries that take seconds (or a noticeable share of a light command's start-up) to import, and that
#: neither the help nor a plain magnification needs (a magnification reads and writes video: av).
HEAVY = ("torch", "scipy", "skimage", "dask", "zarr", "matplotlib", "pyrtools", "jsonschema", "av")


def _imported_after(code: str, names: tuple[str, ...] = HEAVY) -> list[str]:
    """The modules of ``names`` in sys.modules after running ``code`` in a fresh interpreter."""
    probe = f"""
import contextlib, io, json, sys
with contextlib.redirect_stdout(io.StringIO()):
    try:
{chr(10).join('        ' + line for line in code.strip().splitlines())}
    except SystemExit:
        pass
print(json.dumps(sorted(k for k in {names!r} if k in sys.modules)))
"""
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


#: The help of every command, and its argument errors, need no numerical library at all.
HELP_HEAVY = (*HEAVY, "numpy")

MMTRAIN_HELP = [["--help"], ["magnify", "--help"], ["make-demo-video", "--help"], ["-q", "magnify", "--help"],
                ["spectrum", "--help"], ["app", "--help"], ["train", "--help"], ["curves", "--help"],
                ["convert-weights", "--help"], ["evaluate", "--help"], ["evaluate", "sets", "--help"],
                ["evaluate", "run", "--help"], ["evaluate", "merge", "--help"], ["evaluate", "video-accuracy", "--help"],
                ["models", "--help"], ["--version"], ["magnify"], ["evaluate", "run", "--shard", "x"]]


@pytest.mark.parametrize("argv", MMTRAIN_HELP, ids=" ".join)
def test_the_help_of_every_mmtrain_command_imports_no_numerical_library(argv: list[str]) -> None:
    assert _imported_after(f"from mmtrain.cli import main\nmain({argv!r})", HELP_HEAVY) == []


MMDATA_HELP = [["--help"], ["sources", "--help"], ["sources", "build", "--help"], ["sources", "show", "--help"],
               ["preview", "--help"], ["generate", "--help"], ["index", "--help"], ["audit", "--help"],
               ["explain", "--help"], ["export-official", "--help"], ["import-official", "--help"], ["--version"]]


@pytest.mark.parametrize("argv", MMDATA_HELP, ids=" ".join)
def test_the_help_of_every_mmdata_command_imports_no_numerical_library(argv: list[str]) -> None:
    assert _imported_after(f"from mmdata.cli import main\nmain({argv!r})", HELP_HEAVY) == []


def test_magnifying_loads_torch_but_not_scipy_or_the_store() -> None:
    # the modules `mmtrain magnify` imports for a network run with no temporal filter and no --band peak
    code = """
import mmtrain.magnify.cli, mmtrain.magnify.pipeline, mmtrain.magnify.roi, mmtrain.magnify.videofile
import mmtrain.model.registry, mmtrain.analysis.peakband, mmtrain.temporal.filters, mmtrain.video.io
"""
    assert _imported_after(code) == ["av", "torch"]


@pytest.fixture(scope="module")
def tiny_model_and_video(tmp_path_factory) -> tuple[Path, Path]:
    """A small random network's checkpoint and a two-frame demo video."""
    import torch

    from mmtrain.cli import main
    from mmtrain.model.checkpoint import save_checkpoint
    from mmtrain.model.network import make_model

    folder = tmp_path_factory.mktemp("magnify")
    torch.manual_seed(0)
    model = make_model("paper", n_enc_blocks=1, n_texture_blocks=1, n_shape_blocks=1, n_dec_blocks=1)
    video = folder / "demo.mp4"
    assert main(["-q", "make-demo-video", "-o", str(video), "--frames", "2", "--size", "32", "24"]) == 0
    return save_checkpoint(folder / "tiny.pt", model), video


def test_a_one_frame_magnification_imports_torch_and_av_only(tiny_model_and_video, tmp_path) -> None:
    # no --config: the magnify section's defaults come from the schema without validating it (jsonschema)
    checkpoint, video = tiny_model_and_video
    argv = ["-q", "magnify", str(video), "-o", str(tmp_path / "out.mp4"), "--alpha", "5", "--frames", "1",
            "--model", str(checkpoint)]
    assert _imported_after(f"from mmtrain.cli import main\nassert main({argv!r}) == 0") == ["av", "torch"]
    assert (tmp_path / "out.mp4").is_file()


@pytest.mark.parametrize("argv", [["--version"], ["magnify", "--help"], ["train", "--help"]])
def test_only_version_reads_the_package_metadata(argv: list[str]) -> None:
    imported = _imported_after(f"from mmtrain.cli import main\nmain({argv!r})", ("importlib.metadata",))
    assert imported == (["importlib.metadata"] if argv == ["--version"] else [])
