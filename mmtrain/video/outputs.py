"""Where a magnified clip goes: a video (H.264, lossy by default; FFV1, lossless) or a PNG sequence.

* ``out.mp4`` (or any extension FFmpeg writes): H.264, 4:2:0, ``crf`` 17 by default — small, and
  *lossy*: every encode shifts grey levels slightly, so do not measure on it.
* ``codec="ffv1"`` with ``out.mkv`` or ``out.avi``: FFV1 in RGB (``bgr0``), lossless: reading it back
  gives the magnified frames bit for bit.
* a folder (existing, or a path ending in ``/``) or a name with a ``%d``-style pattern ending in
  ``.png`` (``frames/%05d.png``): one lossless PNG per frame, numbered from 0.

Any other name (``out.xyz``, ``out.png`` without a ``%d`` field) is refused by :func:`check_output`,
naming the supported forms, before any work. An output path that is the input file itself is refused,
so a run never replaces its own input.

Example:
    >>> import numpy as np, tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> with open_output(folder / "%03d.png", width=4, height=2, fps=30) as out:
    ...     out.write(np.zeros((2, 4, 3), np.uint8))
    >>> sorted(p.name for p in folder.iterdir())
    ['000.png']
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import numpy as np

from mmdata.errors import ConfigError, VideoError
from mmtrain.video.slices import save_png
from mmtrain.video.io import LOSSLESS_PIX_FMT, VideoWriter, check_video_path, check_writable

__all__ = ["CODECS", "is_png_sequence", "check_not_input", "check_output", "PngSequenceWriter", "open_output"]

_PNG_HINT = ", or a folder/ or NAME%05d.png for a PNG sequence"

#: Names accepted for ``codec``: short names and the FFmpeg encoders they select.
CODECS: dict[str, str] = {"h264": "libx264", "libx264": "libx264", "ffv1": "ffv1"}


def is_png_sequence(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` names a PNG sequence: a folder, a path ending in ``/``, or ``NAME%05d.png``."""
    text = os.fspath(path)
    return Path(text).is_dir() or text.endswith(os.sep) or ("%" in Path(text).name and text.lower().endswith(".png"))


def check_not_input(output: str | os.PathLike[str], input: str | os.PathLike[str]) -> None:
    """Refuse an output that is the input file (same path, or the same file by another name).

    Raises:
        VideoError: naming both and asking for another output name.
    """
    out, src = Path(output), Path(input)
    same = out.resolve() == src.resolve() or (out.exists() and src.exists() and os.path.samefile(out, src))
    if same:
        raise VideoError(f"{output}: the output is the input video {input}; choose another -o/--out")


def _png_target(pattern: str | os.PathLike[str]) -> tuple[Path, str, bool]:
    """The folder and the ``%d``-style file name of a PNG sequence output, and whether to create the folder.

    Raises:
        VideoError: the name has no single ``%d``-style field.
    """
    text = os.fspath(pattern)
    if Path(text).is_dir() or text.endswith(os.sep):
        folder, name = Path(text), "%05d.png"
        create = not folder.exists()  # a trailing "/" names a folder to create
    else:
        folder, name, create = Path(text).parent, Path(text).name, False
    try:
        name % 0
    except (TypeError, ValueError) as exc:
        raise VideoError(f"{pattern}: expected one %d-style field in the PNG name, e.g. %05d.png") from exc
    return folder, name, create


class PngSequenceWriter:
    """Write frames as numbered PNG files (lossless), each atomically.

    Args:
        pattern: a folder (files ``00000.png``, ``00001.png``...) or a ``%``-pattern such as
            ``frames/clip_%05d.png``; the folder must exist (a folder named with a trailing ``/``
            is created).
        width, height: frame size.

    Raises:
        VideoError: the folder is missing or not writable, or the pattern is malformed.
    """

    def __init__(self, pattern: str | os.PathLike[str], *, width: int, height: int) -> None:
        folder, name, create = _png_target(pattern)
        if create and folder.parent.is_dir():
            folder.mkdir(exist_ok=True)
        check_writable(folder / (name % 0))
        self.path, self.folder, self._name = Path(os.fspath(pattern)), folder, name
        self.width, self.height = width, height
        self.frames_written = 0

    def write(self, frame: np.ndarray) -> None:
        """Write one RGB uint8 frame ``(H, W, 3)`` as the next PNG."""
        if frame.dtype != np.uint8 or frame.shape != (self.height, self.width, 3):
            raise VideoError(f"{self.path}: expected a uint8 frame of shape {(self.height, self.width, 3)}, "
                             f"got {frame.dtype} {frame.shape}")
        save_png(self.folder / (self._name % self.frames_written), frame)
        self.frames_written += 1

    def close(self) -> None:
        """Nothing to flush: every PNG is complete when written."""

    def abort(self) -> None:
        """Leave the PNGs written so far (each is complete)."""

    def __enter__(self) -> "PngSequenceWriter":
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self.close()


def check_output(path: str | os.PathLike[str], *, codec: str = "h264", crf: int = 17) -> None:
    """Check, before any work and creating nothing, that :func:`open_output` will accept ``path``.

    Raises:
        VideoError: an extension that is neither a supported video (:data:`~mmtrain.video.io.VIDEO_SUFFIXES`)
            nor a PNG sequence (the supported forms are named), a folder that is missing, a file or not
            writable, a malformed PNG pattern, FFV1 in a container that cannot hold it.
        ConfigError: ``crf`` outside 0..51.
    """
    if is_png_sequence(path):
        folder, name, create = _png_target(path)
        check_writable(folder if create else folder / (name % 0))
        return
    check_video_path(path, hint=_PNG_HINT)
    if CODECS.get(codec, codec) in LOSSLESS_PIX_FMT and Path(path).suffix.lower() not in (".mkv", ".avi"):
        raise VideoError(f"{path}: the lossless {codec} codec needs a .mkv or .avi file name")
    if not 0 <= crf <= 51:
        raise ConfigError(f"crf: expected 0 (best) to 51 (worst), got {crf}")


def open_output(path: str | os.PathLike[str], *, width: int, height: int, fps: Fraction | float,
                codec: str = "h264", crf: int = 17) -> VideoWriter | PngSequenceWriter:
    """A writer for ``path``: a PNG sequence (see :func:`is_png_sequence`) or a video with ``codec``.

    Args:
        path: the output.
        width, height: frame size.
        fps: frame rate (videos only).
        codec: ``h264`` (default, lossy) or ``ffv1`` (lossless; ``.mkv``/``.avi``), or an FFmpeg encoder.
        crf: H.264 constant rate factor (0 lossless in YUV, 17 default, 51 worst).

    Raises:
        VideoError, ConfigError: as :func:`check_output`; an unknown codec.
    """
    check_output(path, codec=codec, crf=crf)
    if is_png_sequence(path):
        return PngSequenceWriter(path, width=width, height=height)
    return VideoWriter(path, width=width, height=height, fps=fps, codec=CODECS.get(codec, codec), crf=crf)
