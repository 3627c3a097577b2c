"""The phase-based method streamed over batches of video frames, in numpy or in torch.

:func:`phase_based_frames` picks :class:`mmtrain.classical.phase.PhaseBasedStream` (numpy, pyrtools) or
:class:`mmtrain.classical.phase_torch.PhaseBasedStreamTorch` (torch, on a device) and runs it one frame
at a time; the two give the same output.
"""

from __future__ import annotations

import logging
from typing import Iterable, Iterator

import numpy as np
import torch

from mmdata.errors import ConfigError
from mmtrain.classical.phase import PhaseBasedConfig, PhaseBasedStream, StreamSettings
from mmtrain.classical.phase_torch import PhaseBasedStreamTorch

__all__ = ["phase_based_frames"]

log = logging.getLogger(__name__)


def phase_based_frames(batches: Iterable[np.ndarray], settings: StreamSettings,
                       config: PhaseBasedConfig | None = None, *,
                       device: torch.device | str | None = None) -> Iterator[np.ndarray]:
    """Stream the phase-based method over batches of uint8 frames ``(n, H, W, 3)``; yields uint8 batches.

    Args:
        device: run the torch implementation there
            (:class:`mmtrain.classical.phase_torch.PhaseBasedStreamTorch`); ``None``: numpy (pyrtools).
            Frames with an odd side run in numpy whatever the device (the torch pyramid needs even
            sides to use pyrtools' own filters); a log line says so. The two give the same output.

    Raises:
        ConfigError: frames under 8 pixels on a side (the pyramid needs at least one level).
    """
    stream: PhaseBasedStream | PhaseBasedStreamTorch | None = None
    for frames in batches:
        if min(frames.shape[1:3]) < 8:
            raise ConfigError(f"phase-based: frames of {frames.shape[2]}x{frames.shape[1]} are too small "
                              "for a steerable pyramid (expected at least 8x8)")
        if stream is None:
            odd = frames.shape[1] % 2 or frames.shape[2] % 2
            if device is not None and odd:
                log.info("phase-based: %dx%d frames have an odd side; running in numpy (the torch pyramid needs even sides)",
                         frames.shape[2], frames.shape[1])
            if device is None or odd:
                stream = PhaseBasedStream(settings, config)
            else:
                stream = PhaseBasedStreamTorch(settings, config, device)
        yield np.stack([np.clip(np.rint(stream(f)), 0, 255).astype(np.uint8) for f in frames])
