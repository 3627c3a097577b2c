"""Damaged weight files (the authors' ``weights.npz``, our checkpoints) are refused where they are loaded.

A truncated archive, a kernel of the wrong shape and NaN/inf values each give a CheckpointError naming
the file and the variable, through the API and as one line with exit 2 through ``mmtrain``.
"""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
import torch

from fakes import single_thread  # noqa: F401 (autouse fixture)

from mmdata.errors import CheckpointError
from mmtrain.cli import main
from mmtrain.model.checkpoint import load_checkpoint, load_model, save_checkpoint
from mmtrain.model.network import make_model
from mmtrain.model.official import read_npz_weights

KERNEL = "ynet_3frames/decoder/pred_conv/Conv/weights"  # HWIO (7, 7, 32, 3)


@pytest.fixture(scope="module")
def tensors(shared_data: Path) -> dict[str, np.ndarray]:
    return read_npz_weights(shared_data / "official_checkpoint" / "weights.npz")


def _damaged(kind: str, tensors: dict[str, np.ndarray], folder: Path, original: Path) -> Path:
    """A copy of the authors' weights, damaged as ``kind`` says."""
    path = folder / f"{kind}.npz"
    if kind == "truncated":
        raw = original.read_bytes()
        path.write_bytes(raw[: len(raw) // 2])
        return path
    changed = dict(tensors)
    if kind == "wrong-shape":
        changed[KERNEL] = tensors[KERNEL].reshape(49, 96)  # same values, 2-D
    elif kind == "transposed":
        changed[KERNEL] = np.ascontiguousarray(tensors[KERNEL].transpose(3, 2, 0, 1))  # OIHW, not HWIO
    elif kind in ("nan", "inf"):
        kernel = tensors[KERNEL].copy()
        kernel[0, 0, :2, 0] = np.nan if kind == "nan" else np.inf
        changed[KERNEL] = kernel
    np.savez(path, **changed)
    return path


CASES = {
    "truncated": ("truncated or corrupt", None),
    "wrong-shape": ("has shape (49, 96), expected (7, 7, 32, 3)", KERNEL),
    "transposed": ("has shape (3, 32, 7, 7), expected (7, 7, 32, 3)", KERNEL),
    "nan": ("2 non-finite values", KERNEL),
    "inf": ("2 non-finite values", KERNEL),
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", list(CASES))
def test_damaged_official_weights_are_refused_by_the_api(kind, tensors, shared_data, tmp_path) -> None:
    path = _damaged(kind, tensors, tmp_path, shared_data / "official_checkpoint" / "weights.npz")
    match, variable = CASES[kind]
    with pytest.raises(CheckpointError, match=match.replace("(", r"\(").replace(")", r"\)")) as info:
        load_model(path)
    assert str(path) in str(info.value)
    if variable:
        assert variable in str(info.value)


def _tiny_video(path: Path, n: int = 3, size: int = 16) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=10)
        stream.width = stream.height = size
        stream.pix_fmt = "yuv420p"
        for i in range(n):
            frame = np.full((size, size, 3), 40 * i, np.uint8)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode(None))
    return path


@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", ["truncated", "wrong-shape", "nan"])
def test_damaged_official_weights_fail_magnify_and_convert_in_one_line(kind, tensors, shared_data, tmp_path,
                                                                      capsys) -> None:
    path = _damaged(kind, tensors, tmp_path, shared_data / "official_checkpoint" / "weights.npz")
    video = _tiny_video(tmp_path / "in.mp4")
    out = tmp_path / "out.mp4"
    rc = main(["-q", "magnify", str(video), "-o", str(out), "--alpha", "10", "--checkpoint", str(path),
               "--device", "cpu"])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and err.startswith("mmtrain magnify: error: "), err
    assert str(path) in err and CASES[kind][0] in err and "Traceback" not in err
    assert not out.exists()
    rc = main(["-q", "convert-weights", str(path), "-o", str(tmp_path / "converted.pt")])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and str(path) in err and CASES[kind][0] in err, err
    assert not (tmp_path / "converted.pt").exists()


def _poisoned_checkpoint(path: Path, value: float) -> Path:
    torch.manual_seed(0)
    model = make_model("paper", n_enc_blocks=1, n_texture_blocks=1, n_shape_blocks=1, n_dec_blocks=1)
    with torch.no_grad():
        model.decoder.pred_conv.conv.weight[0, 0, 0, :3] = value
    return save_checkpoint(path, model, step=5)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")], ids=["nan", "inf", "-inf"])
def test_our_checkpoint_with_non_finite_weights_is_refused(value, tmp_path, capsys) -> None:
    path = _poisoned_checkpoint(tmp_path / "diverged.pt", value)
    assert load_checkpoint(path)["step"] == 5  # the file itself is readable
    with pytest.raises(CheckpointError, match=r"decoder\.pred_conv\.conv\.weight holds 3 non-finite") as info:
        load_model(path)
    assert str(path) in str(info.value)
    rc = main(["-q", "magnify", str(_tiny_video(tmp_path / "in.mp4")), "-o", str(tmp_path / "out.mp4"),
               "--alpha", "10", "--checkpoint", str(path), "--device", "cpu"])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "non-finite" in err and str(path) in err, err
    assert not (tmp_path / "out.mp4").exists()
