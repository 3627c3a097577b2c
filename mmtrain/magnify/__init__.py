"""Magnifying videos with a trained network.

* :mod:`~mmtrain.magnify.video` — decoding and encoding video files (PyAV);
* :mod:`~mmtrain.magnify.filters` — the temporal filters of the temporal mode (FIR, Butterworth, difference of IIR);
* :mod:`~mmtrain.magnify.spill` — the on-disk store that lets the FIR filter run in bounded memory;
* :mod:`~mmtrain.magnify.slices` — x-t / y-t slice images and side-by-side frames;
* :mod:`~mmtrain.magnify.presets` — the paper's per-sequence settings (Table A.1);
* :mod:`~mmtrain.magnify.pipeline` — :func:`magnify_frames` and :func:`magnify_video` (static, dynamic, temporal);
* :mod:`~mmtrain.magnify.demo` — a synthetic demo video with a known sub-pixel motion;
* :mod:`~mmtrain.magnify.cli` — ``mmtrain magnify`` and ``mmtrain make-demo-video``.
"""

from __future__ import annotations

from mmtrain.magnify.video import (
    VideoInfo,
    probe_video,
    VideoReader,
    VideoWriter,
    check_writable,
    write_video,
)
from mmtrain.magnify.filters import (
    FilterKind,
    FILTER_KINDS,
    validate_band,
    iir_lowpass_coefficient,
    iir_lowpass_cutoff,
    StreamingFilter,
    DiffIIRFilter,
    ButterworthFilter,
    make_streaming_filter,
    fir_taps,
    fir_response,
    fir_filter,
)
from mmtrain.magnify.spill import (
    RepresentationSpill,
    tile_side,
)
from mmtrain.magnify.slices import (
    SliceRecorder,
    check_slice,
    side_by_side,
    slice_figure,
    save_png,
)
from mmtrain.magnify.presets import (
    SequencePreset,
    PRESETS,
    get_preset,
)
from mmtrain.magnify.pipeline import (
    MODES,
    MagnifySettings,
    MagnifyResult,
    select_device,
    frames_to_tensor,
    tensor_to_frames,
    magnify_frames,
    magnify_video,
    default_slice_path,
)
from mmtrain.magnify.demo import (
    DEMO_IMAGES,
    demo_image,
    SinusoidVideo,
)

__all__ = [
    "VideoInfo",
    "probe_video",
    "VideoReader",
    "VideoWriter",
    "check_writable",
    "write_video",
    "FilterKind",
    "FILTER_KINDS",
    "validate_band",
    "iir_lowpass_coefficient",
    "iir_lowpass_cutoff",
    "StreamingFilter",
    "DiffIIRFilter",
    "ButterworthFilter",
    "make_streaming_filter",
    "fir_taps",
    "fir_response",
    "fir_filter",
    "RepresentationSpill",
    "tile_side",
    "SliceRecorder",
    "check_slice",
    "side_by_side",
    "slice_figure",
    "save_png",
    "SequencePreset",
    "PRESETS",
    "get_preset",
    "MODES",
    "MagnifySettings",
    "MagnifyResult",
    "select_device",
    "frames_to_tensor",
    "tensor_to_frames",
    "magnify_frames",
    "magnify_video",
    "default_slice_path",
    "DEMO_IMAGES",
    "demo_image",
    "SinusoidVideo",
]
