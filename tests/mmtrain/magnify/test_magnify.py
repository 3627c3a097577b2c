"""Magnifying videos: mode logic, Eq. 4, the FIR spill, the authors' weights on known motions, the CLI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy import ndimage, signal
from skimage import data as skdata
from skimage.transform import rescale

from mmdata.errors import ConfigError
from mmdata.render.measure import estimate_shift
from mmtrain.cli import main
from mmtrain.temporal.filters import fir_filter, fir_response, iir_lowpass_coefficient
from mmtrain.magnify.pipeline import MagnifySettings, magnify_frames
from mmtrain.magnify.presets import PRESETS, get_preset
from mmtrain.temporal.spill import RepresentationSpill
from mmtrain.video.io import VideoReader, probe_video, write_video

FPS = 30.0


# ------------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------------

class LinearStandIn(torch.nn.Module):
    """Test stand-in with MagNet's interface and an exactly linear manipulator.

    The "shape" of a frame is its mean value, the texture is empty and decoding paints the shape, so
    a clip of flat frames with values s_t must come out as the mode's formula applied to s_t.
    """

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        b, _, h, w = x.shape
        assert h % 4 == 0 and w % 4 == 0
        shape = x.mean(dim=(1, 2, 3)).reshape(b, 1, 1, 1).expand(b, 2, h // 2, w // 2).contiguous()
        return torch.zeros(b, 1, h // 4, w // 4), shape

    def magnify_delta(self, delta: torch.Tensor, alpha: float) -> torch.Tensor:
        return alpha * delta

    def manipulate(self, a: torch.Tensor, b: torch.Tensor, alpha: float) -> torch.Tensor:
        return a + self.magnify_delta(b - a, alpha)

    def decode(self, texture: torch.Tensor, shape: torch.Tensor) -> torch.Tensor:
        return F.interpolate(shape[:, :1], scale_factor=2).expand(-1, 3, -1, -1)


def _flat_clip(values: np.ndarray, height: int = 6, width: int = 10) -> np.ndarray:
    return np.broadcast_to(values.astype(np.uint8)[:, None, None, None], (len(values), height, width, 3)).copy()


def _run(model, frames: np.ndarray, settings: MagnifySettings, *, batch_in: int = 5, n_frames: int | None = None,
         **kwargs) -> np.ndarray:
    settings = settings.resolve(FPS, len(frames))
    batches = [frames[i:i + batch_in] for i in range(0, len(frames), batch_in)]
    return np.concatenate(list(magnify_frames(model, batches, settings, n_frames=n_frames or len(frames), **kwargs)))


def _photo(size: int) -> np.ndarray:
    """A textured 2*size square of scikit-image's astronaut (float RGB, 0-255)."""
    img = rescale(skdata.astronaut().astype(float), 0.5, channel_axis=-1, anti_aliasing=True, preserve_range=True)
    return img[40:40 + 2 * size, 60:60 + 2 * size]


def _shifted_clip(canvas: np.ndarray, dx: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """Frames of the centre of ``canvas`` translated exactly (Fourier shift) by (dx_t, dy_t), uint8."""
    spectra = [np.fft.fft2(canvas[..., c]) for c in range(3)]
    s = canvas.shape[0] // 2
    out = []
    for x, y in zip(dx, dy):
        img = np.stack([np.fft.ifft2(ndimage.fourier_shift(f, (y, x))).real for f in spectra], axis=-1)
        out.append(np.clip(np.round(img[s // 2:s // 2 + s, s // 2:s // 2 + s]), 0, 255).astype(np.uint8))
    return np.stack(out)


def _amplitude(y: np.ndarray, f: float) -> float:
    """Amplitude of the sinusoid at ``f`` Hz in the series ``y`` sampled at FPS."""
    b = np.exp(2j * np.pi * f * np.arange(len(y)) / FPS)
    return float(abs(2.0 * np.vdot(b - b.mean(), y) / len(y)))


@pytest.fixture(scope="module")
def weights(shared_data) -> Path:
    return shared_data / "official_checkpoint" / "weights.npz"


@pytest.fixture(scope="module")
def official(weights):
    from mmtrain.model.checkpoint import load_model

    return load_model(weights)


# ------------------------------------------------------------------------------------------------
# mode logic (stand-in network, exact formulas)
# ------------------------------------------------------------------------------------------------

S = np.array([100, 104, 97, 110, 101, 99, 108, 95, 103], dtype=float)  # frame values; s = v/127.5 - 1
ALPHA = 3.0


def _expect(y: np.ndarray) -> np.ndarray:
    return np.round((np.clip(y, -1, 1) + 1) * 127.5)


def _values(out: np.ndarray) -> np.ndarray:
    assert (out == out[:, :1, :1, :1]).all()
    return out[:, 0, 0, 0].astype(float)


@pytest.mark.parametrize("batch", [1, 2, 4])
def test_static_and_dynamic_references(batch):
    s = S / 127.5 - 1
    clip = _flat_clip(S)
    static = _values(_run(LinearStandIn(), clip, MagnifySettings(alpha=ALPHA, mode="static", batch=batch)))
    np.testing.assert_allclose(static, _expect(s[0] + ALPHA * (s - s[0])), atol=1)
    dynamic = _values(_run(LinearStandIn(), clip, MagnifySettings(alpha=ALPHA, mode="dynamic", batch=batch)))
    prev = np.concatenate([s[:1], s[:-1]])
    np.testing.assert_allclose(dynamic, _expect(prev + ALPHA * (s - prev)), atol=1)


@pytest.mark.parametrize("kind", ["butter", "diff-iir"])
def test_streaming_temporal_mode_is_eq4_with_state_across_batches(kind):
    s = S / 127.5 - 1
    band = (2.0, 6.0)
    if kind == "butter":
        sos = signal.butter(2, band, btype="bandpass", fs=FPS, output="sos")
        filtered, _ = signal.sosfilt(sos, s, zi=signal.sosfilt_zi(sos) * s[0])
    else:
        r1, r2 = iir_lowpass_coefficient(band[1], FPS), iir_lowpass_coefficient(band[0], FPS)
        filtered = signal.lfilter([r1 - r2, r2 - r1], [1, -(2 - r1 - r2), (1 - r1) * (1 - r2)], s - s[0])
    out = _values(_run(LinearStandIn(), _flat_clip(S), MagnifySettings(
        alpha=ALPHA, mode="temporal", filter=kind, band=band, batch=2)))
    np.testing.assert_allclose(out, _expect(s + ALPHA * filtered), atol=1)


@pytest.mark.parametrize("official_fir, n_frames", [(False, None), (True, None), (False, 5), (False, 20)])
def test_fir_temporal_mode_eq4_and_the_authors_variant(tmp_path, official_fir, n_frames):
    """Eq. 4 uses each frame's own shape; the authors' code uses the last frame's. A wrong frame
    count from the container (5 or 20 for 9 frames) must not change the result."""
    s = S / 127.5 - 1
    band = (3.0, 9.0)
    filtered = fir_filter(s, fir_response(len(s), band, FPS, official=official_fir))
    base = np.full_like(s, s[-1]) if official_fir else s
    out = _values(_run(LinearStandIn(), _flat_clip(S), MagnifySettings(
        alpha=ALPHA, mode="temporal", filter="fir", band=band, batch=4, official_fir=official_fir,
        allow_leaky_fir=True),  # 9 frames: far too short for a band-pass, but Eq. 4 must hold
        n_frames=n_frames, work_dir=tmp_path))
    np.testing.assert_allclose(out, _expect(base + ALPHA * filtered), atol=1)
    assert list(tmp_path.iterdir()) == []  # the spill store is gone


def test_fir_tilewise_filtering_equals_in_memory(tmp_path):
    rng = np.random.default_rng(3)
    t, c, h, w = 23, 5, 13, 11
    shape = rng.normal(size=(t, c, h, w)).astype(np.float32)
    texture = rng.normal(size=(t, 2, 7, 6)).astype(np.float32)
    response = fir_response(t, (2.0, 8.0), FPS)
    with RepresentationSpill(t, (2, 7, 6), (c, h, w), batch=4, memory_bytes=2 * 8 * t * c * 4 * 9,
                             workers=2, work_dir=tmp_path) as spill:
        assert spill.side == 3  # 3x3-pixel tiles (8 copies of a tile per worker fit the budget): 5 x 4 pieces
        for i in range(0, t, 4):
            spill.append(texture[i:i + 4], shape[i:i + 4])
        spill.filter(response, progress=False)
        got_tex, got_shape, got_filtered = zip(*(spill.read(i, i + 4) for i in range(0, t, 4)))
    np.testing.assert_array_equal(np.concatenate(got_tex), texture)
    np.testing.assert_array_equal(np.concatenate(got_shape), shape)
    np.testing.assert_allclose(np.concatenate(got_filtered), fir_filter(shape, response, axis=0), atol=1e-6)
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------------------------------
# the authors' weights on known motions
# ------------------------------------------------------------------------------------------------

def test_static_mode_magnifies_a_subpixel_sinusoid_by_alpha(official):
    """Content moving by 0.3 sin(2 pi t / 8) px, magnified 10x: the measured output displacement is
    10x the input's (least-squares gain; measured about 1.0 of alpha)."""
    alpha = 10.0
    d = 0.3 * np.sin(2 * np.pi * np.arange(8) / 8)
    clip = _shifted_clip(_photo(64), d, np.zeros_like(d))
    out = _run(official, clip, MagnifySettings(alpha=alpha, mode="static", batch=4))
    measured = np.array([estimate_shift(out[0], out[t]) for t in range(len(d))])
    true_in = np.array([estimate_shift(clip[0], clip[t])[0] for t in range(len(d))])
    np.testing.assert_allclose(true_in, d, atol=0.02)  # the clip really moves by d
    gain = float(measured[:, 0] @ d / (d @ d))
    assert gain == pytest.approx(alpha, rel=0.15)
    assert np.abs(measured[:, 1]).max() < 0.1 * alpha * 0.3  # little motion made up across the motion


def test_still_video_stays_unchanged_at_alpha_20(tmp_path, weights, capsys):
    """A still photograph with independent sensor noise (std 2) per frame, through the CLI."""
    rng = np.random.default_rng(5)
    img = _photo(64)[32:96, 32:96]
    frames = [np.clip(np.round(img + rng.normal(0, 2.0, img.shape)), 0, 255).astype(np.uint8) for _ in range(4)]
    write_video(tmp_path / "still.mp4", frames, FPS, crf=0)  # lossless: the noise stays in
    assert main(["magnify", str(tmp_path / "still.mp4"), "-o", str(tmp_path / "out.mp4"), "--alpha", "20",
                 "--mode", "static", "--checkpoint", str(weights)]) == 0
    src, out = (np.stack(list(VideoReader(tmp_path / n))).astype(float) for n in ("still.mp4", "out.mp4"))
    assert np.abs(out - src).mean() < 6.0  # reconstruction error of the network, in gray levels
    flicker_in = np.abs(src[1:] - src[0]).mean()
    flicker_out = np.abs(out[1:] - out[0]).mean()
    assert flicker_out <= flicker_in  # the noise is not magnified
    assert max(np.abs(estimate_shift(out[0], o)).max() for o in out[1:]) < 0.05  # no motion appears


@pytest.mark.slow
def test_fir_magnifies_the_in_band_motion_and_not_the_other(official, tmp_path):
    """x moves at 2 Hz and y at 9 Hz (0.3 px each, 30 fps, 30 frames); a 1-4 Hz FIR at alpha 10
    magnifies x about 7x and leaves y unmagnified (measured gain about 0.1-1)."""
    t = np.arange(30)
    dx, dy = 0.3 * np.sin(2 * np.pi * 2.0 * t / FPS), 0.3 * np.sin(2 * np.pi * 9.0 * t / FPS)
    clip = _shifted_clip(_photo(48), dx, dy)
    out = _run(official, clip, MagnifySettings(alpha=10.0, mode="temporal", filter="fir", band=(1.0, 4.0), batch=8,
                                               allow_leaky_fir=True),
               work_dir=tmp_path)
    measured = np.array([estimate_shift(out[0], o) for o in out])
    gain_in_band = _amplitude(measured[:, 0], 2.0) / 0.3
    gain_out_of_band = _amplitude(measured[:, 1], 9.0) / 0.3
    assert gain_in_band > 5.0 and gain_out_of_band < 1.5
    assert gain_in_band / gain_out_of_band > 5.0


def test_each_filter_selects_its_band_in_the_shape_representation(official):
    """The encoder's shape representation of a 1 Hz + 9 Hz motion, filtered pixel-wise with a
    0.5-2 Hz band: the 1 Hz content is kept, the 9 Hz content suppressed (ratios measured here:
    FIR > 50, Butterworth > 10, difference of IIR > 2, which is a gentle band-pass)."""
    from mmtrain.temporal.filters import make_streaming_filter
    from mmtrain.magnify.pipeline import frames_to_tensor

    t = np.arange(90)
    d = 0.3 * np.sin(2 * np.pi * 1.0 * t / FPS) + 0.3 * np.sin(2 * np.pi * 9.0 * t / FPS)
    clip = _shifted_clip(_photo(32), d, np.zeros_like(d))
    with torch.no_grad():
        shape = torch.cat([official.encode(frames_to_tensor(clip[i:i + 15]))[1] for i in range(0, 90, 15)])
    series = shape.numpy().reshape(90, -1).astype(np.float64)
    band = (0.5, 2.0)
    filtered = {"fir": fir_filter(series, fir_response(90, band, FPS), axis=0)}
    for kind in ("butter", "diff-iir"):
        f = make_streaming_filter(kind, band, FPS)
        filtered[kind] = torch.cat([f(torch.from_numpy(series[i:i + 15])) for i in range(0, 90, 15)]).numpy()

    def energy(y: np.ndarray, freq: float, start: int) -> float:
        b = np.exp(2j * np.pi * freq * t[start:] / FPS)
        return float(np.linalg.norm(b.conj() @ (y[start:] - y[start:].mean(axis=0))))

    for kind, min_ratio in (("fir", 50.0), ("butter", 10.0), ("diff-iir", 2.0)):
        start = 0 if kind == "fir" else 45
        gain_1 = energy(filtered[kind], 1.0, start) / energy(series, 1.0, start)
        gain_9 = energy(filtered[kind], 9.0, start) / energy(series, 9.0, start)
        assert gain_1 > 0.5 and gain_1 / gain_9 > min_ratio, (kind, gain_1, gain_9)


def test_official_fir_reproduces_the_authors_temporal_outputs(official, shared_data, tmp_path):
    """Golden case d2 (baby, 16 frames, FIR 3-8 Hz, 15 taps, alpha 20) to float precision."""
    import mmtrain.magnify.pipeline as magnify

    g = np.load(shared_data / "official_golden" / "case_d2_baby_temporal_fir_3to8hz_amp20.npz")
    raw: list[np.ndarray] = []
    real = magnify.tensor_to_frames

    def keep_raw(y: torch.Tensor, h: int, w: int) -> np.ndarray:
        raw.append(y.permute(0, 2, 3, 1).numpy())
        return real(y, h, w)

    settings = MagnifySettings(alpha=float(g["amplification_factor"]), mode="temporal", filter="fir",
                               band=(float(g["fl"]), float(g["fh"])), fps=float(g["fs"]), batch=8,
                               official_fir=True, fir_taps=int(g["n_filter_tap"]), fir_memory_mb=0.5,
                               allow_leaky_fir=True)
    magnify.tensor_to_frames = keep_raw
    try:
        out = _run(official, g["frames_uint8"], settings, work_dir=tmp_path)
    finally:
        magnify.tensor_to_frames = real
    np.testing.assert_allclose(np.concatenate(raw), g["outputs_raw"], atol=1e-4)
    assert out.shape == g["frames_uint8"].shape


@pytest.mark.slow
def test_spill_reproduces_the_authors_filtered_shapes(official, shared_data, tmp_path):
    """Golden case d: the FIR-filtered shape representations, through the tile-wise spill."""
    from mmtrain.magnify.pipeline import frames_to_tensor

    d = np.load(shared_data / "official_golden" / "case_d_baby_temporal_fir_amp20.npz")
    with torch.no_grad():
        texture, shape = official.encode(frames_to_tensor(d["frames_uint8"]))
    response = fir_response(16, (float(d["fl"]), float(d["fh"])), float(d["fs"]), numtaps=15, official=True)
    with RepresentationSpill(16, tuple(texture.shape[1:]), tuple(shape.shape[1:]), batch=8, memory_bytes=2e6,
                             work_dir=tmp_path) as spill:
        for i in (0, 8):
            spill.append(texture[i:i + 8].numpy(), shape[i:i + 8].numpy())
        spill.filter(response, progress=False)
        filtered = np.stack([spill.read(i, i + 1)[2][0] for i in d["filtered_shape_frames_idx"]])
    np.testing.assert_allclose(filtered.transpose(0, 2, 3, 1), d["filtered_shape"], atol=1e-5)


# ------------------------------------------------------------------------------------------------
# command line
# ------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def demo_video(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "demo.mp4"
    assert main(["make-demo-video", "-o", str(path), "--frames", "8", "--size", "38", "30",
                 "--amplitude", "0.5", "--freq", "3", "--fps", "24"]) == 0
    return path


@pytest.mark.parametrize("mode_args", [
    ["--mode", "static"],
    ["--mode", "dynamic", "--side-by-side"],
    ["--mode", "temporal", "--filter", "fir", "--band", "2", "6", "--slice", "x", "--at", "10", "--allow-leaky-fir"],
    ["--mode", "temporal", "--filter", "butter", "--band", "2", "6", "--slice", "y", "--at", "37"],
    ["--preset", "baby"],
], ids=["static", "dynamic-side-by-side", "fir-xt-slice", "butter-yt-slice", "preset-baby"])
def test_cli_every_mode_keeps_size_fps_and_frame_count(demo_video, weights, tmp_path, capsys, mode_args):
    out = tmp_path / "out.mp4"
    rc = main(["magnify", str(demo_video), "-o", str(out), "--alpha", "5", "--checkpoint", str(weights),
               "--batch", "3", "--work-dir", str(tmp_path), *mode_args])
    assert rc == 0, capsys.readouterr().err
    src, got = probe_video(demo_video), probe_video(out)
    width = 2 * src.width if "--side-by-side" in mode_args else src.width
    assert (got.width, got.height, got.fps, got.n_frames) == (width, src.height, src.fps, src.n_frames)
    if "--slice" in mode_args:
        from PIL import Image

        axis = mode_args[mode_args.index("--slice") + 1]
        pngs = list(tmp_path.glob("out_*t-*.png"))
        assert len(pngs) == 1
        image = np.asarray(Image.open(pngs[0]))
        from mmtrain.video.slices import render_figure, slice_figure

        at = int(mode_args[mode_args.index("--at") + 1])
        line = np.zeros((8, 38, 3) if axis == "x" else (30, 8, 3), np.uint8)  # (T, W) or (H, T)
        want = render_figure(slice_figure(line, line, axis=axis, at=at, fps=24))  # input and output, labelled axes
        assert image.shape == want.shape
    assert "frames/s" in capsys.readouterr().out


def test_cli_takes_defaults_from_the_config_file(weights, tmp_path, capsys):
    config = tmp_path / "config.yaml"
    config.write_text(f"magnify:\n  checkpoint: {weights}\n  mode: dynamic\n  alpha: 4\n"
                      "  slice: {axis: x, at: 3}\n  demo: {frames: 5, width: 20, height: 16, fps: 12}\n")
    assert main(["make-demo-video", "-o", str(tmp_path / "demo.mp4"), "--config", str(config)]) == 0
    info = probe_video(tmp_path / "demo.mp4")
    assert (info.width, info.height, info.n_frames, info.fps) == (20, 16, 5, 12)
    assert main(["magnify", str(tmp_path / "demo.mp4"), "-o", str(tmp_path / "out.mp4"), "--config", str(config)]) == 0
    assert (tmp_path / "out_xt-row3.png").is_file() and probe_video(tmp_path / "out.mp4").n_frames == 5
    config.write_text("magnify:\n  mode: sideways\n")
    assert main(["magnify", str(tmp_path / "demo.mp4"), "-o", str(tmp_path / "x.mp4"), "--config", str(config)]) == 2
    assert "magnify.mode" in capsys.readouterr().err


def _zero_frame_video(path: Path) -> Path:
    import av

    container = av.open(str(path), "w")
    stream = container.add_stream("mpeg4", rate=30)
    stream.width = stream.height = 32
    container.start_encoding()
    container.close()
    return path


def _unknown_codec_video(path: Path, demo: Path) -> Path:
    path.write_bytes(demo.read_bytes().replace(b"avc1", b"zzzz"))
    return path


@pytest.mark.parametrize("case, extra, match", [
    ("not-video", [], "not a readable video"),
    ("zero-frames", [], "zero frames"),
    ("unknown-codec", [], "unsupported codec"),
    ("unwritable", [], "does not exist"),
    ("nyquist", ["--mode", "temporal", "--filter", "butter", "--band", "2", "12"], "Nyquist"),
    ("inverted", ["--mode", "temporal", "--filter", "fir", "--band", "6", "2"], "below the high"),
    ("no-band", ["--mode", "temporal"], "band"),
    ("slice-outside", ["--slice", "y", "--at", "38"], "outside the frame"),
    ("unknown-preset", ["--preset", "nope"], "unknown sequence preset"),
])
def test_cli_bad_input_fails_before_loading_the_model(demo_video, tmp_path, capsys, case, extra, match):
    """The checkpoint does not exist: every error below must come before the model is loaded."""
    src = {"not-video": lambda: (tmp_path / "a.mp4").write_text("text") and tmp_path / "a.mp4",
           "zero-frames": lambda: _zero_frame_video(tmp_path / "z.avi"),
           "unknown-codec": lambda: _unknown_codec_video(tmp_path / "u.mp4", demo_video)}.get(case, lambda: demo_video)()
    out = tmp_path / ("missing-folder/out.mp4" if case == "unwritable" else "out.mp4")
    rc = main(["magnify", str(src), "-o", str(out), "--alpha", "10", "--checkpoint", str(tmp_path / "no.npz"), *extra])
    err = capsys.readouterr().err
    assert rc == 2 and match in err and err.count("\n") == 1, err
    assert not out.exists() and not list(tmp_path.glob(".out*"))


def test_presets_cover_table_a1_with_valid_bands():
    assert {"crane", "baby", "guitar", "gun", "drum", "eye", "camera", "balance"} <= set(PRESETS)
    for preset in PRESETS.values():
        settings = MagnifySettings(alpha=preset.alpha, mode=preset.mode, filter=preset.filter or "fir",
                                   band=preset.band, fps=preset.fps)
        settings.resolve(preset.fps or 30.0, 2000)  # crane's 0.2-0.25 Hz at 24 fps needs over 300 frames
    baby = get_preset("baby")
    r = [iir_lowpass_coefficient(f, 30.0) for f in baby.band]
    np.testing.assert_allclose(r, [0.04, 0.4], rtol=1e-9)  # the authors' / Wadhwa's coefficients
    assert get_preset("guitar").filter == "butter" and get_preset("guitar").band == (72, 92)


def test_real_video_segment_end_to_end(shared_data, weights, tmp_path):
    """Eight 64x64 frames of baby.mp4 (over the chest) in static mode; full videos: the slow tests."""
    frames = []
    for frame in VideoReader(shared_data / "videos" / "baby.mp4"):
        frames.append(frame[224:288, 384:448])
        if len(frames) == 8:
            break
    write_video(tmp_path / "seg.mp4", frames, FPS)
    assert main(["magnify", str(tmp_path / "seg.mp4"), "-o", str(tmp_path / "out.mp4"), "--alpha", "10",
                 "--checkpoint", str(weights)]) == 0
    assert probe_video(tmp_path / "out.mp4").n_frames == 8


# ------------------------------------------------------------------------------------------------
# slow: whole videos, all modes; every filter's magnified selectivity
# ------------------------------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("video", ["baby.mp4", "guitar.mp4"])
@pytest.mark.parametrize("mode_args", [
    ["--mode", "static", "--alpha", "10"],
    ["--mode", "dynamic", "--alpha", "8"],
    ["--mode", "temporal", "--filter", "fir", "--band", "0.4", "3", "--alpha", "20"],
    ["--mode", "temporal", "--filter", "butter", "--band", "0.4", "3", "--alpha", "20"],
    ["--mode", "temporal", "--filter", "diff-iir", "--band", "0.4", "3", "--alpha", "20"],
], ids=["static", "dynamic", "fir", "butter", "diff-iir"])
def test_whole_real_videos_every_mode(shared_data, weights, tmp_path, video, mode_args):
    """Every frame of each video through every mode; guitar.mp4 whole, baby.mp4 (960x544) over the chest.

    The crop keeps the CI slow stage within its time (the full frame costs 8.5x the pixels): what the test is
    for is the streaming over a whole real clip (FIR spill, IIR state, dynamic mode's pairs), not the frame size.
    """
    src = shared_data / "videos" / video
    out = tmp_path / "out.mp4"
    crop = ["--crop", "320", "160", "320", "192"] if video == "baby.mp4" else []
    assert main(["magnify", str(src), "-o", str(out), "--model", str(weights), "--batch", "4",
                 "--work-dir", str(tmp_path), "--slice", "y", "--at", "100", *crop, *mode_args]) == 0
    a, b = probe_video(src), probe_video(out)
    size = (320, 192) if crop else (a.width, a.height)
    assert (b.width, b.height, b.fps, b.n_frames) == (*size, a.fps, a.n_frames)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["fir", "butter", "diff-iir"])
@pytest.mark.parametrize("band, keep, drop", [((1.0, 4.0), 0, 1), ((6.0, 12.0), 1, 0)])
def test_every_filter_magnifies_only_its_band(official, tmp_path, kind, band, keep, drop):
    t = np.arange(90)
    freqs = (2.0, 9.0)
    motion = [0.3 * np.sin(2 * np.pi * f * t / FPS) for f in freqs]
    clip = _shifted_clip(_photo(64), motion[0], motion[1])
    out = _run(official, clip, MagnifySettings(alpha=10.0, mode="temporal", filter=kind, band=band, batch=8),
               work_dir=tmp_path)
    start = 0 if kind == "fir" else 45  # let the IIR filters settle
    measured = np.array([estimate_shift(out[0], o) for o in out])[start:]
    gain_keep = _amplitude(measured[:, keep], freqs[keep]) / 0.3
    gain_drop = _amplitude(measured[:, drop], freqs[drop]) / 0.3
    if kind == "diff-iir":  # a gentle band-pass (filter gain 0.58 at 2 Hz, 0.32 at 9 Hz for 1-4 Hz)
        assert gain_keep / gain_drop > 1.3, (gain_keep, gain_drop)  # measured 1.7 and 1.6
    else:  # measured about 10 in band, 0.6-1.0 out of band
        assert gain_keep > 7.0 and gain_keep / gain_drop > 5.0, (gain_keep, gain_drop)


@pytest.mark.parametrize("mode_kwargs", [dict(mode="static"), dict(mode="dynamic"),
                                         dict(mode="temporal", filter="butter", band=(2.0, 6.0)),
                                         dict(mode="temporal", filter="fir", band=(2.0, 6.0), allow_leaky_fir=True)])
def test_sized_calls_and_channels_last_give_the_untuned_output(tmp_path, mode_kwargs):
    """Calls of one frame each in channels_last with a copied border equal whole batches in NCHW with the
    border strips (up to uint8 rounding ties)."""
    from mmtrain.model.network import make_model

    torch.manual_seed(0)
    model = make_model("official", n_enc_blocks=1, n_texture_blocks=1, n_shape_blocks=1, n_dec_blocks=2).eval()
    clip = np.random.default_rng(0).integers(0, 256, size=(10, 22, 30, 3), dtype=np.uint8)
    plain = _run(model, clip, MagnifySettings(alpha=8.0, batch=4, channels_last=False, border="strips", **mode_kwargs),
                 work_dir=tmp_path)
    tuned = _run(model, clip, MagnifySettings(alpha=8.0, batch=4, call_pixels=22 * 30, **mode_kwargs),
                 work_dir=tmp_path)
    diff = np.abs(plain.astype(int) - tuned.astype(int))
    assert diff.max() <= 1 and (diff > 0).mean() < 1e-3


@pytest.mark.parametrize("fast, bound", [(dict(precision="fp32"), 0), (dict(precision="bf16-decoder"), 4),
                                         (dict(backend="openvino"), 1), (dict(backend="onnxruntime"), 1)])
def test_fast_paths_stay_within_their_bound_of_fp32_on_the_golden_frames(official, shared_data, fast, bound):
    """Static mode on a crop of golden case a (baby, alpha 10): the default border, the decoder in bf16 and
    the exported graph in each runtime against the fp32 reference path (border strips): at most ``bound``
    grey levels, 1 at the 99.9th percentile."""
    import importlib.util

    from mmtrain.model.exported import RUNTIMES

    for name in RUNTIMES.get(fast.get("backend", ""), ()):
        if importlib.util.find_spec(name) is None:
            pytest.skip(f"{name} is not installed")
    g = np.load(shared_data / "official_golden" / "case_a_baby_static_amp10.npz")
    clip = np.concatenate([g["frame_a_uint8"], g["frame_b_uint8"]])[:, 64:160, 32:224]  # (2, 96, 192, 3)
    alpha = float(g["amplification_factor"])
    ref = _run(official, clip, MagnifySettings(alpha=alpha, border="strips"))
    out = _run(official, clip, MagnifySettings(alpha=alpha, **fast))
    err = np.abs(out.astype(int) - ref.astype(int))
    assert err.max() <= bound and np.percentile(err, 99.9) <= 1, (err.max(), np.percentile(err, 99.9))


def test_bad_runtime_settings_are_named():
    for kwargs, match in [(dict(precision="fp8"), "precision"), (dict(call_pixels=0), "call_pixels"),
                          (dict(threads=0), "threads"), (dict(border="wrap"), "border"),
                          (dict(backend="tvm"), "backend: expected one of torch, numpy, openvino, onnxruntime"),
                          (dict(backend="openvino", method="linear"), "backend: openvino runs the network; linear"),
                          (dict(backend="onnxruntime", compile=True), "compile: torch.compile does not apply")]:
        with pytest.raises(ConfigError, match=match):
            MagnifySettings(alpha=2.0, **kwargs).resolve(FPS, 10)


def test_cli_refuses_to_write_over_its_input(demo_video, weights, tmp_path, capsys):
    import os

    video = tmp_path / "in.mp4"
    video.write_bytes(demo_video.read_bytes())
    os.link(video, tmp_path / "hardlink.mp4")
    before = video.read_bytes()
    for out in (video, tmp_path / "." / "in.mp4", tmp_path / "hardlink.mp4"):
        capsys.readouterr()
        assert main(["magnify", str(video), "-o", str(out), "--alpha", "5", "--checkpoint", str(weights)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "the output is the input video" in err
    assert video.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["hardlink.mp4", "in.mp4"]


# ------------------------------------------------------------------------------------------------
# one-line failures, nothing half-written (outputs, spill store)
# ------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory) -> Path:
    """A small random network (the smallest paper-preset blocks): fast enough for the CLI on CPU."""
    from mmtrain.model.checkpoint import save_checkpoint
    from mmtrain.model.network import make_model

    torch.manual_seed(0)
    model = make_model("paper", n_enc_blocks=1, n_texture_blocks=1, n_shape_blocks=1, n_dec_blocks=1)
    return save_checkpoint(tmp_path_factory.mktemp("tiny") / "tiny.pt", model)


def _listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.mark.parametrize("command, bad, supported", [
    (["magnify", "{video}", "--alpha", "5", "--checkpoint", "{missing}", "-o"], "out.xyz", ".mp4, .m4v"),
    (["magnify", "{video}", "--alpha", "5", "--checkpoint", "{missing}", "-o"], "frames.jpg", "NAME%05d.png"),
    (["magnify", "{video}", "--alpha", "5", "--checkpoint", "{missing}", "-o", "{tmp}/out.mp4", "--slice", "x",
      "--at", "3", "--slice-output"], "slice.txt", "supported: .png"),
    (["make-demo-video", "--frames", "4", "-o"], "demo.txt", ".mp4, .m4v"),
], ids=["magnify-xyz", "magnify-jpg", "slice-output-txt", "demo-txt"])
def test_cli_unsupported_output_names_fail_first_with_nothing_written(demo_video, tmp_path, capsys, monkeypatch,
                                                                      command, bad, supported):
    from mmtrain.magnify import demo

    monkeypatch.setattr(demo.SinusoidVideo, "__init__", lambda *a, **k: pytest.fail("made frames first"))
    before = _listing(tmp_path)
    values = dict(video=demo_video, missing=tmp_path / "none.pt", tmp=tmp_path)
    argv = [part.format(**values) for part in command] + [str(tmp_path / bad)]
    rc = main(argv)
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1, err
    assert f"{tmp_path / bad}: unsupported" in err and supported in err, err
    assert _listing(tmp_path) == before


def test_cli_output_inside_a_regular_file_gives_one_line(demo_video, tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("a file, not a folder")
    out = tmp_path / "notes.txt" / "out.mp4"
    rc = main(["magnify", str(demo_video), "-o", str(out), "--alpha", "5", "--checkpoint", str(tmp_path / "no.pt")])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "notes.txt is a file, not a folder" in err, err
    assert _listing(tmp_path) == ["notes.txt"]


def _fir_argv(video: Path, out: Path, checkpoint: Path, work: Path) -> list[str]:
    return ["-q", "magnify", str(video), "-o", str(out), "--alpha", "5", "--checkpoint", str(checkpoint),
            "--mode", "temporal", "--filter", "fir", "--band", "2", "6", "--allow-leaky-fir", "--batch", "4",
            "--threads", "1", "--device", "cpu", "--work-dir", str(work)]


@pytest.mark.parametrize("failure, status", [
    (None, 0),
    (OSError(28, "No space left on device"), 2),
    (KeyboardInterrupt(), 130),
], ids=["success", "disk-full", "ctrl-c"])
def test_fir_spill_folder_and_temporary_output_go_whatever_happens(demo_video, tiny_checkpoint, tmp_path, capsys,
                                                                   monkeypatch, failure, status):
    from mmtrain.temporal import spill

    work, out = tmp_path / "work", tmp_path / "out.mp4"
    work.mkdir()
    out.write_bytes(b"previous result")
    seen = []
    real = spill.fir_filter

    def filtering(*args, **kwargs):
        seen.extend(p.name for p in work.iterdir())  # the spill store exists while filtering
        if failure is not None:
            raise failure
        return real(*args, **kwargs)

    monkeypatch.setattr(spill, "fir_filter", filtering)
    rc = main(_fir_argv(demo_video, out, tiny_checkpoint, work))
    err = capsys.readouterr().err
    assert rc == status, err
    assert seen and seen[0].startswith(f"{spill.SPILL_PREFIX}{__import__('os').getpid()}-")
    assert list(work.iterdir()) == []  # the spill folder is gone
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mp4", "work"]  # no .out.mp4.tmp-*
    if failure is None:
        assert probe_video(out).n_frames == probe_video(demo_video).n_frames
    else:
        assert out.read_bytes() == b"previous result" and err.count("\n") == 1, err


def test_a_killed_runs_spill_folder_is_removed_by_the_next_spill(tmp_path):
    import os
    import subprocess

    from mmtrain.temporal.spill import SPILL_PREFIX

    finished = subprocess.Popen(["true"])
    finished.wait()  # its pid now names no process: the state a killed run leaves
    dead = tmp_path / f"{SPILL_PREFIX}{finished.pid}-k1ll3d00"
    (dead / "spill.zarr").mkdir(parents=True)
    (dead / "spill.zarr" / "chunk").write_bytes(b"x" * 100)
    alive = tmp_path / f"{SPILL_PREFIX}{os.getppid()}-running"  # another run still at work: kept
    alive.mkdir()
    (tmp_path / "mmtrain-fir-notes").mkdir()  # not a spill name: kept
    with RepresentationSpill(4, (2, 4, 4), (2, 8, 8), batch=2, memory_bytes=1e6, work_dir=tmp_path) as store:
        assert store.path.name.startswith(f"{SPILL_PREFIX}{os.getpid()}-")
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted([alive.name, "mmtrain-fir-notes", store.path.name])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([alive.name, "mmtrain-fir-notes"])


def test_a_failure_while_writing_removes_the_spill_at_once(demo_video, tiny_checkpoint, tmp_path, monkeypatch):
    """The writer fails after the FIR filtering: the spill goes before the error reaches the caller."""
    from mmtrain.video import io as video
    from mmtrain.magnify.videofile import magnify_video

    def full_disk(self, frame):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(video.VideoWriter, "write", full_disk)
    work = tmp_path / "work"
    work.mkdir()
    settings = MagnifySettings(alpha=5, mode="temporal", filter="fir", band=(2, 6), allow_leaky_fir=True, threads=1)
    with pytest.raises(OSError, match="No space") as err:
        magnify_video(demo_video, tmp_path / "out.mp4", settings, checkpoint=tiny_checkpoint, device="cpu",
                      work_dir=work, progress=False)
    assert err.value.__traceback__ is not None  # the traceback keeps every frame alive, the generators too
    assert list(work.iterdir()) == [] and sorted(p.name for p in tmp_path.iterdir()) == ["work"]


@pytest.mark.parametrize("backend", ["openvino", "onnxruntime"])
def test_cli_exported_backends_match_torch_in_every_mode(demo_video, tiny_checkpoint, tmp_path, capsys, backend):
    """``--backend openvino|onnxruntime`` in the dynamic and temporal modes (IIR and the spilled FIR, which call
    the manipulator on filtered shapes): the frames torch writes, within one grey level."""
    import importlib.util

    from mmtrain.model.exported import RUNTIMES

    for name in RUNTIMES[backend]:
        if importlib.util.find_spec(name) is None:
            pytest.skip(f"{name} is not installed")
    for mode in (["--mode", "dynamic"], ["--mode", "temporal", "--filter", "butter", "--band", "2", "6"],
                 ["--mode", "temporal", "--filter", "fir", "--band", "2", "6", "--allow-leaky-fir"]):
        outs = []
        for b in ("torch", backend):
            out = tmp_path / f"{mode[1]}-{mode[-1]}-{b}.mkv"
            assert main(["-q", "magnify", str(demo_video), "-o", str(out), "--codec", "ffv1", "--alpha", "5",
                         "--model", str(tiny_checkpoint), "--batch", "3", "--threads", "1", "--device", "cpu",
                         "--work-dir", str(tmp_path), "--backend", b, *mode]) == 0, capsys.readouterr().err
            outs.append(np.stack(list(VideoReader(out))).astype(int))
        assert outs[0].shape == outs[1].shape and np.abs(outs[0] - outs[1]).max() <= 1, mode
        assert np.abs(outs[0] - np.stack(list(VideoReader(demo_video))).astype(int)).max() > 0  # it did magnify


def test_cli_exported_backend_refuses_other_methods_in_one_line(demo_video, tmp_path, capsys):
    rc = main(["magnify", str(demo_video), "-o", str(tmp_path / "out.mp4"), "--alpha", "5", "--method", "linear",
               "--backend", "openvino"])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "backend: openvino runs the network; linear runs in torch or numpy" in err, err
    assert list(tmp_path.iterdir()) == []
