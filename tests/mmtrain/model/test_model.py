"""Tests of mmtrain.model.network: shapes, padding, the two manipulators, typed errors, gradients."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from fakes import single_thread  # noqa: F401 (autouse fixture)

import torch.nn.functional as F

import mmtrain.model.network as network
from mmtrain.model.checkpoint import load_model, save_checkpoint
from mmtrain.model.network import InputShapeError, MagNet, ModelConfig, make_model, reflect_conv, tf_same_pads, upsample_conv

SMALL = dict(n_enc_blocks=1, n_texture_blocks=1, n_shape_blocks=1, n_dec_blocks=1)


def _pair(batch: int = 2, h: int = 32, w: int = 32, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(batch, 3, h, w, generator=g) * 2 - 1, torch.rand(batch, 3, h, w, generator=g) * 2 - 1


@pytest.mark.parametrize("preset", ["paper", "official"])
def test_encode_decode_shapes(preset: str) -> None:
    torch.manual_seed(0)
    model = make_model(preset)
    x_a, x_b = _pair(h=32, w=48)
    with torch.no_grad():
        texture, shape = model.encode(x_a)
        assert texture.shape == (2, 32, 8, 12)
        assert shape.shape == (2, 32, 16, 24)
        assert model.decode(texture, shape).shape == (2, 3, 32, 48)
        assert model(x_a, x_b, 5.0).shape == (2, 3, 32, 48)


def test_presets_differ_as_documented() -> None:
    paper, official = ModelConfig.from_preset("paper"), ModelConfig.from_preset("official")
    assert paper.bias and not official.bias
    assert (paper.g_kernel, official.g_kernel) == (3, 7)
    assert paper.shape_conv and not official.shape_conv
    assert (paper.padding_mode, official.padding_mode) == ("zeros", "reflect")
    assert all(p.bias is None for p in (m for m in make_model("official").modules() if isinstance(m, torch.nn.Conv2d)))
    with pytest.raises(ValueError, match="unknown model preset"):
        ModelConfig.from_preset("nope")


def test_config_round_trip() -> None:
    config = ModelConfig.from_preset("official", n_dec_blocks=2)
    assert ModelConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError, match="unknown ModelConfig fields"):
        ModelConfig.from_dict({**config.to_dict(), "bogus": 1})


def test_a_config_built_from_fields_names_the_paper_preset_and_is_plain_data() -> None:
    """The field ``preset`` keeps its default "paper": no class attribute of that name may replace it."""
    config = ModelConfig(**SMALL)
    assert config.preset == "paper"
    assert json.loads(json.dumps(config.to_dict()))["preset"] == "paper"
    saved = ModelConfig.from_preset("official").to_dict()
    del saved["preset"]  # a config saved without the field reads as the default
    assert ModelConfig.from_dict(saved).preset == "paper"


def test_a_model_of_a_field_built_config_saves_and_loads(tmp_path: Path) -> None:
    model = MagNet(ModelConfig(**SMALL))
    path = save_checkpoint(tmp_path / "fields.pt", model)
    restored = load_model(path, preset="paper")
    assert restored.config == model.config


@pytest.mark.parametrize(("length", "expected"), [(8, (0, 1)), (9, (1, 1)), (2, (0, 1)), (1, (1, 1))])
def test_tf_same_padding_of_stride2_3x3(length: int, expected: tuple[int, int]) -> None:
    # TF 'SAME': total = max((ceil(L/2) - 1) * 2 + 3 - L, 0), floor half before
    assert tf_same_pads(length, 3, 2) == expected


@pytest.mark.parametrize("size", [(30, 37), (33, 32), (5, 6)])
def test_forward_any_size_pads_and_crops(size: tuple[int, int]) -> None:
    torch.manual_seed(1)
    model = make_model("official", **SMALL)
    x_a, x_b = _pair(1, *size)
    with torch.no_grad():
        y = model(x_a, x_b, 3.0)
        assert y.shape == (1, 3, *size)
        # the crop is the top-left of the result for the reflect-padded input
        h, w = size
        ph, pw = (-h) % 4, (-w) % 4
        mode = "reflect" if min(size) > 3 else "replicate"
        pad = lambda x: torch.nn.functional.pad(x, (0, pw, 0, ph), mode=mode)  # noqa: E731
        assert torch.allclose(y, model(pad(x_a), pad(x_b), 3.0)[..., :h, :w], atol=1e-6)


def test_forward_equals_parts() -> None:
    torch.manual_seed(2)
    model = make_model("paper", **SMALL)
    x_a, x_b = _pair()
    with torch.no_grad():
        (t_a, s_a), (t_b, s_b) = model.encode(x_a), model.encode(x_b)
        expected = model.decode(t_b, s_a + model.magnify_delta(s_b - s_a, 4.0))
        assert torch.allclose(model(x_a, x_b, 4.0), expected, atol=1e-6)


def test_official_manipulator_alpha_one_is_shape_b_and_linear() -> None:
    torch.manual_seed(3)
    model = make_model("official", **SMALL)
    s_a, s_b = torch.randn(2, 32, 8, 8), torch.randn(2, 32, 8, 8)
    with torch.no_grad():
        assert torch.equal(model.manipulate(s_a, s_b, 1.0), s_b)
        # no biases + ReLU: the added term is (alpha - 1) * h(g(delta)) for alpha >= 1
        d2 = model.magnify_delta(s_b - s_a, 2.0)
        assert torch.allclose(model.magnify_delta(s_b - s_a, 10.0), 9 * d2, atol=1e-4)


def test_paper_manipulator_is_eq3() -> None:
    torch.manual_seed(4)
    model = make_model("paper", bias=False, **SMALL)
    s_a, s_b = torch.randn(1, 32, 8, 8), torch.randn(1, 32, 8, 8)
    with torch.no_grad():
        assert torch.equal(model.manipulate(s_a, s_b, 0.0), s_a)  # h(0 * g) = 0 without biases
        m = model.manipulator
        expected = s_a + m.h_blocks(m.h_conv(3.0 * m.g(s_b - s_a)))
        assert torch.allclose(model.manipulate(s_a, s_b, 3.0), expected, atol=1e-6)


def test_alpha_per_batch_item() -> None:
    torch.manual_seed(5)
    model = make_model("official", **SMALL)
    x_a, x_b = _pair(2)
    with torch.no_grad():
        y = model(x_a, x_b, torch.tensor([2.0, 7.0]))
        assert torch.allclose(y[1:], model(x_a[1:], x_b[1:], 7.0), atol=1e-5)
        with pytest.raises(InputShapeError, match="alpha"):
            model(x_a, x_b, torch.ones(3))


def test_input_errors_are_typed() -> None:
    model = make_model("paper", **SMALL)
    with pytest.raises(InputShapeError, match="rank 3"):
        model(torch.zeros(3, 8, 8), torch.zeros(3, 8, 8), 2.0)
    with pytest.raises(InputShapeError, match="expected 3 channels"):
        model(torch.zeros(1, 1, 8, 8), torch.zeros(1, 1, 8, 8), 2.0)
    with pytest.raises(InputShapeError, match="multiples of 4"):
        model.encode(torch.zeros(1, 3, 10, 8))
    with pytest.raises(InputShapeError, match="same shape"):
        model(torch.zeros(1, 3, 8, 8), torch.zeros(1, 3, 12, 8), 2.0)
    assert issubclass(InputShapeError, ValueError)


def test_gradients_reach_every_parameter() -> None:
    torch.manual_seed(6)
    model = make_model("paper", **SMALL)
    x_a, x_b = _pair(1)
    model(x_a, x_b, 5.0).abs().mean().backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all()]
    assert not missing


def test_channels_last_matches_contiguous() -> None:
    torch.manual_seed(7)
    model = make_model("official", **SMALL)
    x_a, x_b = _pair(1)
    with torch.no_grad():
        ref = model(x_a, x_b, 4.0)
        model = model.to(memory_format=torch.channels_last)
        y = model(x_a.contiguous(memory_format=torch.channels_last), x_b.contiguous(memory_format=torch.channels_last), 4.0)
    assert torch.allclose(ref, y, atol=1e-5)


@pytest.mark.parametrize("h, w, kernel", [(2, 2, 3), (3, 2, 3), (2, 9, 3), (6, 6, 7), (7, 9, 7), (11, 13, 5), (24, 40, 3)])
@pytest.mark.parametrize("channels_last", [False, True])
def test_reflect_conv_equals_the_padded_convolution(h: int, w: int, kernel: int, channels_last: bool) -> None:
    # the reference: an explicit reflect-padded copy, then a 'valid' convolution
    g = torch.Generator().manual_seed(h * 100 + w)
    x = torch.randn(2, 5, h, w, generator=g)
    weight, bias = torch.randn(4, 5, kernel, kernel, generator=g), torch.randn(4, generator=g)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    p = kernel // 2
    ref = F.conv2d(F.pad(x, (p, p, p, p), mode="reflect"), weight, bias)
    got = reflect_conv(x, weight, bias, p)
    assert got.shape == ref.shape
    assert torch.allclose(got, ref, atol=1e-5, rtol=0)
    assert torch.allclose(reflect_conv(x, weight, None, p), F.conv2d(F.pad(x, (p, p, p, p), mode="reflect"), weight),
                          atol=1e-5, rtol=0)


def test_reflect_conv_gradients_equal_the_padded_convolution() -> None:
    g = torch.Generator().manual_seed(3)
    x0, w0 = torch.randn(1, 3, 9, 12, generator=g), torch.randn(2, 3, 3, 3, generator=g)
    grads = []
    for fn in (lambda x, w: F.conv2d(F.pad(x, (1, 1, 1, 1), mode="reflect"), w), lambda x, w: reflect_conv(x, w, None, 1)):
        x, w = x0.clone().requires_grad_(), w0.clone().requires_grad_()
        (fn(x, w) ** 2).sum().backward()
        grads.append((x.grad, w.grad))
    assert torch.allclose(grads[0][0], grads[1][0], atol=1e-4) and torch.allclose(grads[0][1], grads[1][1], atol=1e-4)


def _upsampled_reference(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, mode: str,
                         border: str = "strips") -> torch.Tensor:  # explicit, whatever the border
    return F.conv2d(F.pad(F.interpolate(x, scale_factor=2, mode="nearest"), (1, 1, 1, 1), mode=mode), weight, bias)


@pytest.mark.parametrize("h, w", [(1, 1), (1, 3), (2, 2), (5, 7), (12, 20)])
@pytest.mark.parametrize("mode", ["reflect", "constant"])
def test_upsample_conv_equals_the_upsampled_convolution(h: int, w: int, mode: str) -> None:
    g = torch.Generator().manual_seed(h * 10 + w)
    x = torch.rand(2, 6, h, w, generator=g).contiguous(memory_format=torch.channels_last)
    weight, bias = torch.randn(5, 6, 3, 3, generator=g) * 0.2, torch.randn(5, generator=g)
    got = upsample_conv(x, weight, bias, mode)
    assert got.shape == (2, 5, 2 * h, 2 * w)
    assert torch.allclose(got, _upsampled_reference(x, weight, bias, mode), atol=1e-5, rtol=0)
    assert torch.allclose(upsample_conv(x, weight, None, mode), _upsampled_reference(x, weight, None, mode), atol=1e-5, rtol=0)


def test_upsample_conv_gradients_equal_the_upsampled_convolution() -> None:
    g = torch.Generator().manual_seed(4)
    x0, w0, b0 = torch.randn(1, 3, 6, 7, generator=g), torch.randn(2, 3, 3, 3, generator=g), torch.randn(2, generator=g)
    grads = []
    for fn in (_upsampled_reference, upsample_conv):
        x, w, b = (t.clone().requires_grad_() for t in (x0, w0, b0))
        (fn(x, w, b, "reflect") ** 2).sum().backward()
        grads.append((x.grad, w.grad, b.grad))
    for ref, got in zip(*grads):
        assert torch.allclose(ref, got, rtol=1e-5, atol=1e-3)


@pytest.mark.parametrize("preset", ["paper", "official"])
def test_network_equals_explicit_padding_and_upsampling(preset: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # the whole network with every reflect convolution done on a padded copy and every upsampling
    # materialised, as the authors' code does
    torch.manual_seed(8)
    model = make_model(preset, **SMALL).eval()
    x_a, x_b = _pair(1, 36, 44)
    with torch.no_grad():
        y = model(x_a, x_b, 6.0)
        monkeypatch.setattr(network, "reflect_conv", lambda x, wt, b, p, mode="reflect": F.conv2d(F.pad(x, (p, p, p, p), mode=mode), wt, b))
        monkeypatch.setattr(network, "upsample_conv", _upsampled_reference)
        ref = model(x_a, x_b, 6.0)
    assert (y - ref).abs().max() < 1e-5


def test_default_model_is_paper() -> None:
    assert MagNet().config.preset == "paper"
    assert make_model().config == ModelConfig.from_preset("paper")


def test_official_init_is_the_authors_truncated_normal() -> None:
    torch.manual_seed(8)
    model = make_model("official")
    weights = torch.cat([m.weight.detach().flatten() for m in model.modules() if isinstance(m, torch.nn.Conv2d)])
    assert float(weights.abs().max()) <= 0.04  # truncated at 2 std = 0.04
    # std of a normal truncated at +-2 sigma: sigma * sqrt(1 - 4 phi(2) / (2 Phi(2) - 1)) = 0.8796 sigma
    assert abs(float(weights.std()) - 0.02 * 0.8796) < 0.0005
