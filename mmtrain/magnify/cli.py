"""``mmtrain magnify`` and ``mmtrain make-demo-video``: the command-line face of :mod:`mmtrain.magnify.pipeline`.

Option values come, in increasing priority, from the schema defaults, the ``magnify`` section of a
``--config`` file, a Table A.1 ``--preset`` and the flags given on the command line.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from mmdata.config import load_config, validate_config
from mmdata.errors import ConfigError

__all__ = ["register", "run_magnify", "run_make_demo_video"]

_SETTINGS_KEYS = ("alpha", "mode", "filter", "band", "fps", "order", "batch", "official_fir", "fir_taps",
                  "fir_memory_mb")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``magnify`` and ``make-demo-video`` sub-commands."""
    from mmtrain.magnify.filters import FILTER_KINDS
    from mmtrain.magnify.pipeline import MODES
    from mmtrain.magnify.presets import PRESETS

    p = subparsers.add_parser(
        "magnify", help="magnify the motion in a video (static, dynamic or temporal-filter mode)",
        description="Magnify the motion in a video with a trained network. Static: against the first frame; "
                    "dynamic: against the previous frame; temporal: a band-pass of the shape representation "
                    "(paper Eq. 4). Unset options come from --preset, then --config's magnify section.")
    p.add_argument("input", help="video to magnify")
    p.add_argument("-o", "--out", required=True, help="magnified video to write (.mp4, .mkv, .avi, .mov)")
    p.add_argument("--alpha", type=float, help="magnification factor")
    p.add_argument("--mode", choices=MODES, help="static | dynamic | temporal")
    p.add_argument("--filter", choices=FILTER_KINDS, help="temporal filter")
    p.add_argument("--band", type=float, nargs=2, metavar=("LOW", "HIGH"), help="pass band in Hz")
    p.add_argument("--fps", type=float, help="sampling rate the band refers to (default: the video's)")
    p.add_argument("--order", type=int, help="Butterworth order (as scipy.signal.butter; default 2)")
    p.add_argument("--preset", help=f"a sequence of the paper's Table A.1: {', '.join(PRESETS)}")
    p.add_argument("--checkpoint", help="our checkpoint, the authors' weights.npz, or a TF checkpoint prefix")
    p.add_argument("--model-preset", choices=("paper", "official"), help="architecture the checkpoint must hold")
    p.add_argument("--side-by-side", action="store_true", default=None, help="write input | output side by side")
    p.add_argument("--slice", choices=("x", "y"), help="also write an x-t (along row AT) or y-t (along column AT) slice PNG")
    p.add_argument("--at", type=int, help="row (x-t) or column (y-t) of the slice")
    p.add_argument("--slice-output", help="PNG of the slice (default: OUTPUT_xt-row<AT>.png / _yt-col<AT>.png)")
    p.add_argument("--batch", type=int, help="frames per network call")
    p.add_argument("--device", help="auto (CUDA when available), cpu, cuda, cuda:N")
    p.add_argument("--official-fir", action="store_true", default=None,
                   help="FIR as the authors' code: last frame's shape as reference, their tap placement")
    p.add_argument("--fir-taps", type=int, help="FIR taps (default: as many as frames)")
    p.add_argument("--fir-memory-mb", type=float, help="memory budget of the FIR filtering step")
    p.add_argument("--work-dir", help="folder for the FIR mode's temporary Zarr store")
    p.add_argument("--config", help="YAML configuration; its `magnify` section supplies defaults")
    p.set_defaults(func=run_magnify)

    d = subparsers.add_parser(
        "make-demo-video", help="synthesize a video of a built-in photograph moving by a known sinusoid",
        description="Write a demo video: a scikit-image photograph translated by amplitude*sin(2 pi freq t) "
                    "pixels with cubic-spline interpolation (sub-pixel exact), for trying `mmtrain magnify`.")
    d.add_argument("-o", "--out", required=True, help="video to write")
    d.add_argument("--frames", type=int, help="number of frames")
    d.add_argument("--size", type=int, nargs=2, metavar=("W", "H"), help="frame size in pixels")
    d.add_argument("--amplitude", type=float, help="motion amplitude in pixels")
    d.add_argument("--freq", type=float, help="motion frequency in Hz")
    d.add_argument("--fps", type=float, help="frame rate")
    d.add_argument("--direction", type=float, nargs=2, metavar=("DX", "DY"), help="motion direction")
    d.add_argument("--image", help="built-in photograph (astronaut, coffee, chelsea, rocket)")
    d.add_argument("--config", help="YAML configuration; its `magnify.demo` section supplies defaults")
    d.set_defaults(func=run_make_demo_video)


def _section(args: argparse.Namespace) -> dict[str, Any]:
    """The ``magnify`` section of ``--config`` (or of the defaults), validated."""
    cfg = load_config(args.config) if args.config else validate_config({})
    return dict(cfg["magnify"])


def _merge_magnify(args: argparse.Namespace) -> dict[str, Any]:
    """Config section, then preset, then explicit flags."""
    from mmtrain.magnify.presets import get_preset

    values = _section(args)
    preset_name = args.preset or values.get("preset")
    if preset_name:
        preset = get_preset(preset_name)
        values.update({k: getattr(preset, k) for k in ("alpha", "mode", "filter", "band", "fps")
                       if getattr(preset, k) is not None})
    for key in _SETTINGS_KEYS + ("checkpoint", "model_preset", "side_by_side", "device", "work_dir"):
        if getattr(args, key, None) is not None:
            values[key] = getattr(args, key)
    return values


def run_magnify(args: argparse.Namespace) -> int:
    """Run ``mmtrain magnify``; prints the output path(s) and the speed."""
    from mmtrain.magnify.pipeline import MagnifySettings, magnify_video

    values = _merge_magnify(args)
    slice_cfg = values.get("slice") or {}
    axis = args.slice or slice_cfg.get("axis")
    at = args.at if args.at is not None else slice_cfg.get("at")
    if values.get("checkpoint") is None:
        raise ConfigError("checkpoint: no checkpoint given (--checkpoint PATH or magnify.checkpoint in --config)")
    if values.get("alpha") is None:
        raise ConfigError("alpha: no magnification factor given (--alpha or --preset)")
    band = values.get("band")
    settings = MagnifySettings(**{k: values[k] for k in _SETTINGS_KEYS if values.get(k) is not None}
                               | {"band": tuple(band) if band is not None else None})
    result = magnify_video(args.input, args.out, settings, checkpoint=values["checkpoint"],
                           model_preset=values.get("model_preset"), device=values.get("device", "auto"),
                           side_by_side=bool(values.get("side_by_side")), slice_axis=axis, slice_at=at,
                           slice_output=args.slice_output, work_dir=values.get("work_dir"),
                           codec=values.get("codec", "libx264"), progress=not args.quiet)
    print(f"{result.output}: {result.n_frames} frames at {float(result.fps):g} fps in {result.seconds:.1f} s "
          f"({result.n_frames / max(result.seconds, 1e-9):.2f} frames/s)")
    if result.slice_image is not None:
        print(f"{result.slice_image}: slice image")
    return 0


def run_make_demo_video(args: argparse.Namespace) -> int:
    """Run ``mmtrain make-demo-video``; prints the output path."""
    from mmtrain.magnify.demo import SinusoidVideo, demo_image
    from mmtrain.magnify.video import write_video

    demo = dict(_section(args).get("demo") or {})
    flags = {k: v for k, v in vars(args).items() if v is not None}
    for key in ("frames", "amplitude", "freq", "fps", "image", "direction"):
        if key in flags:
            demo[key] = flags[key]
    if "size" in flags:
        demo["width"], demo["height"] = flags["size"]
    if demo["frames"] < 1:
        raise ConfigError(f"frames: expected at least 1 frame, got {demo['frames']}")
    video = SinusoidVideo(demo_image(demo["image"]), size=(demo["width"], demo["height"]),
                          amplitude=demo["amplitude"], freq=demo["freq"], fps=demo["fps"],
                          direction=tuple(demo["direction"]))
    n = write_video(Path(args.out), video.frames(demo["frames"]), demo["fps"])
    print(f"{args.out}: {n} frames, {demo['width']}x{demo['height']} at {demo['fps']:g} fps, "
          f"{demo['amplitude']:g} px sinusoid at {demo['freq']:g} Hz")
    return 0
