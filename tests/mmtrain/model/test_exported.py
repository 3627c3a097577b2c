"""The network exported to ONNX and run by OpenVINO or ONNX Runtime reproduces the authors' outputs.

Each runtime is optional: its tests skip, saying so, where it is not installed. The test extra
installs both.
"""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from fakes import single_thread  # noqa: F401 (autouse fixture)

from mmdata.errors import ConfigError
from mmtrain.model.checkpoint import load_model
from mmtrain.model.exported import RUNTIMES, ExportedNet
from mmtrain.model.network import MagNet, make_model

ATOL_OUT = 1e-4  # as the eager port against the golden outputs (golden README: float32 reaches ~1e-5)
ATOL_REP = 1e-5


def _needs(runtime: str) -> None:
    for name in RUNTIMES[runtime]:
        if importlib.util.find_spec(name) is None:
            pytest.skip(f"{name} is not installed (pip install 'motionmag[openvino]' onnxruntime)")


def _nchw(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a)).permute(0, 3, 1, 2)


def _max_err(ours: torch.Tensor, golden: np.ndarray) -> float:
    return float((ours - _nchw(golden)).abs().max())


@pytest.fixture(scope="module")
def official(shared_data: Path) -> MagNet:
    return load_model(shared_data / "official_checkpoint" / "weights.npz").eval()


@pytest.fixture(scope="module", params=list(RUNTIMES))
def net(request, official: MagNet) -> ExportedNet:
    """The authors' network through each runtime (one export per frame size, shared by the golden cases)."""
    _needs(request.param)
    return ExportedNet(official, runtime=request.param, threads=1)


def test_golden_static_alpha10_through_the_runtime(net: ExportedNet, shared_data: Path) -> None:
    """Golden case a (baby, alpha 10): every intermediate and the output as the authors' TF code gives them."""
    g = np.load(shared_data / "official_golden" / "case_a_baby_static_amp10.npz")
    texture_a, shape_a = net.encode(_nchw(g["input_a"]))
    texture_b, shape_b = net.encode(_nchw(g["input_b"]))
    for ours, key in [(texture_a, "texture_a"), (shape_a, "shape_a"), (texture_b, "texture_b"), (shape_b, "shape_b")]:
        assert ours.dtype == torch.float32 and _max_err(ours, g[key]) < ATOL_REP, key
    manipulated = net.manipulate(shape_a, shape_b, float(g["amplification_factor"]))
    assert _max_err(manipulated, g["manip_out_shape"]) < ATOL_REP
    assert _max_err(net.decode(texture_b, manipulated), g["output_raw"]) < ATOL_OUT


def test_batches_of_other_sizes_and_per_sample_alpha(net: ExportedNet, shared_data: Path) -> None:
    """Golden case b: a batch of two with alpha (1, 0) after batches of one, on the same compiled graph."""
    g = np.load(shared_data / "official_golden" / "case_b_baby_static_amp1_amp0.npz")
    x_a, x_b = _nchw(g["input_a"]), _nchw(g["input_b"])
    net.encode(x_a)  # batch 1 first
    texture, shape_b = net.encode(x_b.repeat(2, 1, 1, 1))
    _, shape_a = net.encode(x_a.repeat(2, 1, 1, 1))
    y = net.decode(texture, net.manipulate(shape_a, shape_b, torch.tensor([1.0, 0.0])))
    assert _max_err(y[:1], g["output_raw_amp1"]) < ATOL_OUT
    assert _max_err(y[1:], g["output_raw_amp0"]) < ATOL_OUT


@pytest.mark.parametrize("runtime", list(RUNTIMES))
def test_a_paper_preset_network_matches_eager(runtime: str) -> None:
    """Another architecture (the paper preset, zero borders elsewhere): equal to eager within float rounding."""
    _needs(runtime)
    torch.manual_seed(0)
    model = make_model("paper", n_enc_blocks=1, n_texture_blocks=1, n_shape_blocks=1, n_dec_blocks=1).eval()
    x_a, x_b = torch.rand(2, 3, 40, 56) * 2 - 1, torch.rand(2, 3, 40, 56) * 2 - 1
    net = ExportedNet(model, runtime=runtime, threads=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the export's expected tracer and folding notes are not shown to the user
        net.encode(x_a)
    with torch.no_grad():
        t_a, s_a = model.encode(x_a)
        t_b, s_b = model.encode(x_b)
        want = model.decode(t_b, model.manipulate(s_a, s_b, 4.0))
        delta = model.magnify_delta(s_b - s_a, 4.0)
    assert float((net.magnify_delta(s_b - s_a, 4.0) - delta).abs().max()) < 1e-5
    texture, shape_b = net.encode(x_b)
    got = net.decode(texture, net.manipulate(net.encode(x_a)[1], shape_b, 4.0))
    assert float((got - want).abs().max()) < 1e-4


def test_bad_runtime_or_precision_is_named(official: MagNet, monkeypatch) -> None:
    with pytest.raises(ConfigError, match="backend: expected one of openvino, onnxruntime"):
        ExportedNet(official, runtime="tvm", threads=1)
    with pytest.raises(ConfigError, match="backend onnxruntime: precision bf16 is not offered; use fp32"):
        ExportedNet(official, runtime="onnxruntime", threads=1, decode_precision="bf16")
    with pytest.raises(ConfigError, match="precision fp16 is not offered"):
        ExportedNet(official, runtime="openvino", threads=1, encode_precision="fp16")
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "openvino" else real(name, *a))
    with pytest.raises(ConfigError, match=r"backend openvino: openvino not installed; pip install 'motionmag\[openvino\]'"):
        ExportedNet(official, runtime="openvino", threads=1)
