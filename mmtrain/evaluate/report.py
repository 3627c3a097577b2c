"""Outputs of the evaluation: CSV and JSON tables, a markdown summary, and Fig. 8-style plots.

Files written into the results folder:

* ``results.csv``: one row per (test, group, level, method) with n, alpha, SSIM mean and std;
* ``results.json``: the same rows, every per-case score, and the test-set specs and border used;
* ``summary.md``: one table per test (and noise-test input motion), ``mean +- std`` per method;
* ``<test>.png`` / ``noise_<motion>px.png``: SSIM against the level, one curve per method with a
  band of +-1 standard deviation (the oracle, always 1, is left out of the plots).
"""

from __future__ import annotations

import csv
import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np

from mmdata.fsutil import atomic_path, atomic_write_text
from mmtrain.evaluate.scoring import Results
from mmtrain.evaluate.cases import LEVEL_LABELS, TEST_NAMES

__all__ = ["write_results", "plot_results", "group_label"]

_COLUMNS = ("test", "group", "level", "method", "n", "alpha", "ssim_mean", "ssim_std")
_TITLES = {"subpixel": "Subpixel test", "noise": "Noise test", "magnification": "Magnification-factor test",
           "input_motion": "Input-motion test"}
_LOG_X = {"subpixel", "noise", "magnification"}


def group_label(test: str, group: float | None) -> str:
    """Human label of a group: ``input motion 0.05 px`` for the noise test, else ``""``."""
    return "" if group is None else f"input motion {group:g} px"


def _atomic_write(path: Path, text: str) -> None:
    atomic_write_text(path, text)


def _panels(rows: list[dict[str, Any]]) -> list[tuple[str, float | None]]:
    seen = {(r["test"], r["group"]) for r in rows}
    return sorted(seen, key=lambda k: (TEST_NAMES.index(k[0]) if k[0] in TEST_NAMES else 99, k[1] or 0.0))


def _summary(rows: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    methods = list(dict.fromkeys(r["method"] for r in rows))
    lines = ["# Quantitative evaluation (paper Fig. 8)", "",
             f"SSIM (mean +- std over the samples of each level) against the ground truth, {meta.get('border')} px "
             "border cropped. `do_nothing` is the baseline SSIM(input B, ground truth).", ""]
    for test, group in _panels(rows):
        title = _TITLES.get(test, test) + (f", {group_label(test, group)}" if group is not None else "")
        lines += [f"## {title}", "", "| " + LEVEL_LABELS.get(test, "level") + " | " + " | ".join(methods) + " |",
                  "|---" * (len(methods) + 1) + "|"]
        panel = [r for r in rows if r["test"] == test and r["group"] == group]
        for level in sorted({r["level"] for r in panel}):
            cells = {r["method"]: f"{r['ssim_mean']:.4f} +- {r['ssim_std']:.4f}" for r in panel if r["level"] == level}
            lines.append(f"| {level:g} | " + " | ".join(cells.get(m, "") for m in methods) + " |")
        lines.append("")
    return "\n".join(lines)


def plot_results(rows: list[dict[str, Any]], out: Path) -> list[Path]:
    """One PNG per test (and noise-test motion): SSIM vs level, a curve and +-std band per method."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    for test, group in _panels(rows):
        panel = [r for r in rows if r["test"] == test and r["group"] == group and r["method"] != "oracle"]
        fig, ax = plt.subplots(figsize=(5, 4))
        for method in dict.fromkeys(r["method"] for r in panel):
            pts = sorted((r["level"], r["ssim_mean"], r["ssim_std"]) for r in panel if r["method"] == method)
            x, m, s = (np.array(v) for v in zip(*pts))
            style = {"linestyle": "--", "color": "gray"} if method == "do_nothing" else {"marker": "o", "markersize": 3}
            label = "baseline (do nothing)" if method == "do_nothing" else method
            line, = ax.plot(x, m, label=label, **style)
            ax.fill_between(x, m - s, m + s, alpha=0.2, color=line.get_color())
        if test in _LOG_X and min(r["level"] for r in panel) > 0:
            ax.set_xscale("log")
        ax.set_xlabel(LEVEL_LABELS.get(test, "level"))
        ax.set_ylabel("SSIM")
        ax.set_title(_TITLES.get(test, test) + (f"\n{group_label(test, group)}" if group is not None else ""))
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(loc="lower left", fontsize=8)
        fig.tight_layout()
        path = out / (f"{test}.png" if group is None else f"{test}_{group:g}px.png")
        fig.savefig(path, dpi=120)
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
    doc = {"meta": results.meta, "rows": rows, "scores": [dataclasses.asdict(s) for s in results.scores]}
    _atomic_write(out / "results.json", json.dumps(doc, indent=1))
    _atomic_write(out / "summary.md", _summary(rows, results.meta))
    return [out / "results.csv", out / "results.json", out / "summary.md", *plot_results(rows, out)]
