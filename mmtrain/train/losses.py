"""Training losses: the paper's and the authors' released code's, selected by preset.

Notation (SPEC §1): X_a, X_b the input pair, X'_b and Y' the color-perturbed B and magnified frame;
V = texture and M = shape representations (``MagNet.encode``). The network sees (X_a, X'_b) and
regresses Y'; Ŷ = D(V'_b, manipulate(M_a, M'_b, alpha)).

==========  ==========================================================================================
preset      loss
==========  ==========================================================================================
paper       L1(Y', Ŷ) + λ·(L1(V_a, V_b) + L1(V'_b, V'_y) + L1(M_b, M'_b)),  λ = 0.1   (Section 3.2)
official    L1(Y', Ŷ) + 1.0·L1(V_a, V_b) + 1.0·L1(M_b, M'_b)              (no V'_b / V'_y term)
==========  ==========================================================================================

L1 is the mean absolute difference over all elements (TF ``reduce_mean(abs)`` in the official code).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import Tensor, nn

from mmtrain.model.network import MagNet

__all__ = ["LossConfig", "l1", "MagnificationLoss", "do_nothing_loss", "BATCH_FIELDS"]

# dataset fields a training batch needs (both presets)
BATCH_FIELDS: tuple[str, ...] = ("frame_a", "frame_b", "frame_b_perturbed", "frame_y_perturbed", "alpha")


@dataclass(frozen=True)
class LossConfig:
    """Which loss, and its weights."""

    kind: Literal["paper", "official"] = "paper"  # the paper's three regularizers or the official two
    reg_weight: float = 0.1  # λ on the regularizers (paper 0.1; official 1.0 on each of its two)
    l1_weight: float = 1.0  # weight of the reconstruction term L1(Y', Ŷ)

    @classmethod
    def from_preset(cls, name: str = "paper", **overrides: Any) -> "LossConfig":
        """The named preset's loss (``"paper"`` or ``"official"``), with optional overrides.

        Raises:
            ValueError: an unknown preset.
        """
        if name == "paper":
            base = cls(kind="paper", reg_weight=0.1)
        elif name == "official":
            base = cls(kind="official", reg_weight=1.0)
        else:
            raise ValueError(f"unknown loss preset {name!r}; expected 'paper' or 'official'")
        return dataclasses.replace(base, **{k: v for k, v in overrides.items() if v is not None})


def l1(a: Tensor, b: Tensor) -> Tensor:
    """Mean absolute difference (a scalar)."""
    return (a - b).abs().mean()


def do_nothing_loss(batch: dict[str, Tensor]) -> Tensor:
    """L1(Y', X'_b): the reconstruction loss of a model that outputs its input frame B unchanged."""
    return l1(batch["frame_y_perturbed"], batch["frame_b_perturbed"])


class MagnificationLoss(nn.Module):
    """The model plus its training loss, as one module (so DistributedDataParallel wraps the whole step).

    Args:
        model: the network.
        config: the loss.

    Example:
        >>> crit = MagnificationLoss(make_model(), LossConfig.from_preset("paper"))
        >>> total, parts = crit(batch)   # batch: frames (B, 3, H, W) in [-1, 1], alpha (B,)
    """

    def __init__(self, model: MagNet, config: LossConfig, *, joint_encode: bool = False) -> None:
        super().__init__()
        self.model = model
        self.config = config
        # False: one encoder call per frame kind (B samples each), whose activations stay smaller and
        # need no concatenated copy; True: one call on all of them (k*B samples). Same values either way.
        self.joint_encode = joint_encode

    def _encode(self, frames: list[Tensor]) -> list[tuple[Tensor, Tensor]]:
        """(texture, shape) of each (B, 3, H, W) batch of frames."""
        if not self.joint_encode:
            return [self.model.encode(x) for x in frames]
        n = frames[0].shape[0]
        texture, shape = self.model.encode(torch.cat(frames, dim=0))  # one pass over (k*B, 3, H, W)
        return [(texture[i * n:(i + 1) * n], shape[i * n:(i + 1) * n]) for i in range(len(frames))]

    def forward(self, batch: dict[str, Tensor]) -> tuple[Tensor, dict[str, Tensor]]:
        """Total loss and its (detached) terms ``recon``, ``tex_ab``, ``tex_by``, ``shape_b``, ``total``."""
        x_a, x_b, xp_b, yp = (batch[k] for k in ("frame_a", "frame_b", "frame_b_perturbed", "frame_y_perturbed"))
        frames = [x_a, xp_b, x_b] + ([yp] if self.config.kind == "paper" else [])
        codes = self._encode(frames)
        (v_a, m_a), (vp_b, mp_b), (v_b, m_b) = codes[:3]
        y_hat = self.model.decode(vp_b, self.model.manipulate(m_a, mp_b, batch["alpha"]))
        parts = {"recon": l1(yp, y_hat), "tex_ab": l1(v_a, v_b), "shape_b": l1(m_b, mp_b)}
        reg = parts["tex_ab"] + parts["shape_b"]
        if self.config.kind == "paper":
            parts["tex_by"] = l1(vp_b, codes[3][0])
            reg = reg + parts["tex_by"]
        total = self.config.l1_weight * parts["recon"] + self.config.reg_weight * reg
        parts = {k: v.detach() for k, v in parts.items()}
        parts["total"] = total.detach()
        return total, parts
