"""The dataset card: what an indexed dataset holds, as markdown, JSON and histograms.

``ROOT/card/card.json`` and ``card.md`` summarise every part (samples, shards, bytes per sample on
disk, statistics of alpha, per-layer input and magnified motion, object counts, noise; with axial
targets, alpha_y and theta too) and record the manifest hash, config hash, catalogue identity and code
versions, and the generator options (all off by default) the recorded config turns on, with their
ranges (:func:`generator_options`); ``alpha.png``, ``motion.png``, ``objects.png`` and
``bytes_per_sample.png`` show the distributions per part.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from mmdata.scene import part_name
from mmdata.errors import StoreError
from mmdata.fsutil import atomic_write_bytes, commit, discard, os_errors_named, remove_stale, replace_dir, tmp_name
from mmdata.store.reader import dataset_from_manifest

__all__ = ["CARD_DIR", "generator_options", "card_statistics", "write_card", "write_index"]

log = logging.getLogger(__name__)

CARD_DIR = "card"


def _stats(values: np.ndarray) -> dict[str, float | int | None]:
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return {"n": 0, "min": None, "max": None, "mean": None, "median": None}
    return {"n": int(v.size), "min": float(v.min()), "max": float(v.max()), "mean": float(v.mean()), "median": float(np.median(v))}


def _part_arrays(root: Path, manifest: Mapping[str, Any], part: int, axial: bool = False) -> dict[str, np.ndarray]:
    """alpha, per-layer |motion| and magnified |motion|, object counts and noise of one part (and, in an
    axial dataset, alpha_y and theta in degrees; the magnified motion is then |M delta|)."""
    ds = dataset_from_manifest(root, dict(manifest), parts=[part], verify=False)
    names = ("alpha", "motion", "n_objects", "noise_std", *(("alpha_y", "theta") if axial else ()))
    runs = [ds.read_run(i, 0, ref.count, names) for i, ref in enumerate(ds.shards)]
    if not runs:  # a part the config asks for, none of whose shards exist yet
        empty = np.zeros(0, dtype=np.float32)
        return {k: empty for k in ("alpha", "motion", "magnified_motion", "n_objects", "noise_std", *(("alpha_y", "theta_deg") if axial else ()))}
    cols = {k: np.concatenate([r[k] for r in runs]) for k in names}
    alpha, motion, n_obj = cols["alpha"], cols["motion"], cols["n_objects"]
    mag = np.hypot(motion[..., 0], motion[..., 1])  # (N, L), NaN on padding
    magnified = mag * alpha[:, None]
    out = {"alpha": alpha}
    if axial:  # |M delta|: alpha along theta, alpha_y across it
        c, sn = np.cos(cols["theta"])[:, None], np.sin(cols["theta"])[:, None]
        along, across = motion[..., 0] * c + motion[..., 1] * sn, -motion[..., 0] * sn + motion[..., 1] * c
        magnified = np.hypot(alpha[:, None] * along, cols["alpha_y"][:, None] * across)
        out.update({"alpha_y": cols["alpha_y"], "theta_deg": np.degrees(cols["theta"])})
    return {
        **out,
        "motion": mag[np.isfinite(mag)],
        "magnified_motion": magnified[np.isfinite(mag)],
        "n_objects": n_obj[n_obj >= 0],
        "noise_std": cols["noise_std"],
    }


def _range(section: Mapping[str, Any]) -> str:
    return f"[{section['min']:g}, {section['max']:g}]"


def generator_options(dataset: Mapping[str, Any] | None) -> dict[str, str]:
    """The generator options (all off by default) a recorded ``dataset`` config section turns on, with their ranges.

    Returns:
        Dotted config key -> plain description, in schema order; empty for the paper's generator
        (or an imported dataset, which records no config).
    """
    ds = dict(dataset or {})
    out: dict[str, str] = {}
    if ds.get("total") is not None and ds.get("mix"):
        shares = ", ".join(f"{name} {ratio:g}" for name, ratio in ds["mix"].items())
        out["dataset.mix"] = f"{ds['total']} samples split by ratio: {shares}"
    for name, cp in (ds.get("custom_parts") or {}).items():
        knobs = [f"{k} {str(cp[k]).lower()}" for k in ("background_moves", "objects_move", "blur") if k in cp]
        if "count_min" in cp or "count_max" in cp:
            objects = ds.get("objects") or {}
            knobs.append(f"objects {cp.get('count_min', objects.get('count_min'))}-{cp.get('count_max', objects.get('count_max'))}")
        out[f"dataset.custom_parts.{name}"] = f"part {cp['number']}, recipe {cp['recipe']}" + (f" with {', '.join(knobs)}" if knobs else "")
    affine = (ds.get("motion") or {}).get("affine") or {}
    if any(float(affine.get(k, 0.0)) > 0 for k in ("rotation_deg", "scale", "shear")):
        out["dataset.motion.affine"] = (f"rotation in [-{affine['rotation_deg']:g}, {affine['rotation_deg']:g}] deg, scale change in "
                                        f"[-{affine['scale']:g}, {affine['scale']:g}], shear in [-{affine['shear']:g}, {affine['shear']:g}] per moving layer")
    if ds.get("linear_light"):
        out["dataset.linear_light"] = "composited, blurred and decimated in linear light (sRGB decoded, re-encoded)"
    ph = ds.get("photometric") or {}
    if float(ph.get("gain_flicker", 0.0)) > 0:
        out["dataset.photometric.gain_flicker"] = f"gain of input frame B in [{1 - ph['gain_flicker']:g}, {1 + ph['gain_flicker']:g}]"
    if float((ph.get("read_noise_std") or {}).get("max", 0.0)) > 0:
        out["dataset.photometric.read_noise_std"] = f"Gaussian read-noise std in {_range(ph['read_noise_std'])} (0-255)"
    axial = ds.get("axial") or {}
    if axial.get("enabled"):
        out["dataset.axial"] = (f"axial targets: theta in {_range(axial['theta_deg'])} deg, alpha_x = alpha, "
                                f"alpha_y = r * alpha with r in {_range(axial['ratio'])}")
    return out


def card_statistics(root: str | Path, manifest: Mapping[str, Any]) -> tuple[dict[str, Any], dict[int, dict[str, np.ndarray]]]:
    """The card's JSON document and the per-part arrays its histograms show."""
    root = Path(root)
    arrays: dict[int, dict[str, np.ndarray]] = {}
    parts: dict[str, Any] = {}
    config = _recorded_config(root, manifest)
    dataset = config.get("dataset") or {}
    axial = bool((dataset.get("axial") or {}).get("enabled"))
    for key, info in sorted(manifest["parts"].items()):
        part = int(key)
        arrays[part] = _part_arrays(root, manifest, part, axial)
        nbytes = sum(s["bytes"] for s in manifest["shards"] if int(s["part"]) == part)
        parts[key] = {
            "name": str(info.get("name") or part_name(part)),
            "samples": info["count"],
            "expected": info["expected"],
            "shards": info["shards"],
            "missing_shards": info["missing"],
            "bytes": nbytes,
            "bytes_per_sample": nbytes / max(info["count"], 1),
            **{name: _stats(values) for name, values in arrays[part].items()},
        }
    doc = {
        "manifest_hash": manifest["manifest_hash"],
        "render_config_hash": manifest["render_config_hash"],
        "catalogue_identity": manifest["catalogue_identity"],
        "image_shape": manifest["image_shape"],
        "frame_fields": manifest["frame_fields"],
        "code_versions": manifest["code_versions"],
        "samples": sum(p["samples"] for p in parts.values()),
        "bytes": sum(p["bytes"] for p in parts.values()),
        "generator_options": generator_options(dataset),
        "parts": parts,
    }
    return doc, arrays


def _recorded_config(root: Path, manifest: Mapping[str, Any]) -> dict[str, Any]:
    """The config the first indexed shard recorded ({} for imported shards, which record none)."""
    from mmdata.store.reader import ShardReader

    shards = manifest.get("shards") or []
    if not shards:
        return {}
    return dict(ShardReader(root / shards[0]["path"], verify=False).attrs.get("config") or {})


def _histograms(out: Path, doc: Mapping[str, Any], arrays: Mapping[int, Mapping[str, np.ndarray]]) -> list[str]:
    """Write the PNG histograms; return their file names."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    files = []
    panels = [
        ("alpha.png", ["alpha"], "magnification factor alpha"),
        ("motion.png", ["motion", "magnified_motion"], "per-layer motion |delta| and alpha*|delta| (px)"),
        ("objects.png", ["n_objects"], "foreground objects per sample"),
    ]
    for name, keys, title in panels:
        fig, axes = plt.subplots(1, len(keys), figsize=(5 * len(keys), 3.5), squeeze=False)
        for ax, key in zip(axes[0], keys):
            for part, arr in sorted(arrays.items()):
                if arr[key].size:
                    ax.hist(arr[key], bins=30, histtype="step", label=f"{part} {doc['parts'][str(part)]['name']}")
            ax.set_xlabel(key)
            ax.set_ylabel("count")
            if ax.get_legend_handles_labels()[0]:
                ax.legend(fontsize=7)
        fig.suptitle(title)
        fig.tight_layout()
        fig.savefig(out / name, dpi=80)
        plt.close(fig)
        files.append(name)
    fig, ax = plt.subplots(figsize=(5, 3.5))
    keys = sorted(doc["parts"], key=int)
    ax.bar([f"{k} {doc['parts'][k]['name']}" for k in keys], [doc["parts"][k]["bytes_per_sample"] / 1e6 for k in keys])
    ax.set_ylabel("MB per sample on disk")
    ax.tick_params(axis="x", labelrotation=30)
    fig.tight_layout()
    fig.savefig(out / "bytes_per_sample.png", dpi=80)
    plt.close(fig)
    return [*files, "bytes_per_sample.png"]


def _markdown(doc: Mapping[str, Any], images: list[str]) -> str:
    def fmt(s: Mapping[str, Any], key: str = "mean") -> str:
        return "-" if s[key] is None else f"{s[key]:.3g}"

    lines = [
        "# Dataset card",
        "",
        f"{doc['samples']} samples, {doc['bytes'] / 1e6:.1f} MB on disk, frames {doc['image_shape'][0]}x{doc['image_shape'][1]} "
        f"({', '.join(doc['frame_fields'])}).",
        "",
        f"- manifest hash: `{doc['manifest_hash']}`",
        f"- render config hash: `{doc['render_config_hash']}`",
        f"- catalogue identity: `{doc['catalogue_identity']}`",
        *(f"- rendering code hash: `{str(v.get('render_code_hash'))[:16]}` (numpy {v.get('numpy')}, scipy {v.get('scipy')})" for v in doc["code_versions"]),
        "- when, where and by which commit each shard was written: its `run.json` (`part*/shard-*.zarr/run.json`)",
        "",
        "| part | name | samples | shards | missing | MB/sample | alpha mean (min-max) | mean abs(delta) px | mean magnified abs(delta) px | objects mean (min-max) | noise std mean |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for key in sorted(doc["parts"], key=int):
        p = doc["parts"][key]
        lines.append(
            f"| {key} | {p['name']} | {p['samples']} / {p['expected']} | {p['shards']} | {len(p['missing_shards'])} | "
            f"{p['bytes_per_sample'] / 1e6:.3f} | {fmt(p['alpha'])} ({fmt(p['alpha'], 'min')}-{fmt(p['alpha'], 'max')}) | "
            f"{fmt(p['motion'])} | {fmt(p['magnified_motion'])} | {fmt(p['n_objects'])} ({fmt(p['n_objects'], 'min')}-{fmt(p['n_objects'], 'max')}) | "
            f"{fmt(p['noise_std'])} |"
        )
    options = doc.get("generator_options") or {}
    lines += ["", "## Generator options", ""]
    lines += [f"- `{key}`: {text}" for key, text in options.items()] or ["None: the paper's generator (every option off)."]
    axial = [k for k in sorted(doc["parts"], key=int) if "alpha_y" in doc["parts"][k]]
    if axial:
        lines += ["", "| part | alpha_y mean (min-max) | theta deg mean (min-max) |", "|---|---|---|"]
        for key in axial:
            p = doc["parts"][key]
            lines.append(f"| {key} | {fmt(p['alpha_y'])} ({fmt(p['alpha_y'], 'min')}-{fmt(p['alpha_y'], 'max')}) | "
                         f"{fmt(p['theta_deg'])} ({fmt(p['theta_deg'], 'min')}-{fmt(p['theta_deg'], 'max')}) |")
    lines += ["", *(f"![{img}]({img})" for img in images), ""]
    return "\n".join(lines)


def write_card(root: str | Path, manifest: Mapping[str, Any]) -> Path:
    """Write ``ROOT/card/`` (card.md, card.json, PNG histograms) for an indexed dataset.

    Args:
        root: the dataset root.
        manifest: its manifest (as written, or about to be: see :func:`write_index`).

    Returns:
        The card folder.
    """
    root = Path(root)
    tmp = _prepare_card(root, manifest)
    try:
        replace_dir(tmp, root / CARD_DIR)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log.info("%s: dataset card written", root / CARD_DIR)
    return root / CARD_DIR


def _prepare_card(root: Path, manifest: Mapping[str, Any]) -> Path:
    """Build the card in a hidden temporary folder beside ``ROOT/card`` and return that folder."""
    out = root / CARD_DIR
    remove_stale(root, CARD_DIR)
    tmp = tmp_name(out)
    try:
        with os_errors_named(out, StoreError, "cannot write the dataset card"):
            tmp.mkdir(parents=True)
            doc, arrays = card_statistics(root, manifest)
            images = _histograms(tmp, doc, arrays)
            doc["images"] = images
            (tmp / "card.json").write_text(json.dumps(doc, indent=1) + "\n")
            (tmp / "card.md").write_text(_markdown(doc, images))
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return tmp


def write_index(root: str | Path, manifest: dict[str, Any]) -> tuple[Path, Path]:
    """Write ``ROOT/manifest.json`` and ``ROOT/card/`` together: both or neither.

    All the work that can fail for want of space or a bad shard (the manifest's text, the card's
    statistics and figures) is done in temporary files first; then the manifest is renamed into place
    and the card after it. Should the card's rename fail, the previous manifest is put back, so the
    card never describes another manifest than the one beside it.

    Returns:
        (manifest path, card folder).

    Raises:
        StoreError: something could not be written (the file is named); nothing has changed then.
    """
    from mmdata.store.manifest import manifest_text
    from mmdata.store.reader import MANIFEST_NAME

    root = Path(root)
    manifest_path, card = root / MANIFEST_NAME, root / CARD_DIR
    previous = manifest_path.read_bytes() if manifest_path.is_file() and not manifest_path.is_symlink() else None
    manifest_tmp = tmp_name(manifest_path)
    try:
        with os_errors_named(manifest_path, StoreError, "cannot write the manifest"):
            manifest_tmp.write_text(manifest_text(manifest), encoding="utf-8")
        card_tmp = _prepare_card(root, manifest)
        try:
            with os_errors_named(manifest_path, StoreError, "cannot write the manifest"):
                commit(manifest_tmp, manifest_path)
            try:
                with os_errors_named(card, StoreError, "cannot write the dataset card"):
                    replace_dir(card_tmp, card)
            except BaseException:
                if previous is None:
                    manifest_path.unlink(missing_ok=True)
                else:
                    atomic_write_bytes(manifest_path, previous)
                raise
        except BaseException:
            shutil.rmtree(card_tmp, ignore_errors=True)
            raise
    finally:
        discard(manifest_tmp)
    log.info("%s: %d shards; dataset card in %s", manifest_path, len(manifest["shards"]), card)
    return manifest_path, card
