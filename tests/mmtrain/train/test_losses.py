"""Tests of the training losses (paper and official) against their definitions."""

from __future__ import annotations

import pytest
import torch

from fakes import single_thread  # noqa: F401 (autouse fixture)

from mmtrain.train.losses import LossConfig, MagnificationLoss, do_nothing_loss, l1
from mmtrain.model.network import make_model

SMALL = dict(n_enc_blocks=1, n_texture_blocks=1, n_shape_blocks=1, n_dec_blocks=1)


def _batch(seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    frames = {k: torch.rand(2, 3, 16, 16, generator=g) * 2 - 1
              for k in ("frame_a", "frame_b", "frame_b_perturbed", "frame_y_perturbed")}
    return {**frames, "alpha": torch.tensor([3.0, 8.0])}


def test_l1_is_mean_absolute_difference() -> None:
    a, b = torch.zeros(2, 3), torch.tensor([[1.0, -2.0, 3.0], [0.0, 0.0, 0.0]])
    assert float(l1(a, b)) == pytest.approx(1.0)


@pytest.mark.parametrize("preset", ["paper", "official"])
def test_loss_matches_its_definition(preset: str) -> None:
    torch.manual_seed(0)
    model = make_model(preset, **SMALL)
    config = LossConfig.from_preset(preset)
    batch = _batch()
    total, parts = MagnificationLoss(model, config)(batch)
    with torch.no_grad():
        v_a, m_a = model.encode(batch["frame_a"])
        v_b, m_b = model.encode(batch["frame_b"])
        vp_b, mp_b = model.encode(batch["frame_b_perturbed"])
        vp_y, _ = model.encode(batch["frame_y_perturbed"])
        y_hat = model.decode(vp_b, model.manipulate(m_a, mp_b, batch["alpha"]))
        recon = l1(batch["frame_y_perturbed"], y_hat)
        if preset == "paper":  # L1(Y', Y^) + 0.1 (L1(V_a, V_b) + L1(V'_b, V'_y) + L1(M_b, M'_b))
            expected = recon + 0.1 * (l1(v_a, v_b) + l1(vp_b, vp_y) + l1(m_b, mp_b))
        else:  # L1(Y', Y^) + 1.0 L1(V_a, V_b) + 1.0 L1(M_b, M'_b)
            expected = recon + l1(v_a, v_b) + l1(m_b, mp_b)
    assert float(total.detach()) == pytest.approx(float(expected), rel=1e-5)
    assert float(parts["recon"]) == pytest.approx(float(recon), rel=1e-5)
    assert ("tex_by" in parts) == (preset == "paper")


def test_regularizers_reach_the_encoder_and_weights_apply() -> None:
    torch.manual_seed(1)
    model = make_model("paper", **SMALL)
    batch = _batch(1)
    total0, parts = MagnificationLoss(model, LossConfig.from_preset("paper", reg_weight=0.0))(batch)
    total1, _ = MagnificationLoss(model, LossConfig.from_preset("paper", reg_weight=1.0))(batch)
    reg = parts["tex_ab"] + parts["tex_by"] + parts["shape_b"]
    assert float((total1 - total0).detach()) == pytest.approx(float(reg), rel=1e-5)
    # only the regularizers: gradients must still reach the encoder
    crit = MagnificationLoss(model, LossConfig.from_preset("paper", l1_weight=0.0, reg_weight=1.0))
    crit(batch)[0].backward()
    assert model.encoder.conv1.conv.weight.grad.abs().sum() > 0
    grad = model.decoder.pred_conv.conv.weight.grad
    assert grad is None or not grad.any()  # the decoder is not in the regularizers


def test_do_nothing_baseline_and_presets() -> None:
    batch = _batch(2)
    assert float(do_nothing_loss(batch)) == pytest.approx(float((batch["frame_y_perturbed"] - batch["frame_b_perturbed"]).abs().mean()))
    assert LossConfig.from_preset("official").reg_weight == 1.0 and LossConfig.from_preset("paper").reg_weight == 0.1
    with pytest.raises(ValueError, match="unknown loss preset"):
        LossConfig.from_preset("gan")


def _step(preset: str, *, joint: bool, channels_last: bool) -> tuple[dict[str, float], list[torch.Tensor]]:
    """Loss terms and gradients of one step (fixed seed) in the given call structure and memory format."""
    from mmtrain.model.runtime import to_channels_last

    torch.manual_seed(0)
    model = make_model(preset, **SMALL)
    batch = _batch(1)
    if channels_last:
        model.to(memory_format=torch.channels_last)
        batch = {k: to_channels_last(v) for k, v in batch.items()}
    total, parts = MagnificationLoss(model, LossConfig.from_preset(preset), joint_encode=joint)(batch)
    total.backward()
    return {k: float(v) for k, v in parts.items()}, [p.grad.clone() for p in model.parameters()]


@pytest.mark.parametrize("preset", ["paper", "official"])
@pytest.mark.parametrize("joint, channels_last", [(False, False), (True, True), (False, True)])
def test_step_is_the_same_in_every_call_structure_and_memory_format(preset: str, joint: bool,
                                                                    channels_last: bool) -> None:
    ref_parts, ref_grads = _step(preset, joint=True, channels_last=False)  # the previous release's step
    parts, grads = _step(preset, joint=joint, channels_last=channels_last)
    assert parts.keys() == ref_parts.keys()
    for k, v in parts.items():
        assert v == pytest.approx(ref_parts[k], rel=1e-5, abs=1e-7), k
    for g, ref in zip(grads, ref_grads):
        assert torch.allclose(g, ref, rtol=1e-4, atol=1e-6)
