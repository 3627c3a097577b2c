"""Training driven as a user does: a dataset store (imported from the authors' folder layout) -> `mmtrain train`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from fakes import FakeDataset, make_samples, single_thread  # noqa: F401 (autouse fixture)
from PIL import Image

from mmdata.cli import main as mmdata_main
from mmdata.errors import CheckpointError, ConfigError, StoreError
from mmtrain.model.checkpoint import load_checkpoint, load_model
from mmtrain.cli import main
from mmtrain.train.loop import TrainConfig, train

# a light network for CPU tests: 8 channels, fewer blocks, PyTorch's default init (the authors' std 0.02
# initializer suits their 32-channel network, not this one)
TINY_MODEL = dict(enc_dim=8, feat_dim=8, texture_dim=8, shape_dim=8, n_enc_blocks=1, n_texture_blocks=1,
                  n_shape_blocks=1, n_dec_blocks=2, init_std=None)
AUTHORS_DIRS = {"frameA": "frame_a", "frameB": "frame_b_perturbed", "frameC": "frame_b", "amplified": "frame_y_perturbed"}


def _settings(**changes) -> dict:
    base = dict(preset="official", lr=2e-3, lr_decay=0.9, lr_decay_steps=30, batch_size=4, crop_size=24, workers=0, val_samples=16, val_interval=0,
                log_interval=50, checkpoint_interval=1000, run_length=4, shuffle_buffer=16, model=TINY_MODEL)
    return {**base, **changes}


def _authors_store(base: Path, samples: dict[str, np.ndarray], shard_size: int = 16) -> Path:
    """Write ``samples`` in the authors' folder layout, import and index them; returns the dataset root."""
    src = base / "authors"
    for folder, field in AUTHORS_DIRS.items():
        (src / folder).mkdir(parents=True)
        for i, frame in enumerate(samples[field]):
            Image.fromarray(frame).save(src / folder / f"{i:06d}.png")
    (src / "meta").mkdir()
    for i, a in enumerate(samples["alpha"]):
        (src / "meta" / f"{i:06d}.json").write_text(json.dumps({"amplification_factor": float(a)}))
    (src / "train_mf.txt").write_text("".join(f"{a}\n" for a in samples["alpha"]))
    root = base / "store"
    assert mmdata_main(["-q", "import-official", str(src), "--root", str(root), "--shard-size", str(shard_size)]) == 0
    assert mmdata_main(["-q", "index", "--root", str(root)]) == 0
    return root


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """96 analytic samples (exact sub-pixel translations, 32 px) written in the authors' layout and imported."""
    samples = make_samples(96, 32, np.random.default_rng(0), max_motion=1.5, max_alpha=6.0)
    return _authors_store(tmp_path_factory.mktemp("train-data"), samples)


def _val_lines(out: Path) -> list[dict]:
    lines = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    return [r for r in lines if r["split"] == "val"]


@pytest.mark.slow  # about a minute: runs in the slow stage of .ci/run
def test_cli_training_beats_its_start_and_the_do_nothing_baseline(dataset: Path, tmp_path: Path, capsys) -> None:
    cfg = tmp_path / "config.yaml"
    cfg.write_text(yaml.safe_dump({"train": _settings(steps=300)}))
    out = tmp_path / "run"
    assert main(["-q", "train", "--root", str(dataset), "--out", str(out), "--config", str(cfg)]) == 0
    assert json.loads(capsys.readouterr().out)["step"] == 300
    val = _val_lines(out)
    start, end = val[0], val[-1]
    assert (start["step"], end["step"]) == (0, 300)
    # held-out samples: the reconstruction loss falls well below its start and below output = X'_b
    print(f"validation L1: start {start['recon']:.4f}, end {end['recon']:.4f}, do-nothing {end['baseline']:.4f}")
    assert end["recon"] < 0.75 * start["recon"], (start, end)  # measured: 0.4263 -> 0.2512 (0.59)
    assert end["recon"] < 0.9 * end["baseline"], end  # measured: 0.2512 vs 0.3027 (0.83)
    model = load_model(out / "checkpoint.pt")
    assert model.config.preset == "official" and model.config.feat_dim == 8


def test_interrupt_and_resume_equals_an_uninterrupted_run(dataset: Path, tmp_path: Path) -> None:
    config = TrainConfig.from_config(_settings(steps=6, workers=2, log_interval=1))
    whole = train(config, dataset, tmp_path / "whole", progress=False)
    part = train(config, dataset, tmp_path / "split", stop_after=3, progress=False)  # "interrupted" at step 3
    assert part["step"] == 3 and load_checkpoint(tmp_path / "split" / "checkpoint.pt")["step"] == 3
    rest = train(config, dataset, tmp_path / "split", progress=False)
    assert rest["step"] == whole["step"] == 6
    a, b = load_checkpoint(tmp_path / "whole" / "checkpoint.pt"), load_checkpoint(tmp_path / "split" / "checkpoint.pt")
    for name, value in a["model"].items():
        assert torch.equal(value, b["model"][name]), name
    for i, slot in a["optimizer"]["state"].items():
        assert torch.equal(slot["exp_avg_sq"], b["optimizer"]["state"][i]["exp_avg_sq"])
    steps = [json.loads(line)["step"] for line in (tmp_path / "split" / "metrics.jsonl").read_text().splitlines()
             if json.loads(line)["split"] == "train"]
    assert steps == [1, 2, 3, 4, 5, 6]  # no duplicated metric lines after the resume


def test_resume_refuses_another_dataset_or_architecture(dataset: Path, tmp_path: Path) -> None:
    config = TrainConfig.from_config(_settings(steps=1, val_samples=0))
    train(config, dataset, tmp_path, progress=False)
    other = FakeDataset(make_samples(16, 32, np.random.default_rng(1)), shard_size=8)
    with pytest.raises(CheckpointError, match="was trained on dataset"):
        train(TrainConfig.from_config(_settings(steps=2, val_samples=0)), other, tmp_path, progress=False)
    with pytest.raises(CheckpointError, match="architecture differs"):
        train(TrainConfig.from_config(_settings(steps=2, val_samples=0, model={})), dataset, tmp_path, progress=False)


def test_bad_inputs_give_clear_errors(dataset: Path, tmp_path: Path, capsys) -> None:
    samples = make_samples(16, 32, np.random.default_rng(2))
    with pytest.raises(StoreError, match="missing \\['frame_y_perturbed'\\]"):
        train(TrainConfig.from_config(_settings(steps=1)), FakeDataset(samples, 8, drop=["frame_y_perturbed"]), tmp_path)
    assert main(["-q", "train", "--root", str(tmp_path / "nowhere"), "--out", str(tmp_path / "o")]) == 2
    assert "nowhere" in capsys.readouterr().err
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "checkpoint.pt").write_bytes(b"garbage")
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump({"train": _settings(steps=1)}))
    assert main(["-q", "train", "--root", str(dataset), "--out", str(tmp_path / "run"), "--config", str(cfg)]) == 2
    assert "checkpoint.pt: not a readable checkpoint" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="train.model"):
        TrainConfig.from_config(_settings(model={"g_kernel": 4}))
    with pytest.raises(ConfigError, match="train.bogus"):
        TrainConfig.from_config({"bogus": 1})


def test_presets_resolve_their_documented_defaults() -> None:
    paper, official = TrainConfig.from_config({}), TrainConfig.from_config({"preset": "official"})
    assert (paper.lr, paper.batch_size, paper.reg_weight, paper.lr_decay) == (1e-4, 4, 0.1, 1.0)
    assert (official.lr, official.batch_size, official.reg_weight, official.lr_decay) == (2e-4, 8, 1.0, 0.97)
    assert paper.betas == (0.9, 0.999) and paper.weight_decay == 0.0
    assert TrainConfig.from_config({"lr": 5e-4}).lr == 5e-4


@pytest.mark.slow
def test_distributed_data_parallel_on_cpu_with_torchrun(dataset: Path, tmp_path: Path) -> None:
    """Two gloo ranks through PyTorch's launcher: one checkpoint, one metrics stream, both ranks finish."""
    import os
    import subprocess
    import sys

    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump({"train": _settings(steps=4, log_interval=1)}))
    out = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--master_port=29561", "-m", "mmtrain.cli",
           "-q", "train", "--root", str(dataset), "--out", str(out), "--config", str(cfg), "--device", "cpu"]
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.count('"step": 4') == 2  # each rank reports its result
    assert load_checkpoint(out / "checkpoint.pt")["step"] == 4
    steps = [json.loads(line)["step"] for line in (out / "metrics.jsonl").read_text().splitlines()
             if json.loads(line)["split"] == "train"]
    assert steps == [1, 2, 3, 4]  # written by rank 0 only


def test_fine_tuning_starts_from_the_authors_weights(dataset: Path, tmp_path: Path, shared_data: Path) -> None:
    weights = shared_data / "official_checkpoint" / "weights.npz"
    config = TrainConfig.from_config(_settings(steps=1, lr=1e-8, val_samples=0, model={}, init_weights=str(weights)))
    train(config, dataset, tmp_path, progress=False)
    tuned, authors = load_model(tmp_path / "checkpoint.pt"), load_model(weights)
    diffs = [float((a - b).abs().max()) for a, b in zip(tuned.state_dict().values(), authors.state_dict().values())]
    assert 0 < max(diffs) < 1e-6  # one Adam step of lr 1e-8 away from the authors' weights
    with pytest.raises(ConfigError, match="train.init_weights"):
        train(TrainConfig.from_config(_settings(steps=1, val_samples=0, init_weights=str(weights))), dataset,
              tmp_path / "other", progress=False)


def test_resume_trims_metrics_after_the_checkpoint_and_drops_a_torn_last_line(tmp_path):
    from mmtrain.train.loop import _trim_metrics

    path = tmp_path / "metrics.jsonl"
    rows = [{"split": "train", "step": s, "loss": 1.0 / s} for s in (1, 2, 3, 4)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows) + '{"split": "train", "st')  # a full disk tore the last line
    _trim_metrics(path, 3)
    assert [json.loads(line)["step"] for line in path.read_text().splitlines()] == [1, 2, 3]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics.jsonl"]


def test_saving_a_checkpoint_removes_stale_temporaries(tmp_path):
    from mmtrain.model.checkpoint import save_checkpoint
    from mmtrain.model.network import MagNet, ModelConfig

    stale = tmp_path / ".checkpoint.pt.tmp-0123abcd.pt"
    stale.write_bytes(b"half a checkpoint from a killed run")
    save_checkpoint(tmp_path / "checkpoint.pt", MagNet(ModelConfig.from_preset("paper")), step=0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.pt"]


@pytest.mark.parametrize("frames, crop, match", [
    (32, 48, "frames are 32x32 pixels (width x height), smaller than train.crop_size 48; use a multiple of 4 up to 32"),
    (30, None, "frames are 30x30 pixels (width x height), not multiples of 4, and train.crop_size is null"),
], ids=["crop-larger-than-frames", "whole-frames-not-multiple-of-4"])
def test_cli_frame_sizes_training_cannot_use_fail_at_start(dataset: Path, tmp_path: Path, capsys, frames, crop,
                                                          match) -> None:
    root = dataset if frames == 32 else _authors_store(tmp_path, make_samples(8, frames, np.random.default_rng(3)), 8)
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump({"train": _settings(steps=5, crop_size=crop, workers=2)}))
    out = tmp_path / "run"
    assert main(["-q", "train", "--root", str(root), "--out", str(out), "--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{root}: {match}" in err, err
    assert not out.exists()  # refused before the output folder, the model or a DataLoader


def test_a_crop_that_is_no_multiple_of_4_is_refused(dataset: Path, tmp_path: Path, capsys) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump({"train": _settings(steps=5, crop_size=30)}))
    assert main(["-q", "train", "--root", str(dataset), "--out", str(tmp_path / "run"), "--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "train.crop_size" in err, err  # the config's schema: before opening the dataset
    fake = FakeDataset(make_samples(8, 32, np.random.default_rng(4)), 8)  # the Python API skips the schema
    with pytest.raises(ConfigError, match="train.crop_size 30 is not a positive multiple of 4"):
        train(TrainConfig.from_config(_settings(steps=1, crop_size=30)), fake, tmp_path / "api", progress=False)
    assert not (tmp_path / "api").exists()


def test_curves_refuse_an_output_that_is_not_png_before_reading(tmp_path: Path, capsys) -> None:
    out = tmp_path / "curves.pdf"
    assert main(["curves", str(tmp_path / "missing.jsonl"), "-o", str(out)]) == 2  # the name fails first
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{out}: unsupported learning-curve image file name" in err and ".png" in err, err
    assert list(tmp_path.iterdir()) == []
