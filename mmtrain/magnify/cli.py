"""``mmtrain magnify`` and ``mmtrain make-demo-video``: the command-line face of :mod:`mmtrain.magnify.pipeline`.

Option values come, in increasing priority, from the schema defaults, the ``magnify`` section of a
``--config`` file, a Table A.1 ``--preset`` and the flags given on the command line.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mmdata.errors import ConfigError

if TYPE_CHECKING:
    from mmtrain.video.clip import ClipSelection

__all__ = ["register", "run_magnify", "run_make_demo_video", "clip_selection"]

log = logging.getLogger(__name__)

_SETTINGS_KEYS = ("method", "alpha", "mode", "filter", "band", "fps", "order", "batch", "official_fir", "fir_taps",
                  "fir_memory_mb", "allow_leaky_fir", "call_pixels", "channels_last", "precision", "border", "compile",
                  "threads", "backend")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``magnify`` and ``make-demo-video`` sub-commands."""
    # light modules only (no torch, scipy, zarr...): `mmtrain magnify --help` imports what it shows
    from mmtrain.analysis.peakband import add_roi_option
    from mmtrain.magnify.methodnames import DEPRECATED_METHODS, METHODS, MODES
    from mmtrain.magnify.presets import PRESETS
    from mmtrain.model.registry import DEFAULT_MODEL
    from mmtrain.temporal.kinds import FILTER_KINDS, MAX_DC_GAIN, MAX_STOP_GAIN

    p = subparsers.add_parser(
        "magnify", help="magnify the motion in a video (network, phase_based or linear; static, dynamic, temporal)",
        description="Magnify the motion in a video. Static: against the first frame; dynamic: against the "
                    "previous frame; temporal: a band-pass of the shape representation (paper Eq. 4). Unset "
                    "options come from --preset, then --config's magnify section. An FIR band-pass whose DC "
                    f"gain exceeds {MAX_DC_GAIN:g} or whose gain an octave outside the band exceeds "
                    f"{MAX_STOP_GAIN:g} is refused (exit 2); its effective -3 dB band is reported when wider "
                    "than asked.")
    p.add_argument("input", help="video to magnify (a rotation flag is applied: frames in display orientation)")
    p.add_argument("-o", "--out", required=True,
                   help="output: a video (.mp4/.m4v/.mov/.mkv/.avi, H.264, lossy; .mkv/.avi with --codec ffv1, "
                        "lossless), or a folder/ or NAME%%05d.png for a PNG sequence; never the input")
    p.add_argument("--method", choices=METHODS + tuple(DEPRECATED_METHODS), metavar="{" + ",".join(METHODS) + "}",
                   help="network (default), phase_based (Wadhwa 2013) or linear (Wu 2012); "
                        "phase-based is a deprecated spelling of phase_based")
    p.add_argument("--alpha", type=float, help="magnification factor")
    p.add_argument("--mode", choices=MODES, help="static | dynamic | temporal")
    p.add_argument("--filter", choices=FILTER_KINDS, help="temporal filter")
    p.add_argument("--band", nargs="+", metavar="LOW HIGH|peak[:K]",
                   help="pass band in Hz, LOW HIGH; or peak (peak:K): the band of the largest (K-th largest) peak "
                        "of the clip's motion spectrum, as `mmtrain spectrum` finds it (regions: --peak-roi)")
    p.add_argument("--fps", type=float, help="sampling rate the band refers to (default: the video's / --stride)")
    p.add_argument("--order", type=int, help="Butterworth order (as scipy.signal.butter; default 2)")
    p.add_argument("--trim", type=int, default=0,
                   help="magnify but do not write the first N frames (the Butterworth / diff-iir start-up)")
    p.add_argument("--allow-leaky-fir", action="store_true", default=None,
                   help="run an FIR that fails the DC / stop-band check anyway (with a warning)")
    p.add_argument("--preset", help=f"a sequence of the paper's Table A.1: {', '.join(PRESETS)}")
    p.add_argument("--model", metavar="SPEC",
                   help="the network: a released model's name (mmtrain models list), a name registered by "
                        "`mmtrain models fetch` (official), our checkpoint (.pt), the authors' weights.npz or a TF "
                        f"checkpoint prefix (default: magnify.model of --config, else {DEFAULT_MODEL})")
    p.add_argument("--checkpoint", metavar="SPEC", help="deprecated: use --model")
    p.add_argument("--model-preset", choices=("paper", "official"), help="architecture the model must hold")
    _add_clip_options(p)
    _add_region_options(p)
    _add_output_options(p)
    p.add_argument("--batch", type=int, help="frames per network call")
    p.add_argument("--device", help="auto (CUDA when available), cpu, cuda, cuda:N")
    p.add_argument("--backend", choices=("torch", "numpy", "openvino", "onnxruntime"),
                   help="what runs the method: torch (default; on --device), numpy (phase_based only; the same "
                        "numbers), openvino or onnxruntime (network only, on the CPU: an exported graph, equal "
                        "within float rounding; the openvino extra)")
    p.add_argument("--threads", type=int, help="CPU threads (default: the CPUs this process may use)")
    p.add_argument("--precision", choices=("fp32", "bf16", "bf16-decoder", "fp16"),
                   help="network precision (default fp32): bf16 autocast everywhere, bf16-decoder the decoder "
                        "alone (no error multiplied by alpha), fp16 on CUDA only; bf16 is fast only where the CPU "
                        "has bf16 instructions (AVX-512 BF16, AMX) or on a GPU")
    p.add_argument("--border", choices=("copy", "strips"),
                   help="how reflect-padded convolutions compute their border: one padded copy (default; fewer "
                        "operations) or thin strips (no copy); the same result within float rounding")
    p.add_argument("--compile", action="store_true", default=None, help="torch.compile the network")
    p.add_argument("--official-fir", action="store_true", default=None,
                   help="FIR as the authors' code: last frame's shape as reference, their tap placement")
    p.add_argument("--fir-taps", type=int, help="FIR taps (default: as many as frames)")
    p.add_argument("--fir-memory-mb", type=float, help="memory budget of the FIR filtering step")
    p.add_argument("--work-dir", help="folder for the FIR mode's temporary Zarr store")
    p.add_argument("--config", help="YAML configuration; its `magnify` section supplies defaults")
    add_roi_option(p, "--peak-roi", what="take --band peak from", default="the --roi region, else the whole frame")
    p.set_defaults(func=run_magnify)

    d = subparsers.add_parser(
        "make-demo-video", help="synthesize a video of a built-in photograph moving by a known sinusoid",
        description="Write a demo video: a scikit-image photograph translated by amplitude*sin(2 pi freq t) "
                    "pixels with cubic-spline interpolation (sub-pixel exact), for trying `mmtrain magnify`.")
    d.add_argument("-o", "--out", required=True, help="video to write (.mp4, .m4v, .mov, .mkv or .avi)")
    d.add_argument("--frames", type=int, help="number of frames")
    d.add_argument("--size", type=int, nargs=2, metavar=("W", "H"), help="frame size in pixels")
    d.add_argument("--amplitude", type=float, help="motion amplitude in pixels")
    d.add_argument("--freq", type=float, help="motion frequency in Hz")
    d.add_argument("--fps", type=float, help="frame rate")
    d.add_argument("--direction", type=float, nargs=2, metavar=("DX", "DY"), help="motion direction")
    d.add_argument("--image", help="built-in photograph (astronaut, coffee, chelsea, rocket)")
    d.add_argument("--config", help="YAML configuration; its `magnify.demo` section supplies defaults")
    d.set_defaults(func=run_make_demo_video)


def _add_clip_options(p: argparse.ArgumentParser, *, verb: str = "magnify", resize: bool = True) -> None:
    """Frame range, stride, crop and resize (applied while decoding, in display orientation).

    Args:
        p: the sub-command's parser.
        verb: what the command does with the frames, for the help text.
        resize: also ``--resize`` and ``--scale`` (``mmtrain spectrum`` has its own ``--scale``).
    """
    p.add_argument("--start", type=int, default=0, help=f"first frame to {verb} (0-based; default 0)")
    p.add_argument("--frames", type=int,
                   help=f"number of frames to {verb} (after --stride; default: to the end). A file whose stream "
                        "ends before its declared length (truncated) is an error (exit 2) naming the frames read "
                        "and declared, unless --frames selects only frames it holds")
    p.add_argument("--stride", type=int, default=1, help="keep every N-th frame (the frame rate becomes fps/N)")
    p.add_argument("--crop", type=int, nargs=4, metavar=("X", "Y", "W", "H"), help=f"{verb} only this rectangle")
    if resize:
        p.add_argument("--resize", type=int, nargs=2, metavar=("W", "H"),
                       help="resize (after --crop) to W x H (at most 8192 x 4320 pixels in all)")
        p.add_argument("--scale", type=float,
                       help="resize (after --crop) by this factor (the result: at most 8192 x 4320 pixels in all)")


def clip_selection(args: argparse.Namespace, *, resize: bool = True) -> "ClipSelection":
    """The :class:`~mmtrain.video.clip.ClipSelection` of the options of :func:`_add_clip_options`."""
    from mmtrain.video.clip import ClipSelection

    return ClipSelection(start=args.start, frames=args.frames, stride=args.stride,
                         crop=tuple(args.crop) if args.crop else None,
                         resize=tuple(args.resize) if resize and args.resize else None,
                         scale=args.scale if resize else None)


def _add_region_options(p: argparse.ArgumentParser) -> None:
    """A region of interest: magnify a rectangle only, with a feathered edge."""
    from mmtrain.magnify.roi import DEFAULT_FEATHER

    p.add_argument("--roi", type=int, nargs=4, metavar=("X", "Y", "W", "H"),
                   help="magnify only this rectangle of the frame (after --crop/--resize; columns X..X+W-1, rows "
                        "Y..Y+H-1), blended into the input over --feather pixels; every pixel farther than that is "
                        "the input's, byte for byte with a lossless output. A rectangle reaching outside the frame "
                        "is an error (exit 2)")
    p.add_argument("--feather", type=int, metavar="PX",
                   help=f"width of the --roi rectangle's blended edge in pixels (raised cosine; 0: a hard edge; "
                        f"default {DEFAULT_FEATHER})")


def _add_output_options(p: argparse.ArgumentParser) -> None:
    """Codec, quality, the views (side by side, difference, slices) and exported frames."""
    p.add_argument("--codec", choices=("h264", "ffv1"),
                   help="h264 (default; lossy 4:2:0) or ffv1 (lossless RGB; .mkv or .avi)")
    p.add_argument("--crf", type=int, default=17, help="H.264 quality: 0 best .. 51 worst (default 17)")
    p.add_argument("--side-by-side", action="store_true", default=None, help="write input | output side by side")
    p.add_argument("--difference", type=float, metavar="GAIN",
                   help="add a heat-map panel of GAIN x |output - input| (mean over RGB)")
    p.add_argument("--slice", action="append", metavar="x:ROW|y:COL",
                   help="write an x-t (along ROW) or y-t (along COL) slice PNG; repeat for several; "
                        "'x' or 'y' alone takes the line from --at")
    p.add_argument("--at", type=int, help="row (x-t) or column (y-t) of a lone 'x'/'y' --slice")
    p.add_argument("--slice-output", help="PNG of the slice, one --slice only (default: OUT_xt-row<ROW>.png ...)")
    p.add_argument("--frames-png", metavar="I,J,...",
                   help="also write these output frames (indices into the selected clip) as OUT_frameNNNNN.png")


def _section(args: argparse.Namespace) -> dict[str, Any]:
    """The ``magnify`` section of ``--config`` (validated), or the schema's defaults of that section."""
    from mmdata.config import load_config, section_defaults  # here: --help needs no schema (yaml)

    if not args.config:  # the defaults validate: no jsonschema to import for them
        return section_defaults("magnify")
    return dict(load_config(args.config)["magnify"])


def _merge_magnify(args: argparse.Namespace) -> dict[str, Any]:
    """Config section, then preset, then explicit flags."""
    from mmtrain.magnify.presets import get_preset

    values = _section(args)
    preset_name = args.preset or values.get("preset")
    if preset_name:
        preset = get_preset(preset_name)
        values.update({k: getattr(preset, k) for k in ("alpha", "mode", "filter", "band", "fps")
                       if getattr(preset, k) is not None})
    for key in _SETTINGS_KEYS + ("model_preset", "side_by_side", "device", "work_dir"):
        if getattr(args, key, None) is not None:
            values[key] = getattr(args, key)
    return values


def _slices(args: argparse.Namespace, values: dict[str, Any]) -> list:
    """The slice specs of ``--slice`` (several) or of the config's ``magnify.slice``."""
    from mmtrain.magnify.videofile import SliceSpec, parse_slice

    slice_cfg = values.get("slice") or {}
    if args.slice:
        specs = [parse_slice(text, args.at) for text in args.slice]
    elif slice_cfg.get("axis"):
        specs = [parse_slice(slice_cfg["axis"], args.at if args.at is not None else slice_cfg.get("at"))]
    else:
        specs = []
    if args.slice_output:
        if len(specs) != 1:
            raise ConfigError("slice_output: --slice-output names one PNG; give exactly one --slice")
        specs = [SliceSpec(specs[0].axis, specs[0].at, args.slice_output)]
    return specs


def _frame_indices(text: str | None) -> list[int]:
    if not text:
        return []
    try:
        return sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError:
        raise ConfigError(f"frames_png: expected frame indices like 0,10,20, got {text!r}") from None


def _model_spec(args: argparse.Namespace, values: dict[str, Any]) -> str | None:
    """The model: ``--model``, the deprecated ``--checkpoint``, then the config's ``magnify.model`` (or its
    deprecated ``magnify.checkpoint``); ``None``: the default model (named in the log when it is loaded)."""
    if args.checkpoint is not None:
        log.warning("--checkpoint is deprecated; use --model")
        if args.model is not None and args.model != args.checkpoint:
            raise ConfigError(f"model: given twice, as --model {args.model} and --checkpoint {args.checkpoint}")
    if values.get("checkpoint") is not None:
        log.warning("magnify.checkpoint is deprecated; use magnify.model")
        if values.get("model") is not None and values["model"] != values["checkpoint"]:
            raise ConfigError(f"magnify.model: given twice, as magnify.model {values['model']} and "
                              f"magnify.checkpoint {values['checkpoint']}")
    return args.model or args.checkpoint or values.get("model") or values.get("checkpoint")


def run_magnify(args: argparse.Namespace) -> int:
    """Run ``mmtrain magnify``; prints the output path(s) and the speed."""
    from mmtrain.analysis.peakband import PeakChoice, parse_band_choice
    from mmtrain.magnify.pipeline import MagnifySettings
    from mmtrain.magnify.roi import Region
    from mmtrain.magnify.videofile import magnify_video

    choice = parse_band_choice(args.band)
    args.band = choice if isinstance(choice, tuple) else None
    values = _merge_magnify(args)
    model = _model_spec(args, values)
    if values.get("alpha") is None:
        raise ConfigError("alpha: no magnification factor given (--alpha or --preset)")
    selection = clip_selection(args)
    if isinstance(choice, PeakChoice):
        values["band"] = _peak_band(args, values, choice, selection)
    elif args.peak_roi:
        raise ConfigError("peak_roi: --peak-roi chooses the regions of --band peak; give --band peak or peak:K")
    band = values.get("band")
    settings = MagnifySettings(**{k: values[k] for k in _SETTINGS_KEYS if values.get(k) is not None}
                               | {"band": tuple(band) if band is not None else None})
    if args.feather is not None and args.roi is None:
        raise ConfigError("feather: --feather shapes the edge of a --roi region; give --roi X Y W H")
    roi = Region.parse(args.roi, args.feather) if args.roi is not None else None
    result = magnify_video(args.input, args.out, settings, model=model,
                           model_preset=values.get("model_preset"), device=values.get("device", "auto"),
                           selection=selection, side_by_side=bool(values.get("side_by_side")),
                           difference=args.difference, slices=_slices(args, values),
                           frames_png=_frame_indices(args.frames_png), work_dir=values.get("work_dir"),
                           codec=args.codec or values.get("codec") or "h264", crf=args.crf, trim=args.trim, roi=roi,
                           progress=not args.quiet)
    print(f"{result.output}: {result.n_frames} frames at {float(result.fps):g} fps in {result.seconds:.1f} s "
          f"({result.n_frames / max(result.seconds, 1e-9):.2f} frames/s)")
    for path in result.slice_images:
        print(f"{path}: slice image")
    for path in result.frame_images:
        print(f"{path}: frame")
    return 0


def _peak_band(args: argparse.Namespace, values: dict[str, Any], choice: Any,
               selection: "ClipSelection") -> tuple[float, float]:
    """``--band peak[:K]``: the band of that peak of the clip's motion spectrum (printed)."""
    from mmtrain.analysis.peakband import band_from_peak

    if values.get("mode") != "temporal":
        raise ConfigError(f"band: --band peak chooses a temporal band; it needs --mode temporal, not "
                          f"{values.get('mode')}")
    rois = args.peak_roi or ([args.roi] if args.roi is not None else None)  # the peak of the magnified region
    band, peak = band_from_peak(args.input, choice, selection=selection, rois=rois, fps=values.get("fps"),
                                progress=not args.quiet)
    print(f"band {band[0]:g} {band[1]:g} Hz: peak {choice.k} of the motion spectrum, {peak.freq_hz:.4g} Hz, "
          f"{peak.amplitude_px:.4g} px along {peak.axis}")
    return band


def run_make_demo_video(args: argparse.Namespace) -> int:
    """Run ``mmtrain make-demo-video``; prints the output path."""
    from mmtrain.magnify.demo import SinusoidVideo, demo_image
    from mmtrain.video.io import check_video_path, write_video

    check_video_path(args.out)  # before any frame is made
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
