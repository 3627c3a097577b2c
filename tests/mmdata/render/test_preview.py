"""``mmdata preview`` driven as a user would: contact sheets per part, clear errors on bad input."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from mmdata.cli import main
from mmdata.sources import build_catalogue

SIZE = 48
SOURCES = {"builtin": {"images": ["astronaut.png", "coffee.png"]}}


@pytest.fixture(scope="module")
def config_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cfg") / "config.yaml"
    path.write_text(yaml.safe_dump({"sources": SOURCES, "dataset": {"image_size": SIZE}}))
    return path


@pytest.fixture(scope="module")
def catalogue_dir(tmp_path_factory) -> Path:
    return build_catalogue(SOURCES, tmp_path_factory.mktemp("cat") / "builtin")


def _columns(path: Path, rows: int) -> list[np.ndarray]:
    """The four image columns (A, B, Y, |B-A|) of every row of a sheet, as float arrays."""
    sheet = np.asarray(Image.open(path).convert("RGB"), dtype=np.float64)
    gap, caption = 4, 14
    assert sheet.shape == (caption + rows * (SIZE + caption + gap) + gap, 4 * SIZE + 5 * gap, 3)
    cols = []
    for c in range(4):
        x = gap + c * (SIZE + gap)
        cols.append(np.stack([sheet[caption + r * (SIZE + caption + gap) + caption :][:SIZE, x : x + SIZE] for r in range(rows)]))
    return cols


def test_writes_one_sheet_per_part(tmp_path, config_file, catalogue_dir, capsys):
    out = tmp_path / "preview"
    status = main(["preview", "-o", str(out), "--config", str(config_file), "--catalogue", str(catalogue_dir), "--samples", "2", "--gain", "8"])
    assert status == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(f"preview-{p}.png" for p in ("fg_bg", "bg_only", "blur_bg", "static", "fg_only"))
    assert capsys.readouterr().out.count("preview-") == 5
    a, b, y, diff = _columns(out / "preview-fg_bg.png", rows=2)
    np.testing.assert_allclose(diff, np.clip(np.abs(b - a) * 8, 0, 255), atol=1.0)  # the column is what it says
    assert np.abs(y - a).mean() > np.abs(b - a).mean()  # magnified frames moved further than B
    sa, _, sy, _ = _columns(out / "preview-static.png", rows=2)
    assert np.abs(sy - sa).mean() < 3.0  # static: Y differs from A by noise only


def test_default_catalogue_is_built_from_the_config(tmp_path, config_file):
    out = tmp_path / "preview"
    assert main(["preview", "-o", str(out), "--config", str(config_file), "--parts", "static", "2", "--samples", "1"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["preview-bg_only.png", "preview-static.png"]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--parts", "moving"], "part: unknown part 'moving'"),
        (["--catalogue", "/nonexistent/catalogue"], "/nonexistent/catalogue"),
    ],
)
def test_bad_input_fails_with_a_clear_message(tmp_path, config_file, catalogue_dir, capsys, argv, message):
    args = ["preview", "-o", str(tmp_path / "p"), "--config", str(config_file), "--catalogue", str(catalogue_dir), *argv]
    assert main(args) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "p").exists() or not any((tmp_path / "p").iterdir())


# ---- captions of the optional generator changes --------------------------------------------------
from mmdata.scene import LayerParams, SampleParams  # noqa: E402
from mmdata.render.measure import affine_parts  # noqa: E402
from mmdata.render.preview import contact_sheet, option_labels  # noqa: E402

OPTION_COLOUR = (140, 200, 230)  # colour of the option lines of a caption


def _affine_layer(rot_deg: float, s: float, h: float) -> LayerParams:
    t = np.radians(rot_deg)
    a = (1 + s) * np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]]) @ np.array([[1.0, h], [0.0, 1.0]])
    g = a - np.eye(2)
    return LayerParams("bg", 1.0, (0.0, 0.0), (0.5, -0.25), (0.0, 0.0, 0.0),
                       motion_gradient=(g[0, 0], g[0, 1], g[1, 0], g[1, 1]), motion_centre=(16.0, 16.0))


def _params(background: LayerParams, objects=(), **kw) -> SampleParams:
    return SampleParams(part=1, index=3, seed=(0, 1, 3), alpha=10.0, noise_std=0.0, background_blur=0.0,
                        background=background, objects=tuple(objects), **kw)


def test_affine_parts_recover_the_drawn_rotation_scale_and_shear():
    p = affine_parts(_affine_layer(-1.7, 0.012, -0.03).motion_gradient)
    assert p["rotation_deg"] == pytest.approx(-1.7, abs=1e-9) and p["shear"] == pytest.approx(-0.03, abs=1e-9)
    assert p["scale_x"] == pytest.approx(0.012, abs=1e-9) and p["scale_y"] == pytest.approx(0.012, abs=1e-9)


def test_option_labels_name_each_active_option_with_the_samples_values():
    still = LayerParams("bg", 1.0, (0.0, 0.0), (0.5, -0.25), (0.0, 0.0, 0.0))
    assert option_labels(_params(still)) == []  # every option off: no labels
    objects = [_affine_layer(0.5, -0.004, 0.0), _affine_layer(-1.9, 0.007, 0.01), still]
    labels = option_labels(_params(_affine_layer(1.2, 0.008, 0.004), objects, gain_b=1.07, read_noise_std=1.3,
                                   theta=math.radians(30.0), alpha_y=3.0), linear_light=True)
    assert labels == [
        "linear light",
        "gain B 1.070",
        "read noise 1.30",
        "axial theta 30.0° alpha_x 10.0 alpha_y 3.0",
        "bg affine rot +1.20° scale +0.80% shear +0.004",
        "obj affine |rot| <= 1.9° |scale| <= 0.7%",
    ]


def _option_pixels(sheet: Image.Image) -> int:
    arr = np.asarray(sheet.convert("RGB"), dtype=np.int16)
    return int((np.abs(arr - np.array(OPTION_COLOUR)).sum(axis=-1) < 40).sum())


def test_captions_without_options_keep_the_old_layout():
    still = LayerParams("bg", 1.0, (0.0, 0.0), (0.5, -0.25), (0.0, 0.0, 0.0))
    frames = {k: np.zeros((SIZE, SIZE, 3), np.uint8) for k in ("frame_a", "frame_b", "frame_y")}
    plain = contact_sheet([(_params(still), frames)], gain=8)
    assert plain.size == (4 * SIZE + 5 * 4, 14 + (SIZE + 14 + 4) + 4) and _option_pixels(plain) == 0
    lit = contact_sheet([(_params(still, gain_b=0.95), frames)], gain=8, linear_light=True)
    assert lit.size[1] == plain.size[1] + 12 and _option_pixels(lit) > 20  # one more caption line, drawn


def test_preview_with_every_option_on_labels_each_row(tmp_path, catalogue_dir, capsys):
    from mmdata.config import load_config
    from mmdata.render.composite import render
    from mmdata.sources import open_catalogue
    from mmdata.spec import DatasetSpec

    dataset = {"image_size": 32, "linear_light": True, "photometric": {"gain_flicker": 0.1, "read_noise_std": {"min": 0.5, "max": 2.0}},
               "motion": {"affine": {"rotation_deg": 2.0, "scale": 0.01, "shear": 0.01}}, "axial": {"enabled": True}}
    config = tmp_path / "options.yaml"
    config.write_text(yaml.safe_dump({"sources": SOURCES, "dataset": dataset}))
    out = tmp_path / "preview"
    argv = ["preview", "-o", str(out), "--config", str(config), "--catalogue", str(catalogue_dir), "--parts", "fg_bg", "--samples", "2"]
    assert main(argv) == 0
    path = out / "preview-fg_bg.png"
    assert capsys.readouterr().out.strip() == str(path)
    sheet = Image.open(path)
    spec = DatasetSpec.from_config(load_config(config))
    catalogue = open_catalogue(catalogue_dir)
    for i in range(2):
        params, _ = render(spec, "fg_bg", i, catalogue)
        labels = option_labels(params, linear_light=True)
        assert labels[0] == "linear light" and labels[1].startswith("gain B ") and labels[2].startswith("read noise ")
        assert labels[3] == f"axial theta {math.degrees(params.theta):.1f}° alpha_x {params.alpha:.1f} alpha_y {params.alpha_y:.1f}"
        assert labels[4].startswith("bg affine rot ") and labels[5].startswith("obj affine |rot| <= ")
        assert f"gain B {params.gain_b:.3f}" in labels
    assert sheet.size[1] > 14 + 2 * (32 + 14 + 4) + 4  # the option lines take room
    assert _option_pixels(sheet) > 100  # and are drawn


def test_preview_of_a_custom_part_names_its_recipe(tmp_path, catalogue_dir, capsys):
    custom = {"still_bg": {"number": 6, "recipe": "fg_bg", "background_moves": False, "count_min": 1, "count_max": 2}}
    config = tmp_path / "custom.yaml"
    config.write_text(yaml.safe_dump({"sources": SOURCES, "dataset": {"image_size": 32, "custom_parts": custom, "parts": {"still_bg": 2}}}))
    out = tmp_path / "preview"
    assert main(["preview", "-o", str(out), "--config", str(config), "--catalogue", str(catalogue_dir), "--parts", "still_bg", "--samples", "1"]) == 0
    assert capsys.readouterr().out.strip() == str(out / "preview-still_bg.png")
    assert _option_pixels(Image.open(out / "preview-still_bg.png")) > 20  # the recipe line is drawn

    from mmdata.config import load_config
    from mmdata.spec import DatasetSpec

    spec = DatasetSpec.from_config(load_config(config))
    still = LayerParams("bg", 1.0, (0.0, 0.0), (0.0, 0.0), (0.0, 0.0, 0.0))
    assert option_labels(_params(still), custom=spec.custom_parts[0]) == ["part still_bg = fg_bg, background_moves false, objects 1-2"]
    # with no part given, the custom parts are previewed too
    assert main(["preview", "-o", str(tmp_path / "all"), "--config", str(config), "--catalogue", str(catalogue_dir), "--samples", "1"]) == 0
    assert (tmp_path / "all" / "preview-still_bg.png").is_file() and len(list((tmp_path / "all").iterdir())) == 6
