"""The evaluation summary prints a spread only where a level has two samples or more."""

from __future__ import annotations

from mmtrain.evaluate.report import _summary


def _row(method: str, level: float, n: int, mean: float, std: float) -> dict:
    metrics = ("ssim", "ssim_gaussian11", "ssim_uniform7", "psnr", "rmse", "mag_foreground", "mag_background")
    return {"test": "subpixel", "group": None, "level": level, "method": method, "n": n, "alpha": 10.0,
            **{f"{m}_mean": mean for m in metrics}, **{f"{m}_std": std for m in metrics}}


def test_one_sample_shows_no_spread():
    text = _summary([_row("do_nothing", 0.1, 1, 0.5, 0.0)], {"border": 10})
    assert "0.5000 (n=1, no spread)" in text and "+- 0.0000" not in text


def test_several_samples_show_mean_and_std():
    text = _summary([_row("do_nothing", 0.1, 5, 0.5, 0.02)], {"border": 10})
    assert "0.5000 +- 0.0200" in text and "over the 5 sample(s)" in text
