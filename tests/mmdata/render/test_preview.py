"""``mmdata preview`` driven as a user would: contact sheets per part, clear errors on bad input."""

from __future__ import annotations

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
