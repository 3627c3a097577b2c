"""Re-running a finished training changes nothing: no metrics line appended, the checkpoint untouched."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from fakes import FakeDataset, make_samples, single_thread  # noqa: F401 (autouse fixture)

from mmdata.cli import main as mmdata_main
from mmtrain.cli import main
from mmtrain.train.loop import TrainConfig, train

TINY_MODEL = dict(enc_dim=8, feat_dim=8, texture_dim=8, shape_dim=8, n_enc_blocks=1, n_texture_blocks=1,
                  n_shape_blocks=1, n_dec_blocks=1, init_std=None)
SETTINGS = dict(preset="official", steps=2, batch_size=2, crop_size=16, workers=0, val_samples=4, val_interval=0,
                log_interval=1, checkpoint_interval=1000, run_length=2, shuffle_buffer=4, model=TINY_MODEL)


def _snapshot(out: Path) -> tuple[bytes, bytes, int]:
    ckpt = out / "checkpoint.pt"
    return (out / "metrics.jsonl").read_bytes(), ckpt.read_bytes(), ckpt.stat().st_mtime_ns


def _splits(out: Path) -> list[tuple[str, int]]:
    return [(r["split"], r["step"]) for r in map(json.loads, (out / "metrics.jsonl").read_text().splitlines())]


@pytest.mark.timeout(120)
def test_api_rerun_of_a_finished_training_appends_nothing(tmp_path: Path) -> None:
    ds = FakeDataset(make_samples(12, 16, np.random.default_rng(0)), shard_size=6)
    config = TrainConfig.from_config(SETTINGS)
    first = train(config, ds, tmp_path, progress=False)
    assert first["step"] == 2 and _splits(tmp_path) == [("val", 0), ("train", 1), ("train", 2), ("val", 2)]
    before = _snapshot(tmp_path)
    for _ in range(2):
        again = train(config, ds, tmp_path, progress=False)
        assert _snapshot(tmp_path) == before
        assert again["step"] == 2 and again["checkpoint"] == first["checkpoint"]
        assert again["val"] == pytest.approx(first["val"]) and again["train"] == pytest.approx(first["train"])
    # more steps asked: it goes on from step 2, and validates at the new end only
    train(TrainConfig.from_config({**SETTINGS, "steps": 3}), ds, tmp_path, progress=False)
    assert _splits(tmp_path)[4:] == [("train", 3), ("val", 3)]


def _store(base: Path, n: int = 12, size: int = 16) -> Path:
    """``n`` analytic samples in the authors' folder layout, imported and indexed: a dataset root."""
    samples = make_samples(n, size, np.random.default_rng(1))
    src = base / "authors"
    for folder, field in {"frameA": "frame_a", "frameB": "frame_b_perturbed", "frameC": "frame_b",
                          "amplified": "frame_y_perturbed"}.items():
        (src / folder).mkdir(parents=True)
        for i, frame in enumerate(samples[field]):
            Image.fromarray(frame).save(src / folder / f"{i:06d}.png")
    (src / "meta").mkdir()
    for i, a in enumerate(samples["alpha"]):
        (src / "meta" / f"{i:06d}.json").write_text(json.dumps({"amplification_factor": float(a)}))
    (src / "train_mf.txt").write_text("".join(f"{a}\n" for a in samples["alpha"]))
    root = base / "store"
    assert mmdata_main(["-q", "import-official", str(src), "--root", str(root), "--shard-size", "6"]) == 0
    assert mmdata_main(["-q", "index", "--root", str(root)]) == 0
    return root


@pytest.mark.timeout(180)
def test_cli_rerun_of_a_finished_training_appends_nothing(tmp_path: Path, capsys) -> None:
    root = _store(tmp_path)
    capsys.readouterr()  # what the import and the index printed
    cfg = tmp_path / "config.yaml"
    cfg.write_text(yaml.safe_dump({"train": SETTINGS}))
    out = tmp_path / "run"
    argv = ["-q", "train", "--root", str(root), "--out", str(out), "--config", str(cfg)]
    assert main(argv) == 0
    first = json.loads(capsys.readouterr().out)
    before = _snapshot(out)
    assert [s for s in _splits(out) if s[0] == "val"] == [("val", 0), ("val", 2)]
    assert main(argv) == 0
    again = json.loads(capsys.readouterr().out)
    assert _snapshot(out) == before
    assert again["step"] == first["step"] == 2 and again["val"] == pytest.approx(first["val"])
