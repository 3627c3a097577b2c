"""Where one sample came from: :func:`explain_sample` turns its recorded provenance into a readable account.

The shard holding the sample is verified when it is opened (attribute hash, small-array checksums), so
edited provenance fails with one error naming the file instead of describing another sample.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from mmdata.errors import MotionMagError, StoreError, StoreNotFound
from mmdata.render.measure import affine_parts
from mmdata.scene import SampleParams, part_name, part_number
from mmdata.sources.base import Catalogue
from mmdata.store.manifest import find_shards
from mmdata.store.provenance import params_from_json
from mmdata.store.reader import ShardReader
from mmdata.spec import custom_part_numbers

__all__ = ["open_recorded_catalogue", "locate_sample", "active_options", "affine_parts", "explain_sample"]

log = logging.getLogger(__name__)


def open_recorded_catalogue(reader: ShardReader, override: str | Path | None = None) -> Catalogue:
    """Open the catalogue a shard was rendered from (``override`` or its recorded path) and check it.

    Raises:
        StoreError: no catalogue given or recorded, or its identity differs from the recorded one.
        SourceError/SourceNotFound: the folder is not a catalogue.
    """
    from mmdata.sources.catalogue import open_catalogue

    from mmdata.store.writer import read_run_record

    recorded = reader.attrs.get("catalogue", {})
    path = override or recorded.get("path") or read_run_record(reader.path).get("catalogue_path")
    if not path:
        raise StoreError(f"{reader.path}: no catalogue path recorded; pass --catalogue DIR")
    cat = open_catalogue(path)
    if cat.identity != recorded.get("identity"):
        raise StoreError(f"{path}: catalogue identity {cat.identity[:12]} differs from the one {reader.path} was rendered from ({str(recorded.get('identity'))[:12]})")
    return cat


def locate_sample(root: str | Path, part: int | str, index: int) -> tuple[ShardReader, int]:
    """The shard holding sample ``index`` of ``part`` and the sample's offset in it.

    Raises:
        StoreNotFound: no shard of that part holds the index.
    """
    found = find_shards(root)
    p = part_number(part, _recorded_custom_parts(found))
    for q, _, path in found:
        if q != p:
            continue
        reader = ShardReader(path, verify=False)
        if reader.start <= index < reader.start + reader.count:
            # verified only now, so that a damaged shard elsewhere does not hide this one; an edited
            # ``start`` fails here instead of explaining another sample
            return ShardReader(path, verify=True), index - reader.start
    raise StoreNotFound(f"{Path(root) / f'part{p}'}: no shard holds index {index} of part {p} ({part_name(p, _recorded_custom_parts(found))})")


def _recorded_custom_parts(found: list[tuple[int, int, Path]]) -> dict[str, int]:
    """Custom part name -> number, from the config recorded in the first shard of a custom part (if any)."""
    for q, _, path in found:
        if q > 5:
            return custom_part_numbers((ShardReader(path, verify=False).attrs.get("config") or {}).get("dataset"))
    return {}


def _describe(catalogue: Catalogue | None, source_id: str) -> dict[str, Any]:
    if catalogue is None:
        return {"id": source_id}
    try:
        return dict(catalogue.describe(source_id))
    except MotionMagError as exc:
        return {"id": source_id, "error": str(exc)}


def _layer(catalogue: Catalogue | None, layer: Any, params: SampleParams) -> dict[str, Any]:
    d = layer.to_dict()
    dx, dy = layer.motion
    d["motion_px"] = float(np.hypot(dx, dy))
    d["magnified_motion_px"] = float(np.hypot(*params.magnify(layer.motion)))
    d["source"] = _describe(catalogue, layer.source_id)
    if layer.is_affine:
        d["affine"] = affine_parts(layer.motion_gradient)
    return d


def active_options(params: SampleParams, dataset: Mapping[str, Any]) -> dict[str, str]:
    """The generator options (all off by default) that shaped one sample: dotted config key -> what it did.

    Args:
        params: the sample's recorded parameters.
        dataset: the ``dataset`` section of the config its shard recorded.

    Returns:
        One entry per active option, in config order; empty for a sample of the default generator.
    """
    out: dict[str, str] = {}
    if dataset.get("linear_light"):
        out["dataset.linear_light"] = "composited, blurred and decimated in linear light (sources decoded from sRGB, frames re-encoded before offsets, noise and quantization)"
    if params.gain_b != 1.0:
        out["dataset.photometric.gain_flicker"] = f"input frame B (X_b and X'_b) exposed with gain {params.gain_b:.6g}; A, Y and Y' unchanged"
    affine = [layer for layer in (params.background, *params.objects) if layer.is_affine]
    if affine:
        norm = max(float(np.linalg.norm(np.reshape(layer.motion_gradient, (2, 2)), 2)) for layer in affine)
        strain = max(float(np.linalg.norm(params.magnification @ np.reshape(layer.motion_gradient, (2, 2)), 2)) for layer in affine)
        out["dataset.motion.affine"] = (
            f"{len(affine)} layer(s) move affinely, d(x) = delta + (A - I)(x - centre); largest |A - I| {norm:.4g} "
            f"(magnified {strain:.4g}); each layer's A below"
        )
    if params.alpha_y is not None:  # axial targets
        out["dataset.axial"] = (
            f"magnified per axis, M = R(theta) diag(alpha_x, alpha_y) R(theta)^T: theta {math.degrees(params.theta):.4f} deg "
            f"(from +x towards +y), alpha_x {params.alpha:.6g} along it, alpha_y {params.alpha_y:.6g} across it "
            f"(ratio {params.alpha_y / params.alpha:.4g}); every layer shares them"
        )
    if params.read_noise_std > 0:
        out["dataset.photometric.read_noise_std"] = f"Gaussian read noise of std {params.read_noise_std:.4g} (0-255) on every frame that has photon noise"
    return out


def explain_sample(root: str | Path, part: int | str, index: int, catalogue: str | Path | None = None) -> dict[str, Any]:
    """The provenance of one sample in plain terms.

    Args:
        root: dataset root.
        part: part number or name.
        index: sample index within the part.
        catalogue: catalogue folder for source descriptions (default: the recorded one; without a
            usable catalogue, only ids are given).

    Returns:
        A JSON-able dict: part, index, shard path, seed, alpha, noise, blur, the active generator
        options (:func:`active_options`), background and objects (ids, source descriptions, scale,
        position, motion, colour offset), code version, config hash, catalogue identity, creation time.

    Raises:
        StoreNotFound: no shard holds the sample.
        StoreError: the sample was imported and carries no rendering parameters.
    """
    reader, offset = locate_sample(root, part, index)
    text = reader.params_json(offset)
    if not text:
        raise StoreError(f"{reader.path}[{offset}]: sample {index} was imported ({reader.attrs.get('origin')}) and has no rendering parameters")
    params = params_from_json(text)
    try:
        cat: Catalogue | None = open_recorded_catalogue(reader, catalogue)
    except MotionMagError as exc:
        log.warning("source descriptions unavailable: %s", exc)
        cat = None
    a = reader.attrs
    from mmdata.store.writer import read_run_record

    run = read_run_record(reader.path)  # when, where, which checkout (older shards kept it in their attributes)
    dataset = (a.get("config") or {}).get("dataset") or {}
    out = {
        "part": params.part,
        "part_name": str(a.get("part_name") or part_name(params.part)),
        "index": params.index,
        "shard": str(reader.path),
        "offset_in_shard": offset,
        "seed": list(params.seed),
        "alpha": params.alpha,
        **({"axial": {"theta_deg": math.degrees(params.theta), "alpha_x": params.alpha, "alpha_y": params.alpha_y}} if params.is_axial else {}),
        "noise_std": params.noise_std,
        "background_blur": params.background_blur,
        "options": active_options(params, (a.get("config") or {}).get("dataset") or {}),
        "background": _layer(cat, params.background, params),
        "objects": [_layer(cat, o, params) for o in params.objects],
        "code_version": {**(run.get("code") or {}), **(a.get("code_version") or {})},
        "config_hash": a.get("config_hash"),
        "render_config_hash": a.get("render_config_hash"),
        "catalogue": a.get("catalogue"),
        "created": run.get("created", a.get("created")),
        "run": run,
    }
    recipe = _recipe(dataset, str(out["part_name"]))
    if recipe is not None:
        out["recipe"] = recipe
    return out


def _recipe(dataset: Mapping[str, Any], name: str) -> dict[str, Any] | None:
    """A custom part's recipe as recorded: its base part and the knobs it overrides (None for a built-in part)."""
    cp = (dataset.get("custom_parts") or {}).get(name)
    if cp is None:
        return None
    out = {"base": cp["recipe"], **{k: v for k, v in cp.items() if k not in ("recipe", "number")}}
    if "count_min" in cp or "count_max" in cp:  # a range given by one end: the other is dataset.objects'
        for k in ("count_min", "count_max"):
            out.setdefault(k, (dataset.get("objects") or {}).get(k))
    return out
