"""Outputs of the evaluation: CSV and JSON tables, a markdown summary, and Fig. 8-style plots.

Files written into the results folder:

* ``results.csv``: one row per (test, group, level, method) with n, alpha, and mean and std of every
  metric (``ssim`` — the protocol's variant —, ``ssim_gaussian11``, ``ssim_uniform7``, ``psnr``,
  ``rmse``, ``mag_foreground``, ``mag_background``; the ratios also with the count measured);
* ``results.json``: the same rows, every per-case score, the test-set specs and border used, and the
  paper's claims decided (:mod:`mmtrain.evaluate.claims`); non-finite values are written as
  ``NaN``/``Infinity`` (Python's ``json`` reads them back);
* ``summary.md``: the paper's claims (holds / does not hold, where), then per test (and noise-test
  input motion) one table per metric, ``mean +- std`` per method;
* ``<test>.png`` / ``<test>_<motion>px.png``: four panels against the level — SSIM, PSNR, RMSE and
  the magnification ratio (foreground solid, background dashed; 1 is exact) — one curve per method
  with a band of +-1 standard deviation (the oracle is left out of the image-metric panels).
"""

from __future__ import annotations

import csv
import dataclasses
import json
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from mmdata.fsutil import atomic_path, atomic_write_text
from mmtrain.evaluate.cases import LEVEL_LABELS, TEST_NAMES
from mmtrain.evaluate.claims import check_claims
from mmtrain.evaluate.scoring import METRICS, Results

__all__ = ["write_results", "plot_results", "group_label", "metric_tables"]

_COLUMNS = ("test", "group", "level", "method", "n", "alpha") + tuple(
    col for m in METRICS for col in ((f"{m}_mean", f"{m}_std") + ((f"{m}_n",) if m.startswith("mag_") else ())))
_TITLES = {"subpixel": "Subpixel test", "noise": "Noise test", "magnification": "Magnification-factor test",
           "input_motion": "Input-motion test", "alpha_sweep": "Magnification-factor sweep"}
_LOG_X = {"subpixel", "noise", "magnification", "alpha_sweep"}
_METRIC_LABELS = {"ssim": "SSIM", "ssim_gaussian11": "SSIM (Gaussian 11-tap)", "ssim_uniform7": "SSIM (uniform 7x7)",
                  "psnr": "PSNR (dB)", "rmse": "RMSE (0-255)", "mag_foreground": "magnification ratio, foreground",
                  "mag_background": "magnification ratio, background"}


def group_label(test: str, group: float | None) -> str:
    """Human label of a group: ``input motion 0.05 px`` for the noise test, else ``""``."""
    return "" if group is None else f"input motion {group:g} px"


def _atomic_write(path: Path, text: str) -> None:
    atomic_write_text(path, text)


def _panels(rows: list[dict[str, Any]]) -> list[tuple[str, float | None]]:
    seen = {(r["test"], r["group"]) for r in rows}
    return sorted(seen, key=lambda k: (TEST_NAMES.index(k[0]) if k[0] in TEST_NAMES else 99, k[1] or 0.0))


def _cell(row: dict[str, Any], metric: str) -> str:
    """``mean +- std``, or the mean alone where one sample gives no spread (``n=1, no spread``)."""
    mean, std = row[f"{metric}_mean"], row[f"{metric}_std"]
    if not np.isfinite(mean):
        return "inf" if mean == np.inf else "-"
    digits = 2 if metric == "psnr" else 4
    if row["n"] < 2:
        return f"{mean:.{digits}f} (n={row['n']}, no spread)"
    return f"{mean:.{digits}f} +- {std:.{digits}f}"


def _summary(rows: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    counts = sorted({r["n"] for r in rows})
    samples = "/".join(str(n) for n in counts)
    lines = ["# Quantitative evaluation (paper Fig. 8)", "",
             f"Mean +- std over the {samples} sample(s) of each level, against the ground truth, {meta.get('border')} px border "
             f"cropped; `ssim` is the `{meta.get('ssim_variant', 'gaussian11')}` variant. `do_nothing` is the "
             "baseline (input B). Magnification ratio: measured / requested magnified motion (1 exact; "
             "do-nothing 1/alpha).", "", "## The paper's claims", "", "| claim | method | status | where |", "|---|---|---|---|"]
    for c in check_claims(rows):
        lines.append(f"| {c.statement} | {c.method} | **{c.status}** | {c.detail} |")
    lines.append("")
    return "\n".join(lines) + "\n" + metric_tables(rows, METRICS, heading="##")


def metric_tables(rows: list[dict[str, Any]], metrics: Sequence[str], *, heading: str = "##") -> str:
    """Markdown: per test (and noise-test motion) a ``heading`` title, then per metric a table of
    ``mean +- std`` with one row per level and one column per method."""
    methods = list(dict.fromkeys(r["method"] for r in rows))
    lines: list[str] = []
    for test, group in _panels(rows):
        title = _TITLES.get(test, test) + (f", {group_label(test, group)}" if group is not None else "")
        lines += [f"{heading} {title}", ""]
        panel = [r for r in rows if r["test"] == test and r["group"] == group]
        for metric in metrics:
            lines += [f"**{_METRIC_LABELS[metric]}**", "", "| " + LEVEL_LABELS.get(test, "level") + " | " + " | ".join(methods) + " |",
                      "|---" * (len(methods) + 1) + "|"]
            for level in sorted({r["level"] for r in panel}):
                cells = {r["method"]: _cell(r, metric) for r in panel if r["level"] == level}
                lines.append(f"| {level:g} | " + " | ".join(cells.get(m, "") for m in methods) + " |")
            lines.append("")
    return "\n".join(lines)


def _curve(ax: Any, panel: list[dict[str, Any]], method: str, metric: str, **style: Any) -> None:
    pts = sorted((r["level"], r[f"{metric}_mean"], r[f"{metric}_std"], r["n"]) for r in panel
                 if r["method"] == method and np.isfinite(r[f"{metric}_mean"]))
    if not pts:
        return
    x, m, s, n = (np.array(v) for v in zip(*pts))
    line, = ax.plot(x, m, **style)
    if n.min() >= 2:  # one sample has no spread to draw
        ax.fill_between(x, m - s, m + s, alpha=0.15, color=line.get_color())


def plot_results(rows: list[dict[str, Any]], out: Path) -> list[Path]:
    """One PNG per test (and noise-test motion): SSIM, PSNR, RMSE and magnification ratio against the level."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    for test, group in _panels(rows):
        panel = [r for r in rows if r["test"] == test and r["group"] == group]
        methods = list(dict.fromkeys(r["method"] for r in panel))
        fig, axes = plt.subplots(2, 2, figsize=(9, 7))
        colors = {m: f"C{i}" for i, m in enumerate(methods)}
        for ax, metric in zip(axes.flat[:3], ("ssim", "psnr", "rmse")):
            for method in methods:
                if method == "oracle":
                    continue
                style = ({"linestyle": "--", "color": "gray", "label": "baseline (do nothing)"} if method == "do_nothing"
                         else {"marker": "o", "markersize": 3, "color": colors[method], "label": method})
                _curve(ax, panel, method, metric, **style)
            ax.set_ylabel(_METRIC_LABELS[metric])
        ax = axes.flat[3]
        for method in methods:
            if method == "do_nothing":
                continue
            _curve(ax, panel, method, "mag_foreground", marker="o", markersize=3, color=colors[method], label=method)
            _curve(ax, panel, method, "mag_background", linestyle="--", color=colors[method])
        ax.axhline(1.0, color="black", linewidth=0.8)
        ax.set_ylabel("magnification ratio (1 = exact)")
        for ax in axes.flat:
            if test in _LOG_X and min(r["level"] for r in panel) > 0:
                ax.set_xscale("log")
            ax.set_xlabel(LEVEL_LABELS.get(test, "level"))
            ax.grid(True, which="both", alpha=0.3)
            if ax.get_legend_handles_labels()[0]:
                ax.legend(fontsize=7)
        fig.suptitle(_TITLES.get(test, test) + (f", {group_label(test, group)}" if group is not None else ""))
        fig.tight_layout()
        path = out / (f"{test}.png" if group is None else f"{test}_{group:g}px.png")
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)
    return paths


def write_results(results: Results, out: str | Path) -> list[Path]:
    """Write results.csv, results.json, summary.md and the plots into ``out`` (created if needed).

    Returns:
        The paths written.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rows = results.table()
    with atomic_path(out / "results.csv") as csv_tmp:
        with open(csv_tmp, "w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=_COLUMNS)
            writer.writeheader()
            for r in rows:
                writer.writerow({k: ("" if r[k] is None else r[k]) for k in _COLUMNS})
    doc = {"meta": results.meta, "rows": rows, "claims": [dataclasses.asdict(c) for c in check_claims(rows)],
           "scores": [dataclasses.asdict(s) for s in results.scores]}
    _atomic_write(out / "results.json", json.dumps(doc, indent=1))
    _atomic_write(out / "summary.md", _summary(rows, results.meta))
    return [out / "results.csv", out / "results.json", out / "summary.md", *plot_results(rows, out)]
