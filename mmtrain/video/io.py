"""Video files in and out through PyAV (FFmpeg): probing, a streaming reader and an atomic writer.

Frames are RGB ``uint8`` arrays of shape ``(H, W, 3)`` in presentation order and in *display*
orientation: a video whose display matrix says "rotate" (phone videos) is rotated on decode
(``VideoFrame.rotation``, counter-clockwise degrees), so that slices, crops and the output refer to
the picture as it plays; the output carries no rotation flag. Every check a video
run needs (the file exists, is a video, has a decodable codec and at least one frame; the output
can be written) happens in :func:`probe_video` and :class:`VideoWriter`'s constructor, so callers can
fail fast, before any heavy work.

Example:
    >>> info = probe_video("in.mp4")                                # doctest: +SKIP
    >>> with VideoWriter("out.mp4", width=info.width, height=info.height, fps=info.fps) as out:
    ...     for frame in VideoReader("in.mp4"):                     # doctest: +SKIP
    ...         out.write(frame)
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Iterator

import av
import numpy as np

from mmdata.errors import VideoError
from mmdata.fsutil import check_suffix, commit, discard, remove_stale, tmp_name

if TYPE_CHECKING:
    from mmtrain.video.clip import ClipSelection

__all__ = ["LOSSLESS_PIX_FMT", "VIDEO_SUFFIXES", "VideoInfo", "probe_video", "VideoReader", "VideoWriter",
           "check_writable", "check_video_path", "write_video"]

log = logging.getLogger(__name__)

#: Encoders stored losslessly, with the RGB pixel format that makes them bit-exact.
LOSSLESS_PIX_FMT: dict[str, str] = {"ffv1": "bgr0"}

#: Video file extensions :class:`VideoWriter` writes (the container follows the extension).
VIDEO_SUFFIXES: tuple[str, ...] = (".mp4", ".m4v", ".mov", ".mkv", ".avi")


@dataclass(frozen=True)
class VideoInfo:
    """What a video run needs to know about an input file.

    Attributes:
        path: the file.
        width: frame width in pixels.
        height: frame height in pixels.
        fps: frame rate (frames per second) as an exact fraction.
        n_frames: number of frames (from the container, or counted by demuxing when it has none).
        codec: FFmpeg name of the video codec.
        rotation: counter-clockwise rotation (degrees, a multiple of 90) applied on decode to reach
            the display orientation; ``width``/``height`` are after it.
    """

    path: Path
    width: int
    height: int
    fps: Fraction
    n_frames: int
    codec: str
    rotation: int = 0


def _reason(exc: BaseException) -> str:
    """FFmpeg's or the OS's reason in words, without ``[Errno N]`` or the file name it repeats."""
    reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return reason[0].lower() + reason[1:]


def _open(path: Path) -> av.container.InputContainer:
    try:
        return av.open(str(path))
    except (av.FFmpegError, OSError) as exc:
        raise VideoError(f"{path}: not a readable video file ({_reason(exc)})") from exc


def _count_packets(path: Path, stop: int | None = None) -> int:
    """Count the video packets with payload by demuxing (no decoding), up to ``stop`` of them."""
    n = 0
    with _open(path) as container:
        try:
            for packet in container.demux(video=0):
                n += packet.size > 0
                if stop is not None and n >= stop:
                    break
        except av.FFmpegError as exc:
            raise VideoError(f"{path}: cannot read the video's packets after {n} ({_reason(exc)})") from exc
    return n


def probe_video(path: str | os.PathLike[str]) -> VideoInfo:
    """Check that ``path`` is a decodable video with at least one frame and describe it.

    Decodes the first frame to prove the codec works; otherwise reads only container metadata
    (demuxing without decoding when the container does not store a frame count).

    Args:
        path: the video file.

    Returns:
        The file's :class:`VideoInfo`.

    Raises:
        VideoError: the file does not exist, is not a video, has no video stream, uses a codec this
            FFmpeg cannot decode, has zero frames or no frame rate.
    """
    path = Path(path)
    if path.is_dir():
        raise VideoError(f"{path}: is a folder, expected a video file")
    if not path.is_file():
        raise VideoError(f"{path}: no such video file")
    with _open(path) as container:
        if not container.streams.video:
            raise VideoError(f"{path}: contains no video stream (expected a video with at least one frame)")
        stream = container.streams.video[0]
        ctx = stream.codec_context
        if ctx is None:
            raise VideoError(f"{path}: unsupported codec (FFmpeg has no decoder for this video stream)")
        fps = stream.average_rate or stream.guessed_rate or stream.base_rate
        n_frames = int(stream.frames or 0)
        try:
            first = next(iter(container.decode(stream)), None)
        except av.FFmpegError as exc:
            raise VideoError(f"{path}: cannot decode its {ctx.name} video stream ({_reason(exc)})") from exc
        if first is None:
            raise VideoError(f"{path}: the video has zero frames")
        width, height, codec = first.width, first.height, ctx.name
        rotation = _rotation(first)
        if rotation % 180:
            width, height = height, width
    if n_frames <= 0:
        n_frames = _count_packets(path)
    if not fps or fps <= 0:
        raise VideoError(f"{path}: the video stream has no frame rate")
    return VideoInfo(path=path, width=width, height=height, fps=Fraction(fps), n_frames=n_frames, codec=codec,
                     rotation=rotation)


def _rotation(frame: av.VideoFrame) -> int:
    """The frame's display rotation, counter-clockwise degrees rounded to a multiple of 90, in [0, 360)."""
    return int(round(float(getattr(frame, "rotation", 0) or 0) / 90.0)) * 90 % 360


def _to_display(frame: av.VideoFrame, rotation: int) -> np.ndarray:
    """RGB array of ``frame`` turned by ``rotation`` degrees counter-clockwise."""
    image = frame.to_ndarray(format="rgb24")
    return np.ascontiguousarray(np.rot90(image, rotation // 90)) if rotation else image


class VideoReader:
    """Stream the frames of a video file (or a selection of them), a few at a time.

    Args:
        path: the video file; probed on construction (see :func:`probe_video`).
        selection: frame range, stride, crop and resize (:class:`~mmtrain.video.clip.ClipSelection`);
            ``None`` = every frame as it is.

    Attributes:
        source: the file's :class:`VideoInfo`.
        info: the selected clip's: its size, frame count and frame rate (the file's / stride).

    Raises:
        VideoError: as :func:`probe_video`; when decoding fails part-way; or, while iterating, when the
            stream ends before the last selected frame (a truncated file whose index declares more frames
            than it holds: an error, never a silently shorter clip; a selection that ends before the
            damage, e.g. ``frames`` small enough, reads normally). :meth:`check_length` finds most such
            files before any frame is decoded.
        ConfigError: the selection does not fit the video.
    """

    def __init__(self, path: str | os.PathLike[str], selection: "ClipSelection | None" = None) -> None:
        from dataclasses import replace

        from mmtrain.video.clip import ClipSelection

        self.source = probe_video(path)
        self.selection = selection or ClipSelection()
        self._indices = self.selection.indices(self.source.n_frames)
        width, height = self.selection.size(self.source.width, self.source.height)
        self.info = replace(self.source, width=width, height=height, n_frames=len(self._indices),
                            fps=self.source.fps / self.selection.stride)

    def __len__(self) -> int:
        return self.info.n_frames

    def __iter__(self) -> Iterator[np.ndarray]:
        """Yield every selected frame as an RGB uint8 array ``(H, W, 3)`` in display orientation."""
        path, rotation, want, sel = self.source.path, self.source.rotation, self._indices, self.selection
        if not want:
            return
        decoded = 0
        with _open(path) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            try:
                for i, frame in enumerate(container.decode(stream)):
                    if i > want[-1]:
                        break
                    decoded = i + 1
                    if i in want:
                        yield sel.apply(_to_display(frame, rotation))
            except av.FFmpegError as exc:
                if decoded <= want[-1]:  # damage after the selection's last frame is none of its business
                    raise self._short_error(decoded, f"frames decoded, then {_reason(exc)}") from exc
        if decoded <= want[-1]:
            raise self._short_error(decoded, "frames decoded")

    def check_length(self) -> None:
        """Fail fast on a file that holds fewer frames than the selection needs (packets counted, no decoding).

        Raises:
            VideoError: the stream has fewer frame packets than the last selected frame's index + 1.
        """
        want = self._indices
        if want:
            packets = _count_packets(self.source.path, stop=want.stop)
            if packets <= want[-1]:
                raise self._short_error(packets, "frame packets counted")

    def _short_error(self, n: int, how: str) -> VideoError:
        """The stream ends after ``n`` frames, before the last selected one."""
        want, declared = self._indices, self.source.n_frames
        usable = len(range(want.start, n, want.step))
        hint = (f"select at most {usable} frames from frame {want.start} (--frames {usable})" if usable
                else "select earlier frames (--start)")
        return VideoError(f"{self.source.path}: the video stream ends after {n} of its {declared} declared frames "
                          f"({how}): a truncated or damaged file; the selection needs frames up to {want[-1]}; "
                          f"{hint} to magnify what the file holds")

    def batches(self, size: int) -> Iterator[np.ndarray]:
        """Yield consecutive frames stacked in groups of ``size`` (the last may be shorter).

        Returns:
            Iterator of uint8 arrays ``(n, H, W, 3)``, ``1 <= n <= size``.
        """
        return batched(iter(self), size)


def batched(frames: Iterable[np.ndarray], size: int) -> Iterator[np.ndarray]:
    """Stack an iterable of ``(H, W, 3)`` frames into arrays of at most ``size`` frames."""
    if size < 1:
        raise ValueError(f"batch size must be >= 1, got {size}")
    buf: list[np.ndarray] = []
    for frame in frames:
        buf.append(frame)
        if len(buf) == size:
            yield np.stack(buf)
            buf = []
    if buf:
        yield np.stack(buf)


def check_writable(path: str | os.PathLike[str]) -> Path:
    """Check that a file can be created at ``path`` (its folder exists and is writable).

    Returns:
        ``path`` as a :class:`Path`.

    Raises:
        VideoError: the folder is missing, is a file or is not writable, or ``path`` is a folder.
    """
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise VideoError(f"{path}: is a folder, expected an output video file name")
    if parent.exists() and not parent.is_dir():
        raise VideoError(f"{path}: cannot write, {parent} is a file, not a folder")
    if not parent.is_dir():
        raise VideoError(f"{path}: cannot write, folder {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise VideoError(f"{path}: cannot write, folder {parent} is not writable")
    return path


def check_video_path(path: str | os.PathLike[str], *, hint: str = "") -> Path:
    """Check, before any work, that ``path`` names a video file :class:`VideoWriter` can create.

    Args:
        path: the output video.
        hint: appended to the message of a refused extension (other outputs the caller accepts).

    Returns:
        ``path`` as a :class:`Path`.

    Raises:
        VideoError: the extension is not one of :data:`VIDEO_SUFFIXES` (the supported ones are
            named), or as :func:`check_writable`.
    """
    path = check_writable(path)
    return check_suffix(path, VIDEO_SUFFIXES, what="video", error=VideoError, hint=hint)


class VideoWriter:
    """Encode frames into a video file atomically: a temporary name, committed on :meth:`close`.

    The frames go to a hidden sibling named by :func:`mmdata.fsutil.tmp_name`
    (``.NAME.tmp-XXXXXXXX.EXT``); :meth:`close` fsyncs it, gives it the usual permissions and renames
    it over ``path`` (:func:`mmdata.fsutil.commit`); :meth:`abort` — called on any exception inside a
    ``with`` block, a failed encode included — deletes it, leaving ``path`` untouched. The temporaries
    a killed earlier writer of the same output left behind are removed on construction.

    The container format follows the file extension (:data:`VIDEO_SUFFIXES`).
    Frames of even size are stored as 4:2:0 (lossy: H.264 at ``crf``); odd sizes, which 4:2:0 cannot
    hold, as 4:4:4, so the size is always preserved exactly. ``codec="ffv1"`` (in ``.mkv`` or ``.avi``)
    stores RGB losslessly (``bgr0``): the frames read back are bit-exact.

    Args:
        path: output file.
        width: frame width in pixels.
        height: frame height in pixels.
        fps: frame rate, kept exactly (e.g. the input's :attr:`VideoInfo.fps`).
        codec: FFmpeg encoder name.
        crf: constant rate factor for x264/x265 (lower is better quality; 0 is lossless).

    Raises:
        VideoError: the output cannot be written, the codec is unknown, or the extension is not a
            supported video container.
        OSError: the disk fills up (or another I/O error) while writing; it names ``path``.
    """

    def __init__(self, path: str | os.PathLike[str], *, width: int, height: int, fps: Fraction | float,
                 codec: str = "libx264", crf: int = 17) -> None:
        self.path = check_video_path(path)
        self._container = None
        if width < 1 or height < 1:
            raise VideoError(f"{self.path}: invalid frame size {width}x{height}")
        try:
            av.Codec(codec, "w")
        except Exception as exc:  # av raises UnknownCodecError (a ValueError) or FFmpegError
            raise VideoError(f"{self.path}: unsupported codec {codec!r} (no such FFmpeg encoder)") from exc
        self.width, self.height = width, height
        for stale in remove_stale(self.path.parent, self.path.name):
            log.info("removed %s, left by an interrupted earlier write", stale)
        self._tmp = tmp_name(self.path)
        try:  # FFmpeg creates the file lazily: prove now that it can be created
            self._tmp.touch()
        except OSError as exc:
            raise VideoError(f"{self.path}: cannot write ({exc.strerror})") from exc
        try:
            self._container = av.open(str(self._tmp), "w")
            rate = Fraction(fps).limit_denominator(1_000_000)
            self._stream = self._container.add_stream(codec, rate=rate)
        except (av.FFmpegError, ValueError, OSError) as exc:
            self.abort()
            raise VideoError(f"{self.path}: cannot write a video with this file name ({_reason(exc)})") from exc
        self._stream.width, self._stream.height = width, height
        even = width % 2 == 0 and height % 2 == 0
        formats = {f.name for f in (self._stream.codec_context.codec.video_formats or [])}
        pix_fmt = LOSSLESS_PIX_FMT.get(codec) or ("yuv420p" if even else "yuv444p")
        if formats and pix_fmt not in formats:
            pix_fmt = sorted(formats)[0]
        self._stream.pix_fmt = pix_fmt
        if codec in ("libx264", "libx265"):
            self._stream.options = {"crf": str(crf)}
        self.frames_written = 0

    def write(self, frame: np.ndarray) -> None:
        """Encode one RGB uint8 frame ``(H, W, 3)``.

        Raises:
            VideoError: the frame has the wrong size or type, or the writer is closed.
            OSError: writing failed (a full disk); the temporary file is removed.
        """
        if self._container is None:
            raise VideoError(f"{self.path}: the video writer is closed")
        if frame.dtype != np.uint8 or frame.shape != (self.height, self.width, 3):
            raise VideoError(f"{self.path}: expected a uint8 frame of shape {(self.height, self.width, 3)}, "
                             f"got {frame.dtype} {frame.shape}")
        vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
        try:
            self._container.mux(self._stream.encode(vf))
        except OSError as exc:
            self.abort()
            raise self._io_error(exc) from exc
        self.frames_written += 1

    def close(self) -> None:
        """Flush the encoder, close the file and commit it to its final name (fsync, then rename).

        Raises:
            OSError: flushing or committing failed; the temporary file is removed, ``path`` untouched.
        """
        if self._container is None:
            return
        try:
            self._container.mux(self._stream.encode(None))
            self._container.close()
            self._container = None
            commit(self._tmp, self.path)
        except OSError as exc:
            self.abort()
            raise self._io_error(exc) from exc
        except BaseException:
            self.abort()
            raise
        log.info("wrote %s (%d frames)", self.path, self.frames_written)

    def abort(self) -> None:
        """Close and delete the temporary file; the final path is left untouched."""
        if self._container is not None:
            try:
                self._container.close()
            except (av.FFmpegError, OSError):
                pass
            self._container = None
        discard(self._tmp)

    def _io_error(self, exc: OSError) -> OSError:
        """``exc`` naming the output rather than its hidden temporary file."""
        if exc.errno is None:
            return exc
        return OSError(exc.errno, exc.strerror or str(exc), str(self.path))

    def __enter__(self) -> "VideoWriter":
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def write_video(path: str | os.PathLike[str], frames: Iterable[np.ndarray], fps: Fraction | float,
                **kwargs: object) -> int:
    """Write RGB uint8 frames to ``path``; the size comes from the first frame.

    Returns:
        The number of frames written.

    Raises:
        VideoError: no frames were given, or as :class:`VideoWriter`.
    """
    it = iter(frames)
    first = next(it, None)
    if first is None:
        raise VideoError(f"{path}: no frames to write")
    with VideoWriter(path, width=first.shape[1], height=first.shape[0], fps=fps, **kwargs) as writer:
        writer.write(first)
        for frame in it:
            writer.write(frame)
    return writer.frames_written
