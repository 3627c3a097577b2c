"""Generator options (off by default) survive the store: recorded, re-rendered byte for byte, explained.

For each option a tiny shard is generated with it on; the audit re-renders it (PASSED) and
``mmdata explain`` shows a line for the option. Then its recorded value is flipped, with the
attribute hash resealed so that only the re-render can notice, and the audit must fail.
"""

from __future__ import annotations

import copy
import dataclasses
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import zarr
from store_helpers import builtin_catalogue_dir, reindex, small_config, write_config

from mmdata.cli import main
from mmdata.store import shard_path
from mmdata.store.audit import audit_dataset
from mmdata.store.integrity import ATTRS_KEY, attrs_digest
from mmdata.store.provenance import bytes_checksum, params_from_json, params_to_json
from mmdata.store.writer import shard_checksum

PARTS = {"fg_bg": 2, "bg_only": 0, "blur_bg": 0, "static": 0, "fg_only": 0}

#: option -> (dataset keys that turn it on, the same keys flipped off, the explain line's key, what the audit says then)
OPTIONS: dict[str, tuple[dict[str, Any], dict[str, Any], str, str]] = {
    # a config-wide rendering setting: only the re-render can tell
    "linear_light": ({"linear_light": True}, {"linear_light": False}, "dataset.linear_light", "byte(s) differ from the re-render"),
    # per-sample draws: the audit's fresh draw from the seed no longer matches the recorded values
    "photometric": (
        {"photometric": {"gain_flicker": 0.2, "read_noise_std": {"min": 0.5, "max": 3.0}}},
        {"photometric": {"gain_flicker": 0.0, "read_noise_std": {"min": 0.0, "max": 0.0}}},
        "dataset.photometric.gain_flicker",
        "recorded parameters differ from a fresh draw",
    ),
    "affine": (
        {"motion": {"affine": {"rotation_deg": 1.0, "scale": 0.02, "shear": 0.01}}},
        {"motion": {"affine": {"rotation_deg": 0.0, "scale": 0.0, "shear": 0.0}}},
        "dataset.motion.affine",
        "recorded parameters differ from a fresh draw",
    ),
    "axial": (
        {"axial": {"enabled": True, "theta_deg": {"min": 10.0, "max": 80.0}, "ratio": {"min": 0.1, "max": 0.5}}},
        {"axial": {"enabled": False}},
        "dataset.axial",
        "recorded parameters differ from a fresh draw",
    ),
}

#: options that are rendering settings of the whole dataset, not per-sample draws
CONFIG_WIDE = {"linear_light"}

#: per-sample option -> (recorded SampleParams fields changed, the audit's findings then)
PER_SAMPLE: dict[str, tuple[dict[str, Any], tuple[str, ...]]] = {
    "photometric gain": ({"gain_b": 1.0}, ("recorded parameters differ from a fresh draw", "frame_b: ")),
    "photometric read noise": ({"read_noise_std": 0.0}, ("recorded parameters differ from a fresh draw", "frame_a: ")),
}

#: per-sample affine flips: (option, index of the layer, 0 = background) -> the recorded layer fields changed
AFFINE_FLIPS: dict[str, tuple[int, dict[str, Any]]] = {
    "background turned back into a translation": (0, {"motion_gradient": (0.0, 0.0, 0.0, 0.0)}),
    "object's rotation reversed": (1, {"negate": True}),
}


@pytest.fixture(scope="module")
def catalogue_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return builtin_catalogue_dir(tmp_path_factory)


def _generate(tmp: Path, catalogue_dir: Path, dataset: dict[str, Any]) -> Path:
    cfg = small_config(dataset={"shard_size": 2, "parts": PARTS, **dataset})
    root = tmp / "ds"
    args = ["-q", "generate", "--config", str(write_config(tmp / "c.yaml", cfg)), "--catalogue", str(catalogue_dir),
            "--part", "1", "--shard", "0", "--root", str(root)]
    assert main(args) == 0
    reindex(root)
    return root


def _merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in changes.items():
        out[key] = _merge(out.get(key, {}), value) if isinstance(value, dict) else value
    return out


def _flip_recorded_config(root: Path, dataset: dict[str, Any]) -> None:
    """Change the shard's recorded config and reseal its attribute hash (a writer that recorded the wrong value)."""
    group = zarr.open_group(str(shard_path(root, 1, 0)), mode="r+")
    attrs = group.attrs.asdict()
    attrs["config"] = {**attrs["config"], "dataset": _merge(attrs["config"]["dataset"], dataset)}
    attrs[ATTRS_KEY] = attrs_digest(attrs)
    group.attrs.update(attrs)
    reindex(root)


@pytest.mark.parametrize("option", sorted(OPTIONS))
def test_option_is_recorded_rerendered_and_explained(option, tmp_path, catalogue_dir, capsys):
    on, off, key, finding = OPTIONS[option]
    root = _generate(tmp_path, catalogue_dir, on)
    report = audit_dataset(root, rng=np.random.default_rng(0))
    assert report.ok, report.text()
    assert report.text().startswith("audit PASSED") and report.samples_rendered == 2
    capsys.readouterr()
    assert main(["-q", "explain", "--root", str(root), "--part", "1", "--index", "1"]) == 0
    assert f"  option {key}: " in capsys.readouterr().out

    flipped = tmp_path / "flipped"
    shutil.copytree(root, flipped)
    _flip_recorded_config(flipped, off)
    report = audit_dataset(flipped, rng=np.random.default_rng(0))
    assert not report.ok and report.text().startswith("audit FAILED")
    assert all(p.index in (0, 1) for p in report.problems)  # named per sample, nothing else is wrong
    assert {p.index for p in report.problems if finding in p.what} == {0, 1}, report.text()
    assert main(["-q", "explain", "--root", str(flipped), "--part", "1", "--index", "1"]) == 0
    # a config-wide setting is explained from the recorded config, a per-sample draw from the sample's record
    assert (f"option {key}" in capsys.readouterr().out) == (option not in CONFIG_WIDE)


def _flip_recorded_params(root: Path, offset: int, changes: dict[str, Any]) -> None:
    """Change one sample's recorded parameters and reseal every checksum over them (a writer's bug)."""
    group = zarr.open_group(str(shard_path(root, 1, 0)), mode="r+")
    values = group["params_json"][:]
    params = dataclasses.replace(params_from_json(str(values[offset])), **changes)
    values[offset] = params_to_json(params)
    group["params_json"][:] = values
    attrs = group.attrs.asdict()
    attrs["checksums"] = {**attrs["checksums"], "params_json": bytes_checksum(group["params_json"][:])}
    attrs["shard_checksum"] = shard_checksum(attrs["checksums"])
    attrs[ATTRS_KEY] = attrs_digest(attrs)
    group.attrs.update(attrs)
    reindex(root)


@pytest.fixture(scope="module")
def photometric_root(tmp_path_factory: pytest.TempPathFactory, catalogue_dir: Path) -> Path:
    return _generate(tmp_path_factory.mktemp("photometric"), catalogue_dir, OPTIONS["photometric"][0])


@pytest.mark.parametrize("case", sorted(PER_SAMPLE))
def test_a_flipped_sample_parameter_fails_the_audit(case, photometric_root, tmp_path):
    changes, findings = PER_SAMPLE[case]
    root = tmp_path / "ds"
    shutil.copytree(photometric_root, root)
    _flip_recorded_params(root, 1, changes)
    report = audit_dataset(root, rng=np.random.default_rng(0))
    assert not report.ok, report.text()
    assert {p.index for p in report.problems} == {1}, report.text()  # only the edited sample, by name
    for finding in findings:  # the draw check and the re-render of the recorded (wrong) value both notice
        assert any(finding in p.what for p in report.problems), (finding, report.text())


@pytest.fixture(scope="module")
def affine_root(tmp_path_factory: pytest.TempPathFactory, catalogue_dir: Path) -> Path:
    return _generate(tmp_path_factory.mktemp("affine"), catalogue_dir, OPTIONS["affine"][0])


@pytest.mark.parametrize("case", sorted(AFFINE_FLIPS))
def test_a_flipped_affine_motion_fails_the_audit(case, affine_root, tmp_path):
    which, change = AFFINE_FLIPS[case]
    root = tmp_path / "ds"
    shutil.copytree(affine_root, root)
    recorded = params_from_json(str(zarr.open_group(str(shard_path(root, 1, 0)), mode="r")["params_json"][1]))
    layers = [recorded.background, *recorded.objects]
    assert all(layer.is_affine for layer in layers)  # part 1: every layer moves
    layer = layers[which]
    if change.get("negate"):
        change = {"motion_gradient": tuple(-v for v in layer.motion_gradient)}
    layers[which] = dataclasses.replace(layer, **change)
    _flip_recorded_params(root, 1, {"background": layers[0], "objects": tuple(layers[1:])})
    report = audit_dataset(root, rng=np.random.default_rng(0))
    assert not report.ok and {p.index for p in report.problems} == {1}, report.text()
    assert any("recorded parameters differ from a fresh draw" in p.what for p in report.problems)
    assert any("frame_b: " in p.what and "differ from the re-render" in p.what for p in report.problems)
    assert any("frame_y: " in p.what and "differ from the re-render" in p.what for p in report.problems)
    assert not any("frame_a: " in p.what for p in report.problems)  # A is the layer before it moves


def test_a_default_sample_lists_no_option(tmp_path, catalogue_dir, capsys):
    root = _generate(tmp_path, catalogue_dir, {})
    capsys.readouterr()
    assert main(["-q", "explain", "--root", str(root), "--part", "1", "--index", "0"]) == 0
    assert "  option " not in capsys.readouterr().out


#: axial flips: what is edited (the recorded parameters, or the stored array with its checksum resealed)
AXIAL_FLIPS: dict[str, tuple[str, str]] = {
    "recorded theta turned by 10 degrees": ("params", "theta"),
    "recorded alpha_y doubled": ("params", "alpha_y"),
    "stored alpha_y array doubled": ("array", "alpha_y"),
    "stored theta array turned": ("array", "theta"),
}


@pytest.fixture(scope="module")
def axial_root(tmp_path_factory: pytest.TempPathFactory, catalogue_dir: Path) -> Path:
    return _generate(tmp_path_factory.mktemp("axial"), catalogue_dir, OPTIONS["axial"][0])


def test_an_axial_shard_stores_the_factors_of_its_recorded_parameters(axial_root):
    group = zarr.open_group(str(shard_path(axial_root, 1, 0)), mode="r")
    for offset in range(2):
        p = params_from_json(str(group["params_json"][offset]))
        assert p.is_axial and 10.0 <= np.degrees(p.theta) <= 80.0 and 0.1 * p.alpha <= p.alpha_y <= 0.5 * p.alpha
        stored = [float(group[name][offset]) for name in ("theta", "alpha_x", "alpha_y", "alpha")]
        assert stored == [float(np.float32(v)) for v in (p.theta, p.alpha, p.alpha_y, p.alpha)]


def _reseal_array(root: Path, name: str, values: np.ndarray) -> None:
    """Overwrite one stored array and reseal its checksum (a writer that stored the wrong values)."""
    group = zarr.open_group(str(shard_path(root, 1, 0)), mode="r+")
    group[name][:] = values
    attrs = group.attrs.asdict()
    attrs["checksums"] = {**attrs["checksums"], name: bytes_checksum(group[name][:])}
    attrs["shard_checksum"] = shard_checksum(attrs["checksums"])
    attrs[ATTRS_KEY] = attrs_digest(attrs)
    group.attrs.update(attrs)
    reindex(root)


@pytest.mark.parametrize("case", sorted(AXIAL_FLIPS))
def test_an_edited_axial_target_fails_the_audit(case, axial_root, tmp_path):
    where, name = AXIAL_FLIPS[case]
    root = tmp_path / "ds"
    shutil.copytree(axial_root, root)
    group = zarr.open_group(str(shard_path(root, 1, 0)), mode="r")
    recorded = params_from_json(str(group["params_json"][1]))
    if where == "params":
        value = recorded.theta + np.radians(10.0) if name == "theta" else 2.0 * recorded.alpha_y
        _flip_recorded_params(root, 1, {name: float(value)})
        findings = ("recorded parameters differ from a fresh draw", f"stored array(s) {name} differ from the recorded parameters", "frame_y: ")
    else:
        values = np.asarray(group[name][:]).copy()
        values[1] = values[1] * 2.0 if name == "alpha_y" else values[1] + 0.2
        _reseal_array(root, name, values)
        findings = (f"stored array(s) {name} differ from the recorded parameters",)
    report = audit_dataset(root, rng=np.random.default_rng(0))
    assert not report.ok and report.text().startswith("audit FAILED") and {p.index for p in report.problems} == {1}, report.text()
    for finding in findings:
        assert any(finding in p.what for p in report.problems), (finding, report.text())
    if where == "params":  # the target is re-rendered with the edited value: only the magnified frames differ
        differ = {p.what.split(":")[0] for p in report.problems if "differ from the re-render" in p.what}
        assert differ == {"frame_y", "frame_y_perturbed"}, report.text()


def test_explain_shows_the_axial_targets(axial_root, capsys):
    recorded = params_from_json(str(zarr.open_group(str(shard_path(axial_root, 1, 0)), mode="r")["params_json"][0]))
    capsys.readouterr()
    assert main(["-q", "explain", "--root", str(axial_root), "--part", "1", "--index", "0"]) == 0
    out = capsys.readouterr().out
    line = next(l for l in out.splitlines() if l.startswith("  option dataset.axial: "))
    assert f"theta {np.degrees(recorded.theta):.4f} deg" in line
    assert f"alpha_x {recorded.alpha:.6g}" in line and f"alpha_y {recorded.alpha_y:.6g}" in line
    m = recorded.magnification
    d = m @ np.array(recorded.background.motion)
    assert f"magnified {np.hypot(*d):.3f} px" in out  # the background's magnified motion is |M delta|
