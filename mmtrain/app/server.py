"""The local web page of ``mmtrain app``: find the motion in a video, choose its band, magnify a region.

One page (``static/index.html``) and a small JSON API over the project's own functions, served by
Flask on loopback by default:

* ``GET /api/videos``: the videos in the chosen folder (any depth);
* ``GET /api/info?video=REL``: size, frame count and frame rate (:func:`mmtrain.video.io.probe_video`);
* ``GET /api/frame?video=REL&index=I``: frame ``I`` as PNG (to draw the region on);
* ``POST /api/spectrum``: the region's displacement waveform, amplitude spectrum, noise floor and
  peaks (:func:`mmtrain.analysis.api.analyse_video`);
* ``POST /api/preview``: a few frames of the clip (its first 300) magnified in the region
  (:func:`mmtrain.magnify.api.magnify` with ``roi=``), each beside its input, as PNG data URLs: the
  region's window only (the region, its feather and the method's context; the same pixels as the
  whole frame's run), so that memory follows the region, not the frame;
* ``POST /api/export``: the whole clip magnified into a file of the folder
  (:func:`mmtrain.magnify.videofile.magnify_video`; ``.mkv``/``.avi`` lossless FFV1, else H.264).

Every path is relative to the folder; one that resolves outside it (``..``, an absolute path, a link
out of it) is refused (403). A bad video or setting is a JSON ``{"error": message}`` shown on the page
(400), never a stack trace; an unexpected failure is logged with its traceback and answered with its
one-line message (500).
"""

from __future__ import annotations

import base64
import io
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from flask import Flask, jsonify, request, send_file
from PIL import Image
from werkzeug.exceptions import HTTPException

from mmdata.errors import ConfigError, MotionMagError

__all__ = ["AppError", "MAX_PREVIEW_FRAMES", "create_app"]

log = logging.getLogger(__name__)

#: The most frames a preview magnifies (the export takes the whole selection).
MAX_PREVIEW_FRAMES = 300

#: Frames a preview shows, evenly spaced over the clip.
PREVIEW_SHOWN = 4

STATIC = Path(__file__).resolve().parent / "static"


class AppError(MotionMagError, ValueError):
    """A request the page cannot serve, with the HTTP status to answer (400: bad input, 403: a path
    outside the folder, 404: no such file)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class _Request:
    """The fields of a spectrum, preview or export request, checked."""

    video: Path
    roi: tuple[int, int, int, int]
    start: int
    frames: int | None


def create_app(folder: str | os.PathLike[str]) -> Flask:
    """The page and its API over the videos of ``folder``.

    Raises:
        AppError: ``folder`` is not a folder.
    """
    root = Path(folder).expanduser().resolve()
    if not root.is_dir():
        raise AppError(f"{folder}: not a folder (expected the folder of your videos)")
    app = Flask(__name__, static_folder=None)
    app.config["ROOT"] = root

    @app.errorhandler(Exception)
    def _error(err: Exception) -> Any:
        if isinstance(err, AppError):
            return jsonify(error=str(err)), err.status
        if isinstance(err, HTTPException):
            return jsonify(error=f"{err.code} {err.name}: {err.description}"), err.code
        if isinstance(err, (MotionMagError, ValueError, OSError)):  # bad video, bad setting: the user's to fix
            return jsonify(error=str(err)), 400
        log.exception("app: %s %s failed", request.method, request.path)
        return jsonify(error=f"internal error: {type(err).__name__}: {err}"), 500

    @app.get("/")
    def _index() -> Any:
        return send_file(STATIC / "index.html")

    @app.get("/app.js")
    def _script() -> Any:
        return send_file(STATIC / "app.js")

    @app.get("/api/videos")
    def _videos() -> Any:
        from mmtrain.video.io import VIDEO_SUFFIXES

        found = sorted(p.relative_to(root).as_posix() for p in root.rglob("*")
                       if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES)
        return jsonify(folder=str(root), videos=found)

    @app.get("/api/info")
    def _info() -> Any:
        from mmtrain.video.io import probe_video

        info = probe_video(_inside(root, request.args.get("video")))
        return jsonify(width=info.width, height=info.height, n_frames=info.n_frames, fps=float(info.fps))

    @app.get("/api/frame")
    def _frame() -> Any:
        from mmtrain.video.clip import ClipSelection
        from mmtrain.video.io import VideoReader

        index = _int(request.args.get("index", "0"), "index", low=0)
        frames = list(VideoReader(_inside(root, request.args.get("video")), ClipSelection(start=index, frames=1)))
        if not frames:
            raise AppError(f"index: the video has no frame {index}")
        return send_file(io.BytesIO(_png(frames[0])), mimetype="image/png")

    @app.post("/api/spectrum")
    def _spectrum() -> Any:
        from mmtrain.analysis.api import analyse_video

        req = _parse(root, _body())
        result = analyse_video(req.video, selection=_selection(req), rois=[req.roi])
        return jsonify(_spectrum_json(result))

    @app.post("/api/preview")
    def _preview() -> Any:
        from mmtrain.magnify.api import magnify
        from mmtrain.magnify.roi import Region
        from mmtrain.video.io import VideoReader, probe_video

        body = _body()
        req = _parse(root, body)
        info = probe_video(req.video)
        region = Region.parse(req.roi).check(info.width, info.height)
        x0, y0, x1, y1 = region.window(info.width, info.height)  # all the method sees: decode only that
        reader = VideoReader(req.video, _selection(req, limit=MAX_PREVIEW_FRAMES, crop=(x0, y0, x1 - x0, y1 - y0)))
        reader.check_length()
        clip = np.stack(list(reader))
        out = magnify(clip, **_magnify_options(body, float(reader.info.fps)),
                      roi=Region(region.x - x0, region.y - y0, region.width, region.height, region.feather))
        shown = np.unique(np.linspace(0, len(clip) - 1, min(PREVIEW_SHOWN, len(clip))).round().astype(int))
        return jsonify(frames=[{"index": req.start + int(i), "input": _data_url(clip[i]), "output": _data_url(out[i])}
                               for i in shown])

    @app.post("/api/export")
    def _export() -> Any:
        from mmtrain.magnify.pipeline import MagnifySettings
        from mmtrain.magnify.roi import Region
        from mmtrain.magnify.videofile import magnify_video

        body = _body()
        req = _parse(root, body)
        name = body.get("output")
        if not isinstance(name, str) or not name.strip():
            raise AppError("output: name the file to write (e.g. magnified.mp4)")
        output = _inside(root, name, must_exist=False)
        options = _magnify_options(body, None)
        settings = MagnifySettings(**{k: v for k, v in options.items() if k != "device"})
        codec = "ffv1" if output.suffix.lower() in (".mkv", ".avi") else "h264"
        result = magnify_video(req.video, output, settings, selection=_selection(req), roi=Region.parse(req.roi),
                               codec=codec, device="auto", progress=False)
        return jsonify(output=result.output.relative_to(root).as_posix(), frames=result.n_frames,
                       seconds=round(result.seconds, 2), codec=codec)

    return app


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise AppError("expected a JSON object")
    return body


def _inside(root: Path, name: object, *, must_exist: bool = True) -> Path:
    """``root / name`` resolved, when it stays inside ``root``.

    Raises:
        AppError: no name (400), a path outside the folder (403), a missing file (404).
    """
    if not isinstance(name, str) or not name:
        raise AppError("video: name a file of the folder")
    path = (root / name).resolve()
    if not path.is_relative_to(root):
        raise AppError(f"{name}: outside the chosen folder {root}; only its files can be opened or written", 403)
    if must_exist and not path.is_file():
        raise AppError(f"{name}: no such file in {root}", 404)
    return path


def _int(value: object, what: str, *, low: int | None = None) -> int:
    try:
        number = int(str(value))
    except ValueError:
        raise AppError(f"{what}: expected an integer, got {value!r}") from None
    if low is not None and number < low:
        raise AppError(f"{what}: expected at least {low}, got {number}")
    return number


def _float(value: object, what: str) -> float:
    try:
        return float(str(value))
    except ValueError:
        raise AppError(f"{what}: expected a number, got {value!r}") from None


def _parse(root: Path, body: dict[str, Any]) -> _Request:
    roi = body.get("roi")
    if not isinstance(roi, list) or len(roi) != 4:
        raise AppError("roi: draw a region on the frame (x, y, width, height)")
    xywh = tuple(_int(v, "roi") for v in roi)
    frames = body.get("frames")
    return _Request(_inside(root, body.get("video")), (xywh[0], xywh[1], xywh[2], xywh[3]),
                    _int(body.get("start", 0), "start", low=0),
                    None if frames in (None, "") else _int(frames, "frames", low=1))


def _selection(req: _Request, *, limit: int | None = None, crop: tuple[int, int, int, int] | None = None) -> Any:
    from mmtrain.video.clip import ClipSelection

    frames = req.frames if limit is None else min(req.frames or limit, limit)
    return ClipSelection(start=req.start, frames=frames, crop=crop)


def _magnify_options(body: dict[str, Any], fps: float | None) -> dict[str, Any]:
    """``magnify`` keyword arguments of a preview or export request."""
    mode = body.get("mode", "temporal")
    options: dict[str, Any] = {"alpha": _float(body.get("alpha", 10), "alpha"), "mode": mode,
                               "method": body.get("method", "network"), "device": "auto"}
    if mode == "temporal":
        band = body.get("band")
        if not isinstance(band, list) or len(band) != 2:
            raise ConfigError("band: the temporal mode needs a band; click a peak of the spectrum or type one")
        options |= {"band": (_float(band[0], "band"), _float(band[1], "band")), "filter": body.get("filter", "butter")}
        if fps is not None:
            options["fps"] = fps
    return options


def _spectrum_json(result: Any) -> dict[str, Any]:
    """What the page plots: the region's waveform and spectrum, the detection threshold and the peaks."""
    roi = result.per_roi[0]
    disp, amp, threshold = (np.asarray(a, np.float64) for a in (roi.displacement, roi.amplitude, roi.threshold))
    doc = result.to_json()
    return {"fps": result.fps, "roi": list(result.rois[0]), "resolution_hz": result.resolution_hz,
            "t": (np.arange(len(disp)) / result.fps).tolist(), "dx": disp[:, 0].tolist(), "dy": disp[:, 1].tolist(),
            "freqs": np.asarray(roi.freqs).tolist(), "amp_x": amp[:, 0].tolist(), "amp_y": amp[:, 1].tolist(),
            "bin_freqs": np.asarray(roi.bin_freqs).tolist(), "threshold_x": threshold[:, 0].tolist(),
            "threshold_y": threshold[:, 1].tolist(), "peaks": doc["peaks"]}


def _png(frame: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(frame).save(buf, format="PNG")
    return buf.getvalue()


def _data_url(frame: np.ndarray) -> str:
    return "data:image/png;base64," + base64.b64encode(_png(frame)).decode("ascii")
