"""Frames to and from the network's value range, and the padding its strides need: one copy of each.

The network reads and writes RGB float tensors ``(N, 3, H, W)`` in [-1, 1] (``uint8 / 127.5 - 1``),
with ``H`` and ``W`` multiples of 4 (two stride-2 stages). Training, video magnification and
evaluation all convert through these functions.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["to_model_range", "from_model_range", "pad_to_multiple"]


def to_model_range(frames: np.ndarray, device: torch.device | str = "cpu") -> Tensor:
    """Frames ``(N, H, W, 3)`` on the 0-255 scale (uint8 or float) -> float32 ``(N, 3, H, W)`` in [-1, 1].

    The frames travel to ``device`` before they are converted (a uint8 copy is a quarter of a float one).

    Example:
        >>> to_model_range(np.full((1, 2, 2, 3), 255, np.uint8)).flatten().tolist()[:3]
        [1.0, 1.0, 1.0]
    """
    x = torch.from_numpy(np.ascontiguousarray(frames)).to(device).permute(0, 3, 1, 2).float()
    return x / 127.5 - 1.0


def from_model_range(y: Tensor) -> np.ndarray:
    """Network output ``(N, 3, H, W)`` -> uint8 frames ``(N, H, W, 3)``: clipped to [-1, 1], rounded half to even.

    Example:
        >>> from_model_range(torch.zeros(1, 3, 1, 1)).ravel().tolist()  # 127.5 rounds to 128
        [128, 128, 128]
    """
    y = torch.round((y.clamp(-1.0, 1.0) + 1.0) * 127.5).to(torch.uint8)
    return y.permute(0, 2, 3, 1).cpu().numpy()


def pad_to_multiple(x: Tensor, multiple: int = 4) -> Tensor:
    """Pad ``(N, C, H, W)`` at the bottom and right up to multiples of ``multiple``.

    Reflect padding (replicate for frames of 3 pixels or fewer, which cannot be reflected); a tensor
    that needs none is returned as is.
    """
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if not (ph or pw):
        return x
    return F.pad(x, (0, pw, 0, ph), mode="reflect" if min(h, w) > 3 else "replicate")
