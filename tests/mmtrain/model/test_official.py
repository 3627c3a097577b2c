"""The official preset with the authors' weights reproduces their TensorFlow code (golden files)."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from fakes import single_thread  # noqa: F401 (autouse fixture)

from mmdata.errors import CheckpointError
from mmtrain.model.checkpoint import load_model
from mmtrain.model.network import MagNet, make_model
from mmtrain.model.official import load_official_state, read_npz_weights, read_tf_checkpoint, resolve_tf_prefix

PREFIX = "o3f_hmhm2_bg_qnoise_mix4_nl_n_t_ds3-259002"
ATOL_OUT = 1e-4  # golden README: float32 ports reach ~1e-5 on outputs
ATOL_REP = 1e-5  # intermediate representations


def _nchw(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a)).permute(0, 3, 1, 2)


def _max_err(ours: torch.Tensor, golden: np.ndarray) -> float:
    return float((ours - _nchw(golden)).abs().max())


@pytest.fixture(scope="module")
def ckpt_dir(shared_data: Path) -> Path:
    return shared_data / "official_checkpoint"


@pytest.fixture(scope="module")
def golden(shared_data: Path) -> Path:
    return shared_data / "official_golden"


@pytest.fixture(scope="module")
def official(ckpt_dir: Path) -> MagNet:
    return load_model(ckpt_dir / "weights.npz")


def test_tf_checkpoint_reader_is_bit_identical_to_npz(ckpt_dir: Path) -> None:
    npz = read_npz_weights(ckpt_dir / "weights.npz")
    tf = read_tf_checkpoint(ckpt_dir / PREFIX)
    assert sorted(tf) == sorted(npz)
    for name, value in npz.items():
        assert tf[name].dtype == value.dtype and tf[name].shape == value.shape, name
        assert tf[name].tobytes() == value.tobytes(), name
    assert int(tf["Variable"]) == 259002  # the global step
    assert sum(v.size for k, v in tf.items() if k != "Variable") == 918928


def test_tf_prefix_resolution(ckpt_dir: Path) -> None:
    expected = ckpt_dir / PREFIX
    assert resolve_tf_prefix(ckpt_dir) == expected
    assert resolve_tf_prefix(ckpt_dir / f"{PREFIX}.index") == expected
    assert resolve_tf_prefix(ckpt_dir / f"{PREFIX}.data-00000-of-00001") == expected
    with pytest.raises(CheckpointError, match="no TF checkpoint index"):
        resolve_tf_prefix(ckpt_dir / "nothing-here")


def test_corrupt_tf_checkpoint_is_detected(ckpt_dir: Path, tmp_path: Path) -> None:
    for f in ckpt_dir.glob(f"{PREFIX}.*"):
        shutil.copy(f, tmp_path / f.name)
    data = tmp_path / f"{PREFIX}.data-00000-of-00001"
    raw = bytearray(data.read_bytes())
    raw[1000] ^= 0xFF
    data.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="crc32c"):
        read_tf_checkpoint(tmp_path / PREFIX)
    index = tmp_path / f"{PREFIX}.index"
    index.write_bytes(index.read_bytes()[:-10])
    with pytest.raises(CheckpointError, match=str(index.name)):
        load_model(tmp_path / PREFIX)


def test_wrong_weights_are_rejected(ckpt_dir: Path, tmp_path: Path) -> None:
    tensors = read_npz_weights(ckpt_dir / "weights.npz")
    with pytest.raises(CheckpointError, match="official"):
        load_official_state(make_model("paper"), tensors)
    bad = tmp_path / "bad.npz"
    np.savez(bad, **{k: v for k, v in tensors.items() if "pred_conv" not in k})
    with pytest.raises(CheckpointError, match="missing 1 variables"):
        load_model(bad)
    with pytest.raises(CheckpointError, match="official"):
        load_model(ckpt_dir / "weights.npz", preset="paper")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(CheckpointError, match="junk.npz"):
        load_model(tmp_path / "junk.npz")


def test_tf_checkpoint_and_npz_give_the_same_model(ckpt_dir: Path, official: MagNet) -> None:
    from_tf = load_model(ckpt_dir)
    for (name, a), (_, b) in zip(official.state_dict().items(), from_tf.state_dict().items()):
        assert torch.equal(a, b), name


def test_golden_static_alpha10_with_intermediates(official: MagNet, golden: Path) -> None:
    g = np.load(golden / "case_a_baby_static_amp10.npz")
    alpha = float(g["amplification_factor"])
    with torch.no_grad():
        texture_a, shape_a = official.encode(_nchw(g["input_a"]))
        texture_b, shape_b = official.encode(_nchw(g["input_b"]))
        assert _max_err(texture_a, g["texture_a"]) < ATOL_REP
        assert _max_err(texture_b, g["texture_b"]) < ATOL_REP
        assert _max_err(shape_a, g["shape_a"]) < ATOL_REP
        assert _max_err(shape_b, g["shape_b"]) < ATOL_REP
        assert _max_err(official.manipulator.g(shape_b - shape_a), g["mani_after_conv"]) < ATOL_REP
        assert _max_err(official.manipulate(shape_a, shape_b, alpha), g["manip_out_shape"]) < ATOL_REP
        y = official(_nchw(g["input_a"]), _nchw(g["input_b"]), alpha)
    assert _max_err(y, g["output_raw"]) < ATOL_OUT
    # the official uint8 writer: ((clip + 1) / 2 * 255) truncated
    ours_u8 = ((y.clamp(-1, 1) + 1) / 2 * 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()
    theirs_u8 = ((np.clip(g["output_raw"], -1, 1) + 1) / 2 * 255).astype(np.uint8)
    assert np.abs(ours_u8.astype(int) - theirs_u8).max() <= 1


def test_golden_static_alpha1_alpha0_batched(official: MagNet, golden: Path) -> None:
    g = np.load(golden / "case_b_baby_static_amp1_amp0.npz")
    x_a, x_b = _nchw(g["input_a"]).repeat(2, 1, 1, 1), _nchw(g["input_b"]).repeat(2, 1, 1, 1)
    with torch.no_grad():
        y = official(x_a, x_b, torch.from_numpy(g["amplification_factors"]).float())
    assert _max_err(y[:1], g["output_raw_amp1"]) < ATOL_OUT
    assert _max_err(y[1:], g["output_raw_amp0"]) < ATOL_OUT


@pytest.mark.parametrize("case", ["case_d_baby_temporal_fir_amp20.npz", "case_d2_baby_temporal_fir_3to8hz_amp20.npz"])
def test_golden_temporal_fir_from_model_parts(official: MagNet, golden: Path, case: str) -> None:
    """Temporal FIR as the official code does it: cyclic filtering over the clip, last frame's shape as reference."""
    g = np.load(golden / case)
    x = _nchw(g["inputs"])  # (T, 3, h, w)
    with torch.no_grad():
        texture, shape = official.encode(x)
        if "shape_rep_first" in g:
            assert _max_err(shape[:1], g["shape_rep_first"]) < ATOL_REP
            assert _max_err(shape[-1:], g["shape_rep_last"]) < ATOL_REP
        response = torch.from_numpy(g["filter_fft"]).reshape(-1, 1, 1, 1)
        filtered = torch.fft.ifft(torch.fft.fft(shape.double(), dim=0) * response, dim=0).real.float()
        if "filtered_shape" in g:
            idx = torch.from_numpy(g["filtered_shape_frames_idx"])
            assert _max_err(filtered[idx], g["filtered_shape"]) < ATOL_REP
        alpha = float(g["amplification_factor"])
        y = official.decode(texture, shape[-1:] + official.magnify_delta(filtered, alpha))
    assert _max_err(y, g["outputs_raw"]) < ATOL_OUT


def test_alpha_one_gives_b_and_alpha_zero_moves_back_to_a(official: MagNet, golden: Path) -> None:
    """Real pair: baby frames 0 and 15 over the chest (moving). Measured: mean|y1 - B| = 0.0085 with
    mean|A - B| = 0.0197; mean|y0 - A| = 0.0159 versus mean|y1 - A| = 0.0191 (see README)."""
    g = np.load(golden / "case_d_baby_temporal_fir_amp20.npz")
    x = _nchw(g["inputs"])
    x_a, x_b = x[:1], x[-1:]
    with torch.no_grad():
        y1 = official(x_a, x_b, 1.0)
        y0 = official(x_a, x_b, 0.0)
        reconstruct_a = official(x_a, x_a, 1.0)
    mean = lambda u, v: float((u - v).abs().mean())  # noqa: E731
    assert mean(y1, x_b) < 0.5 * mean(x_a, x_b)  # alpha 1 is B, up to the reconstruction error
    assert mean(y1, x_b) < 0.012 and mean(reconstruct_a, x_a) < 0.012
    assert mean(y0, x_a) < mean(y1, x_a) and mean(y0, x_a) < mean(x_b, x_a)  # alpha 0 moves back toward A


@pytest.mark.parametrize("layout", ["contiguous", "channels_last"])
def test_golden_static_in_either_memory_format(official: MagNet, golden: Path, layout: str) -> None:
    g = np.load(golden / "case_a_baby_static_amp10.npz")
    fmt = torch.channels_last if layout == "channels_last" else torch.contiguous_format
    model = copy.deepcopy(official).to(memory_format=fmt)
    x_a, x_b = (_nchw(g[k]).contiguous(memory_format=fmt) for k in ("input_a", "input_b"))
    with torch.no_grad():
        y = model(x_a, x_b, float(g["amplification_factor"]))
    assert _max_err(y, g["output_raw"]) < ATOL_OUT


def test_golden_static_with_either_border(official: MagNet, golden: Path) -> None:
    """The border as one reflect-padded copy gives the golden output as the strips do."""
    from mmtrain.model.network import set_border

    g = np.load(golden / "case_a_baby_static_amp10.npz")
    model = copy.deepcopy(official)
    set_border(model, "copy")
    assert {m.border for m in model.modules() if hasattr(m, "border")} == {"copy"}
    with torch.no_grad():
        y = model(_nchw(g["input_a"]), _nchw(g["input_b"]), float(g["amplification_factor"]))
    assert _max_err(y, g["output_raw"]) < ATOL_OUT
    with pytest.raises(ValueError, match="border"):
        set_border(model, "wrap")


def test_golden_static_bf16_autocast_is_close(official: MagNet, golden: Path) -> None:
    """bf16 is an option, not exact: mean error below a grey level (README lists the measured figures)."""
    from mmtrain.model.runtime import autocast

    g = np.load(golden / "case_a_baby_static_amp10.npz")
    with torch.no_grad(), autocast(torch.device("cpu"), "bf16"):
        y = official(_nchw(g["input_a"]), _nchw(g["input_b"]), float(g["amplification_factor"]))
    err = (y.float().clamp(-1, 1) - _nchw(g["output_raw"]).clamp(-1, 1)).abs() * 127.5
    assert float(err.mean()) < 1.0
