"""Quantitative evaluation: score methods on the paper's synthetic tests (section 4.1, Fig. 8).

The second of two steps (``mmtrain evaluate sets`` renders the test sets, :mod:`mmtrain.evaluate.sets`;
``mmtrain evaluate run`` scores them, :mod:`mmtrain.evaluate.cli`): score every method on every case by SSIM against the ground truth, aggregate mean and
  standard deviation per level, and write ``results.csv``, ``results.json``, ``summary.md`` and one
  Fig. 8-style plot per test (and noise-test motion) (:mod:`mmtrain.evaluate.report`).

SSIM is scikit-image's ``structural_similarity`` with the settings of Wang et al. 2004 (Gaussian
window sigma 1.5, population covariance, ``data_range=255``), over the RGB channels, on the frames with
``border`` pixels cropped from every side (content entering the frame, up to the magnified motion,
is not scored).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
from skimage.metrics import structural_similarity
from tqdm import tqdm

from mmdata.errors import ConfigError, StoreError
from mmdata.sources.base import Catalogue
from mmdata.spec import DatasetSpec
from mmtrain.evaluate.methods import Method
from mmtrain.evaluate.sets import OpenedTestSet, open_test_set, render_video

__all__ = ["ssim", "CaseScore", "Results", "evaluate_test_sets"]

log = logging.getLogger(__name__)


def ssim(output: np.ndarray, truth: np.ndarray, border: int) -> float:
    """SSIM of two uint8 RGB frames (H, W, 3) after cropping ``border`` pixels from every side.

    Raises:
        ConfigError: the frames differ in shape or the crop leaves less than 7 pixels.
    """
    if output.shape != truth.shape:
        raise ConfigError(f"ssim: output shape {output.shape} differs from the ground truth's {truth.shape}")
    h, w = truth.shape[:2]
    if min(h, w) - 2 * border < 7:
        raise ConfigError(f"evaluate.border: {border} px leaves less than 7 px of a {h}x{w} frame")
    crop = (slice(border, h - border), slice(border, w - border))
    return float(structural_similarity(
        truth[crop], output[crop], data_range=255, channel_axis=-1, gaussian_weights=True, sigma=1.5,
        use_sample_covariance=False,
    ))


@dataclass(frozen=True)
class CaseScore:
    """The SSIM of one method on one case."""

    test: str
    group: float | None
    level: float
    sample: int
    method: str
    alpha: float
    ssim: float


@dataclass
class Results:
    """Every case score, and their aggregation per (test, group, level, method)."""

    scores: list[CaseScore] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    def table(self) -> list[dict[str, Any]]:
        """One row per (test, group, level, method): n, ssim_mean, ssim_std (population), alpha."""
        keys: dict[tuple, list[CaseScore]] = {}
        for s in self.scores:
            keys.setdefault((s.test, s.group, s.level, s.method), []).append(s)
        rows = []
        for (test, group, level, method), items in keys.items():
            values = np.array([s.ssim for s in items])
            rows.append({
                "test": test, "group": group, "level": level, "method": method, "n": len(items),
                "alpha": float(np.mean([s.alpha for s in items])),
                "ssim_mean": float(values.mean()), "ssim_std": float(values.std()),
            })
        return rows


def _clip_for(ts: OpenedTestSet, i: int, catalogue: Catalogue | None, ds: DatasetSpec | None) -> np.ndarray:
    if ts.has_videos:
        return ts.clip(i)
    if catalogue is None or ds is None:
        raise StoreError(f"{ts.path}: holds no clips; pass the catalogue it was rendered from (--sources) to re-render them")
    if catalogue.identity != ts.info["catalogue"]:
        raise StoreError(f"{ts.path}: rendered from another catalogue than the one given; its clips cannot be re-rendered")
    recorded = {"image_size": ts.info["spec"]["image_size"], **ts.info["renderer"]}
    given = {"image_size": ds.image_size, "supersample": ds.supersample, "antialias_sigma": ds.antialias_sigma}
    if recorded != given:
        raise StoreError(f"{ts.path}: rendered with {recorded}, but the renderer is now set to {given}; clips cannot be re-rendered")
    return render_video(ts.case(i).params, catalogue, ds, ts.video)


def _score_cases(
    ts: OpenedTestSet, indices: Sequence[int], methods: Sequence[Method], border: int,
    catalogue: Catalogue | None, ds: DatasetSpec | None,
) -> list[CaseScore]:
    """Scores of every method on the cases ``indices`` of one test set."""
    need_clip = any(m.needs_clip for m in methods)
    out = []
    for i in indices:
        case, pair = ts.case(i), ts.pair(i)
        clip = _clip_for(ts, i, catalogue, ds) if need_clip else None
        for m in methods:
            output = m(pair, clip, case.params.alpha)
            out.append(CaseScore(ts.test, case.group, case.level, case.sample, m.name, case.params.alpha,
                                 ssim(output, pair["frame_y"], border)))
    return out


def _worker_scores(path: str, indices: list[int], methods: Sequence[Method], border: int,
                   catalogue: Catalogue | None, ds: DatasetSpec | None) -> list[CaseScore]:
    """Process-pool entry: one thread per worker, the test set reopened by path."""
    import torch

    torch.set_num_threads(1)
    return _score_cases(open_test_set(path), indices, methods, border, catalogue, ds)


def evaluate_test_sets(
    test_sets: Sequence[OpenedTestSet],
    methods: Sequence[Method],
    *,
    border: int,
    catalogue: Catalogue | None = None,
    ds: DatasetSpec | None = None,
    workers: int = 1,
    progress: bool = True,
) -> Results:
    """Score every method on every case of the test sets.

    Args:
        test_sets: opened test sets.
        methods: the methods (names must be unique).
        border: pixels cropped from every side before SSIM.
        catalogue, ds: only for test sets stored without clips, to re-render them.
        workers: processes scoring cases in parallel (1: in this process). Scores do not depend on it.
        progress: show a progress bar.

    Returns:
        The per-case scores, in test-set and case order (aggregate with :meth:`Results.table`).

    Raises:
        ConfigError: duplicate method names, a bad border or worker count.
        StoreError: clips needed but neither stored nor re-renderable.
    """
    names = [m.name for m in methods]
    if len(set(names)) != len(names):
        raise ConfigError(f"evaluate: method names must be unique, got {names}")
    if workers < 1:
        raise ConfigError(f"--workers: expected at least 1, got {workers}")
    results = Results(meta={"border": border, "methods": names, "test_sets": {ts.test: str(ts.path) for ts in test_sets},
                            "specs": {ts.test: ts.info["spec"] for ts in test_sets}})
    chunk = 4  # cases per task
    tasks = [(ts, list(range(lo, min(lo + chunk, ts.count)))) for ts in test_sets for lo in range(0, ts.count, chunk)]
    bar = tqdm(total=sum(ts.count for ts in test_sets), desc="evaluate", unit="case", disable=None if progress else True)
    if workers == 1:
        for ts, idx in tasks:
            results.scores += _score_cases(ts, idx, methods, border, catalogue, ds)
            bar.update(len(idx))
    else:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(_worker_scores, str(ts.path), idx, methods, border, catalogue, ds) for ts, idx in tasks]
            for future, (_, idx) in zip(futures, tasks):
                results.scores += future.result()
                bar.update(len(idx))
    bar.close()
    return results
