"""Tests of the checkpoint format: round trip, atomic writes, clear errors, weight conversion CLI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from fakes import single_thread, trained_pair  # noqa: F401 (autouse fixture)

from mmdata.errors import CheckpointError
from mmtrain.model.checkpoint import load_checkpoint, load_model, save_checkpoint
from mmtrain.cli import main
from mmtrain.model.network import make_model



def test_round_trip_restores_model_optimizer_and_state(tmp_path: Path) -> None:
    model, opt = trained_pair()
    rng = {"numpy": np.random.default_rng(3).bit_generator.state, "torch": torch.get_rng_state()}
    path = save_checkpoint(tmp_path / "c" / "ckpt.pt", model, optimizer=opt, step=17, rng=rng, manifest_hash="abc",
                           train_config={"lr": 1e-3})
    assert [p.name for p in path.parent.iterdir()] == ["ckpt.pt"]  # no temporary left behind
    state = load_checkpoint(path)
    assert state["step"] == 17 and state["manifest_hash"] == "abc" and state["train_config"] == {"lr": 1e-3}
    assert state["rng"]["numpy"] == rng["numpy"]
    restored = load_model(path)
    assert restored.config == model.config and not restored.training
    x = torch.rand(1, 3, 16, 16)
    with torch.no_grad():
        assert torch.equal(restored(x, x, 2.0), model.eval()(x, x, 2.0))
    opt2 = torch.optim.Adam(restored.parameters(), lr=1e-3)
    opt2.load_state_dict(state["optimizer"])
    assert torch.equal(opt2.state_dict()["state"][0]["exp_avg"], opt.state_dict()["state"][0]["exp_avg"])
    with pytest.raises(CheckpointError, match="holds a 'paper' model"):
        load_model(path, preset="official")


def test_failed_save_keeps_the_previous_checkpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model, _ = trained_pair()
    path = save_checkpoint(tmp_path / "ckpt.pt", model, step=1)
    before = path.read_bytes()

    def explode(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", explode)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, model, step=2)
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["ckpt.pt"]


def test_corrupt_foreign_and_missing_files_are_named(tmp_path: Path) -> None:
    model, _ = trained_pair()
    good = save_checkpoint(tmp_path / "good.pt", model, step=1).read_bytes()
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(good[: len(good) // 2])
    foreign = tmp_path / "foreign.pt"
    torch.save({"state_dict": model.state_dict()}, foreign)
    noise = tmp_path / "noise.pt"
    noise.write_bytes(bytes(range(256)) * 8)
    for path, reason in ((truncated, "not a readable checkpoint"), (foreign, "not a motionmag-checkpoint"),
                         (noise, "not a readable checkpoint"), (tmp_path / "absent.pt", "no such checkpoint")):
        with pytest.raises(CheckpointError, match=reason) as info:
            load_model(path)
        assert str(path) in str(info.value)
    with pytest.raises(CheckpointError, match="folder has no TF 'checkpoint' file"):
        load_model(tmp_path)
    newer = torch.load(tmp_path / "good.pt", weights_only=True)
    newer["version"] = 99
    torch.save(newer, tmp_path / "newer.pt")
    with pytest.raises(CheckpointError, match="newer"):
        load_model(tmp_path / "newer.pt")


def test_convert_weights_cli_gives_the_official_model(shared_data: Path, tmp_path: Path, capsys) -> None:
    ckpt = shared_data / "official_checkpoint"
    out = tmp_path / "official.pt"
    assert main(["-q", "convert-weights", str(ckpt), "-o", str(out)]) == 0
    assert "918928 weights, step 259002" in capsys.readouterr().out
    converted, reference = load_model(out, preset="official"), load_model(ckpt / "weights.npz")
    assert load_checkpoint(out)["step"] == 259002
    for (name, a), b in zip(converted.state_dict().items(), reference.state_dict().values()):
        assert torch.equal(a, b), name
    assert main(["-q", "convert-weights", str(tmp_path / "nothing"), "-o", str(tmp_path / "x.pt")]) == 2
    assert "no TF checkpoint index" in capsys.readouterr().err


def test_saved_checkpoint_has_the_usual_permissions(tmp_path):
    import os
    import stat

    from mmtrain.model.checkpoint import save_checkpoint
    from mmtrain.model.network import make_model

    umask = os.umask(0o022)
    try:
        path = save_checkpoint(tmp_path / "c.pt", make_model("official"))
    finally:
        os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644  # readable by the group/others, like any output


def test_random_bytes_and_pickled_objects_get_our_message_not_torchs_advice(tmp_path: Path, capsys) -> None:
    import fractions

    noise = tmp_path / "noise.pt"
    noise.write_bytes(np.random.default_rng(0).bytes(4096))
    objects = tmp_path / "objects.pt"
    torch.save({"format": "x", "thing": fractions.Fraction(1, 3)}, objects)  # a zip whose pickle needs a class
    for path in (noise, objects):
        with pytest.raises(CheckpointError, match="not a readable checkpoint") as info:
            load_model(path)
        assert "weights_only" not in str(info.value) and str(path) in str(info.value)


def test_a_checkpoint_too_big_for_a_real_full_disk_raises_enospc_and_keeps_the_old_one(small_tmpfs: Path) -> None:
    import errno

    path = small_tmpfs / "checkpoint.pt"
    save_checkpoint(path, make_model("paper", n_enc_blocks=1, n_texture_blocks=0, n_shape_blocks=0, n_dec_blocks=0,
                                     enc_dim=4, feat_dim=4, texture_dim=4, shape_dim=4), step=1)
    before = path.read_bytes()
    big = make_model("paper")  # about 0.9 M float32 weights: 3.6 MB on a 2 MB disk
    with pytest.raises(OSError) as err:
        save_checkpoint(path, big, step=2)
    assert err.value.errno == errno.ENOSPC and err.value.filename == str(path)
    assert path.read_bytes() == before and load_checkpoint(path)["step"] == 1
    assert sorted(p.name for p in small_tmpfs.iterdir()) == ["checkpoint.pt"]  # no .checkpoint.pt.tmp-* left
