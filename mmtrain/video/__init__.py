"""Video I/O: decoding and encoding video files, clip selection, outputs, slice images.

Nothing here needs the network: these modules read what a run magnifies and write what it produced.

* :mod:`~mmtrain.video.io` — decoding and encoding video files (PyAV): probe, reader, atomic writer;
* :mod:`~mmtrain.video.clip` — frame range, stride, crop and resize applied while decoding;
* :mod:`~mmtrain.video.outputs` — H.264 (lossy), FFV1 (lossless) or PNG-sequence outputs;
* :mod:`~mmtrain.video.slices` — x-t / y-t slice images and side-by-side frames.
"""

from __future__ import annotations

from mmdata.lazy import lazy_exports

#: Where each public name is defined; imported on first use (PEP 562).
_EXPORTS = {
    "mmtrain.video.io": [
        "LOSSLESS_PIX_FMT", "VIDEO_SUFFIXES", "VideoInfo", "probe_video", "VideoReader", "VideoWriter",
        "check_writable", "check_video_path", "write_video",
    ],
    "mmtrain.video.clip": ["ClipSelection", "MAX_FRAME_PIXELS"],
    "mmtrain.video.outputs": [
        "CODECS", "is_png_sequence", "check_not_input", "check_output", "PngSequenceWriter", "open_output",
    ],
    "mmtrain.video.slices": [
        "SliceRecorder", "check_slice", "check_png_path", "side_by_side", "scale_slice", "slice_figure",
        "render_figure", "save_png",
    ],
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = [name for names in _EXPORTS.values() for name in names]
