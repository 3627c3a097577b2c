"""Quantitative evaluation: score methods on the paper's synthetic tests (section 4.1, Fig. 8).

The second of two steps (``mmtrain evaluate sets`` renders the test sets, :mod:`mmtrain.evaluate.sets`;
``mmtrain evaluate run`` scores them, :mod:`mmtrain.evaluate.cli`): every method on every case gets
every metric of :mod:`mmtrain.evaluate.metrics` — the two SSIM variants, PSNR, RMSE, and the
magnification accuracy of its foreground and background layers — aggregated per level as mean and
standard deviation (:meth:`Results.table`), and written out by :mod:`mmtrain.evaluate.report`.
``ssim`` is the protocol's variant (``gaussian11`` unless set otherwise).

Sharded runs (``--shard K/N``) score one shard of each test set each; :meth:`Results.merge` puts their
scores back in case order, so the merged table equals the unsharded run's.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
from tqdm import tqdm

from mmdata.errors import ConfigError, StoreError
from mmdata.sources.base import Catalogue
from mmdata.spec import DatasetSpec
from mmtrain.evaluate.cases import TEST_NAMES, Case
from mmtrain.evaluate.layers import LAYERS
from mmtrain.evaluate.methods import Method
from mmtrain.evaluate.metrics import IMAGE_METRICS, SSIM_VARIANTS, image_metrics, magnification_ratio, ssim_gaussian11
from mmtrain.evaluate.sets import MASK_FIELD, OpenedTestSet, open_test_set, render_video

__all__ = ["ssim", "METRICS", "CaseScore", "Results", "score_case", "evaluate_test_sets"]

log = logging.getLogger(__name__)


def ssim(output: np.ndarray, truth: np.ndarray, border: int) -> float:
    """SSIM of two uint8 RGB frames (H, W, 3) after cropping ``border`` pixels from every side
    (the Gaussian-window variant, :func:`mmtrain.evaluate.metrics.ssim_gaussian11`).

    Raises:
        ConfigError: the frames differ in shape or the crop leaves less than 7 pixels.
    """
    return ssim_gaussian11(output, truth, border)


#: Per-case values aggregated by :meth:`Results.table`: the image metrics and the two layers' ratios.
METRICS: tuple[str, ...] = ("ssim",) + IMAGE_METRICS + tuple(f"mag_{layer}" for layer in LAYERS)


@dataclass(frozen=True)
class CaseScore:
    """Every metric of one method on one case."""

    test: str
    group: float | None
    level: float
    sample: int
    method: str
    alpha: float
    ssim: float  # the protocol's SSIM variant (one of the two below)
    index: int = 0  # the case's number in its (unsharded) test
    ssim_gaussian11: float = math.nan
    ssim_uniform7: float = math.nan
    psnr: float = math.nan
    rmse: float = math.nan
    mag_foreground: float = math.nan  # measured / requested magnified motion of the objects (1 exact)
    mag_background: float = math.nan  # ... of the background (NaN where it does not move)


def _stats(values: np.ndarray) -> tuple[float, float, int]:
    """Mean and population std of the finite values (inf kept when every value is inf), and their count."""
    finite = values[np.isfinite(values)]
    if finite.size:
        return float(finite.mean()), float(finite.std()), int(finite.size)
    if values.size and np.all(values == np.inf):
        return math.inf, 0.0, int(values.size)
    return math.nan, math.nan, 0


@dataclass
class Results:
    """Every case score, and their aggregation per (test, group, level, method)."""

    scores: list[CaseScore] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    def table(self) -> list[dict[str, Any]]:
        """One row per (test, group, level, method), in test, group, level, method order: n, alpha, and
        for every metric of :data:`METRICS` its mean and population std (``<metric>_mean``,
        ``<metric>_std``; magnification ratios also ``<metric>_n``, the cases where it was measured)."""
        keys: dict[tuple, list[CaseScore]] = {}
        for s in self.scores:
            keys.setdefault((s.test, s.group, s.level, s.method), []).append(s)
        methods = list(dict.fromkeys(s.method for s in self.scores))
        order = sorted(keys, key=lambda k: (TEST_NAMES.index(k[0]) if k[0] in TEST_NAMES else 99, k[1] or 0.0, k[2],
                                              methods.index(k[3])))
        rows = []
        for key in order:
            items = keys[key]
            test, group, level, method = key
            row: dict[str, Any] = {"test": test, "group": group, "level": level, "method": method, "n": len(items),
                                   "alpha": float(np.mean([s.alpha for s in items]))}
            for metric in METRICS:
                mean, std, n = _stats(np.array([getattr(s, metric) for s in items], dtype=np.float64))
                row[f"{metric}_mean"], row[f"{metric}_std"] = mean, std
                if metric.startswith("mag_"):
                    row[f"{metric}_n"] = n
            rows.append(row)
        return rows

    @classmethod
    def merge(cls, parts: Sequence["Results"]) -> "Results":
        """One result from the results of the shards of the same test sets: scores in case order.

        Raises:
            ConfigError: the parts were scored with other methods, border or SSIM variant, or a case twice.
        """
        if not parts:
            raise ConfigError("evaluate merge: no results to merge")
        first = parts[0].meta
        for p in parts[1:]:
            for key in ("border", "methods", "ssim_variant"):
                if p.meta.get(key) != first.get(key):
                    raise ConfigError(f"evaluate merge: shards differ in {key}: {first.get(key)!r} vs {p.meta.get(key)!r}")
        scores = sorted((s for p in parts for s in p.scores),
                        key=lambda s: (TEST_NAMES.index(s.test) if s.test in TEST_NAMES else 99, s.index, first["methods"].index(s.method)))
        seen = {(s.test, s.index, s.method) for s in scores}
        if len(seen) != len(scores):
            raise ConfigError("evaluate merge: a case appears in more than one shard")
        meta = {**first, "test_sets": {}, "shards": len(parts)}
        for p in parts:
            for test, path in p.meta.get("test_sets", {}).items():
                meta["test_sets"].setdefault(test, []).extend(path if isinstance(path, list) else [path])
        return cls(scores=scores, meta=meta)

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> "Results":
        """Results as written to ``results.json`` (:func:`mmtrain.evaluate.report.write_results`)."""
        return cls(scores=[CaseScore(**s) for s in doc["scores"]], meta=dict(doc["meta"]))


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


def score_case(case: Case, pair: dict[str, np.ndarray], output: np.ndarray, method: str, border: int,
               ssim_variant: str = "gaussian11") -> CaseScore:
    """Every metric of one output frame of one case (``pair`` as :meth:`OpenedTestSet.pair` returns it)."""
    p = case.params
    metrics = image_metrics(output, pair["frame_y"], border)
    masks = pair[MASK_FIELD]
    fg = p.objects[0].motion if p.objects else (0.0, 0.0)
    mags = {f"mag_{layer}": magnification_ratio(pair["frame_a"], output, masks[..., c] / 255.0, motion, p.alpha)
            for c, (layer, motion) in enumerate(zip(LAYERS, (fg, p.background.motion)))}
    return CaseScore(case.test, case.group, case.level, case.sample, method, p.alpha, metrics[f"ssim_{ssim_variant}"],
                     index=p.index, **metrics, **mags)


def _score_cases(
    ts: OpenedTestSet, indices: Sequence[int], methods: Sequence[Method], border: int,
    catalogue: Catalogue | None, ds: DatasetSpec | None, ssim_variant: str = "gaussian11",
) -> list[CaseScore]:
    """Scores of every method on the cases ``indices`` of one test set."""
    need_clip = any(m.needs_clip for m in methods)
    out = []
    for i in indices:
        case, pair = ts.case(i), ts.pair(i)
        clip = _clip_for(ts, i, catalogue, ds) if need_clip else None
        for m in methods:
            out.append(score_case(case, pair, m(pair, clip, case.params.alpha), m.name, border, ssim_variant))
    return out


def _worker_scores(path: str, indices: list[int], methods: Sequence[Method], border: int,
                   catalogue: Catalogue | None, ds: DatasetSpec | None, ssim_variant: str) -> list[CaseScore]:
    """Process-pool entry: one thread per worker, the test set reopened by path."""
    import torch

    torch.set_num_threads(1)
    return _score_cases(open_test_set(path), indices, methods, border, catalogue, ds, ssim_variant)


def evaluate_test_sets(
    test_sets: Sequence[OpenedTestSet],
    methods: Sequence[Method],
    *,
    border: int,
    catalogue: Catalogue | None = None,
    ds: DatasetSpec | None = None,
    workers: int = 1,
    progress: bool = True,
    ssim_variant: str = "gaussian11",
) -> Results:
    """Score every method on every case of the test sets.

    Args:
        test_sets: opened test sets.
        methods: the methods (names must be unique).
        border: pixels cropped from every side before SSIM.
        catalogue, ds: only for test sets stored without clips, to re-render them.
        workers: processes scoring cases in parallel (1: in this process). Scores do not depend on it.
        progress: show a progress bar.
        ssim_variant: which SSIM is the case's ``ssim`` (:data:`mmtrain.evaluate.metrics.SSIM_VARIANTS`);
            both are recorded anyway.

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
    if ssim_variant not in SSIM_VARIANTS:
        raise ConfigError(f"evaluate.ssim: unknown variant {ssim_variant!r}; expected one of {', '.join(SSIM_VARIANTS)}")
    results = Results(meta={"border": border, "methods": names, "ssim_variant": ssim_variant, "test_sets": {ts.test: str(ts.path) for ts in test_sets},
                            "specs": {ts.test: ts.info["spec"] for ts in test_sets}})
    chunk = 4  # cases per task
    tasks = [(ts, list(range(lo, min(lo + chunk, ts.count)))) for ts in test_sets for lo in range(0, ts.count, chunk)]
    bar = tqdm(total=sum(ts.count for ts in test_sets), desc="evaluate", unit="case", disable=None if progress else True)
    if workers == 1:
        for ts, idx in tasks:
            results.scores += _score_cases(ts, idx, methods, border, catalogue, ds, ssim_variant)
            bar.update(len(idx))
    else:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(_worker_scores, str(ts.path), idx, methods, border, catalogue, ds, ssim_variant) for ts, idx in tasks]
            for future, (_, idx) in zip(futures, tasks):
                results.scores += future.result()
                bar.update(len(idx))
    bar.close()
    return results
