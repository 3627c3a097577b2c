"""OS errors of ``mmdata generate`` and ``mmdata index`` (a full disk) name the file being written.

A full disk is simulated by making the lowest write raise ``OSError(ENOSPC)`` with no file name,
as ``write(2)`` does.
"""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from mmdata.cli import main
from mmdata.sources import build_catalogue

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

CONFIG = {"seed": 1, "dataset": {"image_size": 32, "shard_size": 4, "parts": {"fg_bg": 0, "bg_only": 4, "blur_bg": 0, "static": 0, "fg_only": 0}},
          "store": {"zarr_shard_samples": 4}}


def _enospc(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two 96-px COCO backgrounds (part bg_only needs no objects)."""
    tmp = tmp_path_factory.mktemp("os-errors")
    (tmp / "images").mkdir()
    rng = np.random.default_rng(0)
    for i in (1, 2):
        Image.fromarray(rng.integers(0, 256, (96, 96, 3), dtype=np.uint8)).save(tmp / "images" / f"{i}.png")
    doc = {"images": [{"id": i, "file_name": f"{i}.png", "width": 96, "height": 96} for i in (1, 2)], "categories": []}
    (tmp / "ann.json").write_text(json.dumps(doc))
    cfg = {"kind": "coco_voc", "min_background_size": 64, "coco": {"annotations": str(tmp / "ann.json"), "images": str(tmp / "images")}}
    return build_catalogue(cfg, tmp / "catalogue", progress=False)


def _generate(tmp_path: Path, catalogue: Path) -> int:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump(CONFIG))
    return main(["-q", "generate", "--config", str(cfg), "--catalogue", str(catalogue), "--part", "bg_only", "--shard", "0",
                 "--root", str(tmp_path / "ds")])


def _one_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return err


@pytest.mark.timeout(30)
def test_generate_on_a_full_disk_names_the_shard(tmp_path, catalogue, capsys, monkeypatch):
    import zarr.storage._local as local

    monkeypatch.setattr(local, "_put", _enospc)
    assert _generate(tmp_path, catalogue) == 2
    err = _one_line(capsys)
    shard = tmp_path / "ds" / "part2" / "shard-0000.zarr"
    assert err == f"mmdata generate: error: {shard}: cannot write the shard store ([Errno 28] No space left on device)"


@pytest.mark.timeout(30)
def test_index_on_a_full_disk_names_the_manifest_and_the_card(tmp_path, catalogue, capsys, monkeypatch):
    import mmdata.store.card as card

    assert _generate(tmp_path, catalogue) == 0
    capsys.readouterr()
    root = tmp_path / "ds"
    with monkeypatch.context() as m:
        m.setattr(os, "fsync", _enospc)  # fsync reports a full disk on delayed allocation
        assert main(["-q", "index", "--root", str(root)]) == 2
    err = _one_line(capsys)
    assert err.startswith(f"mmdata index: error: {root / 'manifest.json'}: cannot write the manifest (")
    assert "[Errno 28] No space left on device" in err
    with monkeypatch.context() as m:
        m.setattr(card, "_histograms", _enospc)
        assert main(["-q", "index", "--root", str(root)]) == 2
    assert _one_line(capsys) == f"mmdata index: error: {root / 'card'}: cannot write the dataset card ([Errno 28] No space left on device)"
    assert not [p.name for p in root.iterdir() if p.name.startswith(".card.tmp-")]


def test_manifest_and_card_are_written_together_or_not_at_all(tmp_path, catalogue, capsys, monkeypatch):
    import mmdata.store.card as card

    assert _generate(tmp_path, catalogue) == 0
    root = tmp_path / "ds"
    assert main(["-q", "index", "--root", str(root)]) == 0
    (root / "manifest.json").write_text(json.dumps({**json.loads((root / "manifest.json").read_text()), "previous": True}))
    before = {p.name: p.read_bytes() for p in [root / "manifest.json", *sorted((root / "card").iterdir())]}
    capsys.readouterr()  # the next index writes another manifest than the one on disk...
    with monkeypatch.context() as m:  # ...but the card's rename fails after the manifest's
        m.setattr(card, "replace_dir", _enospc)
        status = main(["-q", "index", "--root", str(root)])
    assert status == 2 and "cannot write the dataset card" in _one_line(capsys)
    after = {p.name: p.read_bytes() for p in [root / "manifest.json", *sorted((root / "card").iterdir())]}
    assert after == before  # the old manifest is back beside the old card
    assert not [p.name for p in root.iterdir() if p.name.startswith((".card.tmp-", ".manifest.json.tmp-"))]
