"""Learning curves: the loss terms of ``metrics.jsonl`` against the step, as a PNG and as numbers.

One panel per split: training ``recon`` and ``total`` (the logged batches), and validation ``recon``
of the held-out samples beside ``baseline``, the loss of doing nothing on the same samples; the
network beats doing nothing where its validation curve runs below the baseline. Several runs (one
``metrics.jsonl`` each, e.g. the ``paper`` and ``official`` presets) share the axes.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from mmdata.errors import MotionMagError
from mmdata.fsutil import atomic_path, check_suffix

__all__ = ["Curves", "read_metrics", "check_curves_path", "plot_curves"]


@dataclass
class Curves:
    """One run's metrics by split: ``train`` and ``val`` records in step order."""

    train: list[dict[str, Any]] = field(default_factory=list)
    val: list[dict[str, Any]] = field(default_factory=list)

    def wall_s(self) -> float | None:
        """Seconds from the first to the last stamped record (None without ``time`` stamps)."""
        times = [r["time"] for r in (*self.train, *self.val) if "time" in r]
        return max(times) - min(times) if len(times) > 1 else None

    def last_val(self) -> dict[str, Any]:
        """The last validation record ({} when none)."""
        return self.val[-1] if self.val else {}


def read_metrics(path: str | Path) -> Curves:
    """Read a ``metrics.jsonl``; a damaged line is an error naming the file and line.

    Raises:
        MotionMagError: missing file, a line that is not a JSON object with ``split`` and ``step``.
    """
    path = Path(path)
    if not path.is_file():
        raise MotionMagError(f"{path}: no such metrics file")
    curves = Curves()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise MotionMagError(f"{path}:{number}: not a JSON line ({exc.msg})") from exc
        if not isinstance(record, dict) or record.get("split") not in ("train", "val") or "step" not in record:
            raise MotionMagError(f"{path}:{number}: not a metrics record (needs split train/val and step)")
        getattr(curves, record["split"]).append(record)
    for records in (curves.train, curves.val):
        records.sort(key=lambda r: r["step"])
    return curves


def check_curves_path(out: str | Path) -> Path:
    """Check that ``out`` is a ``.png`` file name (before reading any metrics).

    Raises:
        ConfigError: another extension, naming the path and ``.png``.
    """
    return check_suffix(out, (".png",), what="learning-curve image")


def plot_curves(runs: Mapping[str, Curves], out: str | Path, *, title: str = "Learning curves") -> Path:
    """Write the learning curves of one or more runs to a PNG (atomically).

    Raises:
        ConfigError: ``out`` is not a ``.png`` file name.
        MotionMagError: no run has a single record.
    """
    check_curves_path(out)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not any(c.train or c.val for c in runs.values()):
        raise MotionMagError("no metrics to plot (every run is empty)")
    fig, (ax_t, ax_v) = plt.subplots(1, 2, figsize=(11, 4), constrained_layout=True)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (name, c) in enumerate(runs.items()):
        color = colors[i % len(colors)]
        if c.train:
            steps = [r["step"] for r in c.train]
            marker = "." if len(steps) < 30 else None  # a short run's points stay visible
            ax_t.plot(steps, [r["recon"] for r in c.train], color=color, marker=marker, label=f"{name}: recon")
            ax_t.plot(steps, [r["total"] for r in c.train], color=color, alpha=0.4, lw=0.8, label=f"{name}: total")
        if c.val:
            steps = [r["step"] for r in c.val]
            ax_v.plot(steps, [r["recon"] for r in c.val], "o-", color=color, ms=3, label=f"{name}: validation recon")
            if all(math.isfinite(r.get("baseline", math.nan)) for r in c.val):
                ax_v.plot(steps, [r["baseline"] for r in c.val], "--", color=color, alpha=0.7,
                          label=f"{name}: do nothing (output = B)")
    for ax, label in ((ax_t, "training batches"), (ax_v, "held-out validation samples")):
        ax.set_yscale("log")
        ax.set_xlabel("step")
        ax.set_ylabel("L1 loss (model range)")
        ax.set_title(label)
        ax.grid(True, which="both", alpha=0.3)
        if ax.has_data():
            ax.legend(fontsize=8)
    fig.suptitle(title)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    return out
