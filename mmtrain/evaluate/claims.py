"""The paper's claims about its quantitative tests (section 4.1, Fig. 8), checked against measured rows.

Each claim is stated as the paper words it, then decided on the aggregated table
(:meth:`mmtrain.evaluate.scoring.Results.table`) for every network scored (every method that is not
built in), on the primary ``ssim``:

* ``subpixel_beats_phase_based``: above the phase-based mean plus one phase-based standard deviation
  at every input motion >= 0.02 px ("exceeds 1 standard deviation of the phase-based performance as
  the motion increase above 0.02 pixels");
* ``subpixel_down_to_0.01``: above the do-nothing baseline at every input motion, 0.01 px included
  ("performs well down to 0.01 pixels");
* ``noise_beats_phase_based``: above phase-based at every noise factor and input motion ("in all
  cases ... consistently higher");
* ``noise_above_baseline``: above the baseline at every noise factor and input motion ("stays high");
* ``phase_based_to_baseline``: phase-based within one standard deviation of the baseline (or below
  it) at every noise factor > 1 ("drops to the level of the baseline as the noise factor increase
  above 1.0");
* ``noise_smaller_motion_worse``: the network's mean over the noise factors is lower at the smaller
  input motion ("our performance degrades faster as the input motion becomes smaller").

A claim is ``holds``, ``does not hold`` (with the levels where it fails) or ``not measured`` (its
test, levels or methods are missing).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

from mmtrain.evaluate.methods import BUILTIN_METHODS

__all__ = ["Claim", "check_claims"]

Row = dict[str, Any]


@dataclass(frozen=True)
class Claim:
    """One claim, decided for one network."""

    key: str
    method: str
    statement: str
    status: str  # "holds", "does not hold", "not measured"
    detail: str  # where it fails, or why it is not measured


def _index(rows: Sequence[Row]) -> dict[tuple, Row]:
    return {(r["test"], r["group"], r["level"], r["method"]): r for r in rows}


def _decide(key: str, method: str, statement: str, cells: list[tuple[str, bool | None]]) -> Claim:
    """``cells``: (where, passed) per level; None where a method is missing at that level."""
    measured = [(where, ok) for where, ok in cells if ok is not None]
    if not measured:
        return Claim(key, method, statement, "not measured", "the test, its levels or a method are missing")
    failed = [where for where, ok in measured if not ok]
    if failed:
        return Claim(key, method, statement, "does not hold", "fails at " + ", ".join(failed))
    return Claim(key, method, statement, "holds", f"at all {len(measured)} levels measured")


def _compare(idx: dict[tuple, Row], test: str, method: str, other: str, keep: Callable[[float, float | None], bool],
             test_fn: Callable[[Row, Row], bool]) -> list[tuple[str, bool | None]]:
    cells = []
    for (t, group, level, m), row in sorted(idx.items(), key=lambda kv: (kv[0][1] or 0.0, kv[0][2])):
        if t != test or m != method or not keep(level, group):
            continue
        ref = idx.get((t, group, level, other))
        where = f"{level:g}" + (f" (input motion {group:g} px)" if group is not None else "")
        cells.append((where, None if ref is None else bool(test_fn(row, ref))))
    return cells


def _claims_of(idx: dict[tuple, Row], net: str) -> list[Claim]:
    out = []
    out.append(_decide("subpixel_beats_phase_based", net,
                       "Subpixel test: above phase-based by more than 1 std of phase-based for input motion >= 0.02 px",
                       _compare(idx, "subpixel", net, "phase_based", lambda lv, g: lv >= 0.02 - 1e-12,
                                lambda r, p: r["ssim_mean"] > p["ssim_mean"] + p["ssim_std"])))
    sub = _compare(idx, "subpixel", net, "do_nothing", lambda lv, g: True, lambda r, d: r["ssim_mean"] > d["ssim_mean"])
    if not any(w.startswith("0.01") and ok is not None for w, ok in sub):
        sub = []  # the claim is about 0.01 px: without that level it is not measured
    out.append(_decide("subpixel_down_to_0.01", net, "Subpixel test: above the baseline down to 0.01 px", sub))
    out.append(_decide("noise_beats_phase_based", net, "Noise tests: above phase-based at every noise factor",
                       _compare(idx, "noise", net, "phase_based", lambda lv, g: True,
                                lambda r, p: r["ssim_mean"] > p["ssim_mean"])))
    out.append(_decide("noise_above_baseline", net, "Noise tests: above the do-nothing baseline at every noise factor",
                       _compare(idx, "noise", net, "do_nothing", lambda lv, g: True,
                                lambda r, d: r["ssim_mean"] > d["ssim_mean"])))
    means: dict[Any, list[float]] = {}
    for (t, group, level, m), row in idx.items():
        if t == "noise" and m == net:
            means.setdefault(group, []).append(row["ssim_mean"])
    groups = sorted(means)
    cells: list[tuple[str, bool | None]] = [] if len(groups) < 2 else [
        (f"{lo:g} px vs {hi:g} px", sum(means[lo]) / len(means[lo]) < sum(means[hi]) / len(means[hi]))
        for lo, hi in zip(groups, groups[1:])]
    out.append(_decide("noise_smaller_motion_worse", net,
                       "Noise tests: the network does worse at the smaller input motion", cells))
    return out


def check_claims(rows: Sequence[Row]) -> list[Claim]:
    """Every claim for every network in ``rows`` (plus the phase-based claim, once).

    Args:
        rows: the aggregated table.

    Returns:
        The claims, networks in table order.
    """
    idx = _index(rows)
    nets = [m for m in dict.fromkeys(r["method"] for r in rows) if m not in BUILTIN_METHODS]
    out = [_decide("phase_based_to_baseline", "phase_based",
                   "Noise tests: phase-based falls to the baseline (within 1 std, or below) beyond noise factor 1",
                   _compare(idx, "noise", "phase_based", "do_nothing", lambda lv, g: lv > 1.0,
                            lambda p, d: p["ssim_mean"] <= d["ssim_mean"] + max(p["ssim_std"], d["ssim_std"])))]
    for net in nets:
        out += _claims_of(idx, net)
    return out
