"""Metrics of the evaluation against analytic truth and independent implementations; protocols; shards; claims."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import signal
from skimage import data, transform

from mmdata.config import load_config
from mmdata.errors import ConfigError
from mmdata.render.composite import render_sample
from mmdata.sources.base import InMemoryCatalogue
from mmdata.spec import DatasetSpec
from mmtrain.evaluate.cases import EvalSpec, build_cases, noise_std_of_factor
from mmtrain.evaluate.claims import check_claims
from mmtrain.evaluate.layers import layer_masks
from mmtrain.evaluate.methods import DoNothing, Oracle
from mmtrain.evaluate.metrics import magnification_ratio, psnr, rmse, ssim_gaussian11, ssim_uniform7
from mmtrain.evaluate.scoring import Results, evaluate_test_sets
from mmtrain.evaluate.sets import open_test_set, shard_name, write_test_set

SIZE = 96
TINY = {"image_size": SIZE, "samples": 2, "subpixel_motions": [0.05, 0.5], "noise_factors": [1.0],
        "magnification_alphas": [10.0], "input_motions": [1.0], "store_videos": True}
EVAL = {"sizes": {"tiny": TINY}, "objects": {"count_min": 1, "count_max": 2}, "border": 8, "noise_motions": [0.5]}


@pytest.fixture(scope="module")
def textured() -> InMemoryCatalogue:
    """Photographs as backgrounds; elliptical cut-outs of textured photographs as objects."""
    backgrounds = {name: transform.rescale(getattr(data, name)(), 0.3, channel_axis=-1, anti_aliasing=True).astype(np.float32) * 255
                   for name in ("astronaut", "coffee")}
    yy, xx = np.mgrid[:40, :40]
    mask = ((((yy - 19.5) / 19) ** 2 + ((xx - 19.5) / 15) ** 2) <= 1).astype(np.float32)
    chelsea, astro = data.chelsea().astype(np.float32), data.astronaut().astype(np.float32)
    objects = {"cat": (chelsea[60:100, 150:190], mask), "face": (astro[80:120, 180:220], mask)}
    return InMemoryCatalogue(backgrounds, objects)


@pytest.fixture(scope="module")
def specs() -> tuple[EvalSpec, DatasetSpec]:
    cfg = load_config(overrides={"evaluate": EVAL, "dataset": {"image_size": SIZE, "objects": {"max_extent": 0.5, "scale_min": 1.0, "scale_max": 1.2}}})
    return EvalSpec.from_config(cfg, "tiny"), DatasetSpec.from_config(cfg)


def _images(seed: int, shape: tuple[int, ...] = (24, 24, 3)) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 256, shape).astype(np.uint8)
    b = np.clip(a.astype(int) + rng.integers(-30, 31, shape), 0, 255).astype(np.uint8)
    return a, b


def test_psnr_and_rmse_follow_their_formulas() -> None:
    a, b = _images(0)
    err = (a.astype(float) - b.astype(float))[2:-2, 2:-2]
    mse = np.mean(err**2)
    assert rmse(b, a, 2) == pytest.approx(math.sqrt(mse), rel=1e-12)
    assert psnr(b, a, 2) == pytest.approx(10 * math.log10(255**2 / mse), rel=1e-12)
    assert psnr(a, a, 2) == math.inf and rmse(a, a, 2) == 0.0


def _direct_ssim(x: np.ndarray, y: np.ndarray, window: np.ndarray, sample: bool) -> float:
    """SSIM by its formula: windowed means, variances and covariance on 'valid' positions, per channel."""
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    n = window.size
    scale = n / (n - 1) if sample else 1.0
    values = []
    for ch in range(x.shape[2]):
        u, v = x[..., ch].astype(float), y[..., ch].astype(float)
        f = lambda img: signal.convolve2d(img, window, mode="valid")  # noqa: E731
        mu, mv = f(u), f(v)
        su, sv, suv = scale * (f(u * u) - mu**2), scale * (f(v * v) - mv**2), scale * (f(u * v) - mu * mv)
        m = ((2 * mu * mv + c1) * (2 * suv + c2)) / ((mu**2 + mv**2 + c1) * (su + sv + c2))
        values.append(m.mean())
    return float(np.mean(values))


def test_ssim_variants_equal_the_direct_formula() -> None:
    a, b = _images(1, (30, 28, 3))
    g = np.exp(-((np.arange(11) - 5.0) ** 2) / (2 * 1.5**2))
    gauss11 = np.outer(g, g) / np.outer(g, g).sum()
    assert ssim_gaussian11(b, a, 3) == pytest.approx(_direct_ssim(a[3:-3, 3:-3], b[3:-3, 3:-3], gauss11, False), abs=1e-9)
    uniform7 = np.full((7, 7), 1 / 49)
    assert ssim_uniform7(b, a, 3) == pytest.approx(_direct_ssim(a[3:-3, 3:-3], b[3:-3, 3:-3], uniform7, True), abs=1e-9)
    assert abs(ssim_gaussian11(b, a, 3) - ssim_uniform7(b, a, 3)) > 1e-4  # they are different metrics


def test_magnification_ratio_is_one_for_truth_and_the_known_factor_otherwise(
    textured: InMemoryCatalogue, specs: tuple[EvalSpec, DatasetSpec]
) -> None:
    ev, ds = specs
    for case in build_cases("subpixel", ev, ds, textured):
        p = case.params
        frames = render_sample(p, textured, ds)
        masks = layer_masks(p, textured, ds) / 255.0
        half = render_sample(dataclasses.replace(p, alpha=0.5 * p.alpha), textured, ds)["frame_y"]  # magnifies by alpha / 2
        for c, motion in ((0, p.objects[0].motion), (1, p.background.motion)):
            args = (masks[..., c], motion, p.alpha)
            assert magnification_ratio(frames["frame_a"], frames["frame_y"], *args) == pytest.approx(1.0, abs=0.01)
            assert magnification_ratio(frames["frame_a"], half, *args) == pytest.approx(0.5, abs=0.01)
            # do nothing: frame B shows delta, i.e. 1 / alpha of the requested motion (to 0.05 px)
            assert magnification_ratio(frames["frame_a"], frames["frame_b"], *args) == pytest.approx(1 / p.alpha, abs=0.05 / (p.alpha * 0.05))
    assert math.isnan(magnification_ratio(frames["frame_a"], frames["frame_y"], masks[..., 0], (0.0, 0.0), 10.0))
    flat = np.full_like(frames["frame_a"], 7)  # no texture: no measurable motion
    assert math.isnan(magnification_ratio(flat, flat, masks[..., 1], p.background.motion, p.alpha))


def test_shards_merge_to_the_unsharded_table(tmp_path: Path, textured: InMemoryCatalogue, specs: tuple[EvalSpec, DatasetSpec]) -> None:
    ev, ds = specs
    ev = dataclasses.replace(ev, samples=3)
    methods = [Oracle(), DoNothing()]
    whole = write_test_set(tmp_path, "noise", ev, ds, textured, progress=False)
    full = evaluate_test_sets([open_test_set(whole)], methods, border=ev.border, progress=False)
    parts = []
    for k in range(2):
        path = write_test_set(tmp_path, "noise", ev, ds, textured, progress=False, shard=(k, 2))
        assert path.name == shard_name("noise", (k, 2)) == f"noise-shard{k}of2.zarr"
        parts.append(evaluate_test_sets([open_test_set(path)], methods, border=ev.border, progress=False))
    assert sorted(len(p.scores) for p in parts) == [1 * 2, 2 * 2]  # cases 0, 2 and case 1 of 3; 2 methods
    merged = Results.merge(parts[::-1])
    np.testing.assert_equal(merged.table(), full.table())
    np.testing.assert_equal([dataclasses.asdict(s) for s in merged.scores], [dataclasses.asdict(s) for s in full.scores])
    with pytest.raises(ConfigError, match="more than one shard"):
        Results.merge([parts[0], parts[0]])


def test_reeval_protocol_reproduces_the_published_settings() -> None:
    cfg = load_config()
    ev = EvalSpec.from_config(cfg, protocol="reeval")
    assert ev.tests == ("subpixel", "noise") and ev.samples == 1000 and ev.image_size == 384
    assert len(ev.subpixel_motions) == 15 and ev.subpixel_motions[0] == 0.04 and ev.subpixel_motions[-1] == 1.0
    assert np.allclose(np.diff(np.log(ev.subpixel_motions)), np.log(25) / 14, rtol=0.01)  # log-spaced (levels rounded to 4 digits)
    assert len(ev.noise_factors) == 21 and ev.noise_factors[0] == 0.01 and ev.noise_factors[-1] == 100.0
    assert np.allclose(np.log10(ev.noise_factors), np.linspace(-2, 2, 21), atol=2e-3)
    assert ev.noise_motions == (0.05,) and ev.ssim_variant == "gaussian11" and ev.border == 4
    assert ev.case_motion("subpixel", 0.04, None) == (250.0, 0.04, True, 0.0)
    assert ev.case_motion("noise", 3.981, 0.05) == (200.0, 0.05, False, 3.981)
    oh = EvalSpec.from_config(cfg, protocol="oh2018")
    assert {0.01, 0.02} <= set(oh.subpixel_motions) and oh.noise_motions == (0.05, 0.5) and "alpha_sweep" in oh.tests
    assert oh.sweep_alphas == (5.0, 10.0, 20.0, 50.0, 100.0) and oh.case_motion("alpha_sweep", 20.0, None) == (20.0, 0.1, True, 0.0)
    quick = EvalSpec.from_config(cfg, size="quick", protocol="reeval")  # a size scales a protocol, levels stay
    assert (quick.image_size, quick.samples, quick.subpixel_motions) == (96, 3, ev.subpixel_motions)
    with pytest.raises(ConfigError, match="unknown protocol"):
        EvalSpec.from_config(cfg, protocol="nope")


def test_noise_scales() -> None:
    assert noise_std_of_factor(1.0) == pytest.approx(math.sqrt(127.5))
    assert noise_std_of_factor(1.0, "photon_unit") == pytest.approx(255 * math.sqrt(0.5))  # sqrt(I) with I = 0.5, in 0-255
    with pytest.raises(ConfigError, match="noise_scale"):
        noise_std_of_factor(1.0, "other")


def _row(test: str, group: float | None, level: float, method: str, mean: float, std: float = 0.01) -> dict:
    return {"test": test, "group": group, "level": level, "method": method, "ssim_mean": mean, "ssim_std": std}


def test_claims_hold_or_fail_where_the_numbers_say() -> None:
    rows = []
    for lv, (net, pb, dn) in {0.01: (0.8, 0.7, 0.6), 0.02: (0.805, 0.8, 0.6), 0.1: (0.9, 0.7, 0.6)}.items():
        rows += [_row("subpixel", None, lv, "net", net), _row("subpixel", None, lv, "phase_based", pb), _row("subpixel", None, lv, "do_nothing", dn)]
    for g in (0.05, 0.5):
        for lv, (net, pb, dn) in {0.1: (0.9, 0.8, 0.6), 10.0: (0.5 if g == 0.05 else 0.7, 0.4, 0.41)}.items():
            rows += [_row("noise", g, lv, "net", net), _row("noise", g, lv, "phase_based", pb), _row("noise", g, lv, "do_nothing", dn)]
    claims = {(c.key, c.method): c for c in check_claims(rows)}
    assert claims["subpixel_beats_phase_based", "net"].status == "does not hold"
    assert claims["subpixel_beats_phase_based", "net"].detail == "fails at 0.02"
    assert claims["subpixel_down_to_0.01", "net"].status == "holds"
    assert claims["noise_above_baseline", "net"].status == "holds"
    assert claims["phase_based_to_baseline", "phase_based"].status == "holds"
    assert claims["noise_smaller_motion_worse", "net"].status == "holds"
    assert check_claims([r for r in rows if r["test"] == "subpixel"])[0].status == "not measured"
