"""Released models by name, the release tool (weights, curves, model card) and learning curves."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import torch

from fakes import single_thread, trained_pair  # noqa: F401 (autouse fixture)

from mmdata.errors import CheckpointError, MotionMagError
from mmtrain.cli import main
from mmtrain.model import released
from mmtrain.model.registry import resolve_weights
from mmtrain.model.checkpoint import load_checkpoint, load_model, save_checkpoint
from mmtrain.evaluate.publish import publish_release
from mmtrain.train.curves import read_metrics

def _checkpoint(path: Path, *, manifest_hash: str = "m" * 64, step: int = 40) -> torch.nn.Module:
    model, opt = trained_pair()
    save_checkpoint(path, model, optimizer=opt, step=step, manifest_hash=manifest_hash,
                    train_config={"batch_size": 4, "crop_size": 64, "lr": 1e-4, "betas": [0.9, 0.999],
                                  "reg_weight": 0.1, "val_samples": 10})
    return model


def _metrics(path: Path, val: list[tuple[int, float, float]]) -> Path:
    lines = []
    for i, (step, recon, base) in enumerate(val):
        lines.append({"split": "train", "step": step, "recon": recon * 1.1, "total": recon * 1.2, "time": 1000.0 + 60 * i})
        lines.append({"split": "val", "step": step, "recon": recon, "baseline": base, "time": 1000.0 + 60 * i + 5})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in lines))
    return path


@pytest.fixture()
def fake_release(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, torch.nn.Module]:
    """A release ``tiny-ref`` in a temporary released/ folder, with its true digest."""
    folder = tmp_path / "released"
    model = _checkpoint(folder / "tiny-ref.pt")
    (folder / "tiny-ref.md").write_text("# Model card: tiny-ref\n")
    digest = hashlib.sha256((folder / "tiny-ref.pt").read_bytes()).hexdigest()
    monkeypatch.setattr(released, "_folder", lambda: folder)
    monkeypatch.setattr(released, "RELEASES", {"tiny-ref": released.Release("tiny-ref", "tiny-ref.pt", digest, "a test model")})
    return folder, model


def test_a_release_loads_by_name_and_equals_its_file(fake_release, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _, model = fake_release
    monkeypatch.chdir(tmp_path)  # no file called tiny-ref here
    by_name = load_model("tiny-ref")
    x = torch.rand(1, 3, 16, 16)
    with torch.no_grad():
        assert torch.equal(by_name(x, x.flip(-2), 4.0), model.eval()(x, x.flip(-2), 4.0))
    # a local file of the same name wins over the release
    local = tmp_path / "tiny-ref"
    _checkpoint(local, step=3)
    assert resolve_weights("tiny-ref") == Path("tiny-ref")
    assert load_checkpoint("tiny-ref")["step"] == 3


@pytest.mark.parametrize("name", sorted(released.RELEASES))
def test_every_shipped_release_verifies_against_the_digest_recorded_with_it(name: str) -> None:
    """The SHA-256 in RELEASES was written when the weights were released: the shared file digest keeps it."""
    assert released.verified_release_file(name).name == released.RELEASES[name].file


def test_a_damaged_release_is_refused_by_name(fake_release, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder, _ = fake_release
    monkeypatch.chdir(tmp_path)
    data = bytearray((folder / "tiny-ref.pt").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (folder / "tiny-ref.pt").write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="tiny-ref.pt does not match the released weights' SHA-256"):
        load_model("tiny-ref")
    (folder / "tiny-ref.pt").unlink()
    with pytest.raises(CheckpointError, match="missing from the installed package"):
        load_model("tiny-ref")


def test_unknown_names_list_the_releases_and_missing_paths_name_the_file(fake_release, tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(CheckpointError, match=r"not the name of a released model \(released: tiny-ref\)"):
        load_model("no-such-model")
    with pytest.raises(CheckpointError, match="no such checkpoint file"):
        load_model("runs/missing.pt")


def test_models_cli_lists_shows_and_rejects(fake_release, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    folder, _ = fake_release
    monkeypatch.chdir(tmp_path)
    assert main(["models", "list"]) == 0
    assert capsys.readouterr().out.split("\t")[:2] == ["tiny-ref", "tiny-ref.pt"]
    assert main(["models", "show", "tiny-ref"]) == 0
    assert capsys.readouterr().out.startswith("# Model card: tiny-ref")
    assert main(["models", "show", "tiny-ref", "--path"]) == 0
    assert capsys.readouterr().out.strip() == str(folder / "tiny-ref.pt")
    assert main(["models", "show", "nope"]) == 2
    assert "released: tiny-ref" in capsys.readouterr().err


def test_release_writes_weights_without_optimizer_curves_and_a_card(tmp_path: Path) -> None:
    ckpt = tmp_path / "run" / "checkpoint.pt"
    model = _checkpoint(ckpt, manifest_hash="a" * 64)
    dataset = tmp_path / "data"
    dataset.mkdir()
    (dataset / "manifest.json").write_text(json.dumps({"manifest_hash": "a" * 64, "image_shape": [64, 64],
                                                       "parts": {"1": {"count": 30}, "2": {"count": 20}}}))
    config = tmp_path / "ref.yaml"
    config.write_text("sources: {kind: builtin}\ntrain: {steps: 40}\n")
    metrics = _metrics(tmp_path / "run" / "metrics.jsonl", [(0, 0.5, 0.125), (20, 0.2, 0.125), (40, 0.1, 0.125)])
    scores = tmp_path / "scores"
    scores.mkdir()
    rows = [{"test": "subpixel", "group": None, "level": lv, "method": m, "n": 3, "alpha": 10 / lv,
             "ssim_mean": s, "ssim_std": 0.01, "mag_foreground_mean": s, "mag_foreground_std": 0.02}
            for lv, m, s in
            [(0.1, "ours", 0.91), (0.1, "do_nothing", 0.5), (1.0, "ours", 0.95), (1.0, "do_nothing", 0.4)]]
    (scores / "results.json").write_text(json.dumps({"meta": {"protocol": "oh2018"}, "rows": rows, "claims": [
        {"key": "k", "method": "ours", "statement": "beats do-nothing", "status": "holds", "detail": ""}]}))
    result = publish_release(ckpt, name="tiny", metrics=metrics, dataset=dataset, config=config,
                             scores=scores, out_dir=tmp_path / "out", commit="c0ffee", machine="2 CPU cores")
    weights = Path(result["weights"])
    state = load_checkpoint(weights)
    assert state["optimizer"] is None and state["step"] == 40 and state["manifest_hash"] == "a" * 64
    assert state["extra"]["release"]["validation"] == {"step": 40, "recon": 0.1, "baseline": 0.125}
    assert result["sha256"] == hashlib.sha256(weights.read_bytes()).hexdigest()
    assert result["wall_s"] == pytest.approx(125.0)
    x = torch.rand(1, 3, 16, 16)
    with torch.no_grad():
        assert torch.equal(load_model(weights)(x, x, 2.0), model.eval()(x, x, 2.0))
    assert Path(result["curves"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    card = Path(result["card"]).read_text()
    assert result["sha256"] in card and "commit `c0ffee`" in card and "50 samples of 64 x 64 px" in card
    assert "**beats doing nothing**" in card and "| 40 | 0.1000 | 0.1250 | 0.800 |" in card
    assert "| 0.1 | 0.9100 +- 0.0100 | 0.5000 +- 0.0100 |" in card and "beats do-nothing: **holds**" in card
    assert "| 1 | 0.9500 +- 0.0200 | 0.4000 +- 0.0200 |" in card  # the magnification-ratio table
    assert "train: {steps: 40}" in card and "weights, trained from scratch by this pipeline" in card


def test_release_refuses_a_checkpoint_of_another_dataset(tmp_path: Path) -> None:
    ckpt = tmp_path / "checkpoint.pt"
    _checkpoint(ckpt, manifest_hash="a" * 64)
    (tmp_path / "manifest.json").write_text(json.dumps({"manifest_hash": "b" * 64}))
    (tmp_path / "c.yaml").write_text("{}\n")
    metrics = _metrics(tmp_path / "metrics.jsonl", [(0, 0.5, 0.1)])
    with pytest.raises(MotionMagError, match="trained on dataset a+, not on"):
        publish_release(ckpt, name="x", metrics=metrics, dataset=tmp_path, config=tmp_path / "c.yaml", out_dir=tmp_path / "o")


def test_metrics_reader_names_a_damaged_line_and_the_curves_command_plots(tmp_path: Path,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    good = _metrics(tmp_path / "paper" / "metrics.jsonl", [(0, 0.5, 0.125), (100, 0.1, 0.125)])
    curves = read_metrics(good)
    assert [r["step"] for r in curves.val] == [0, 100] and curves.wall_s() == pytest.approx(65.0)
    bad = tmp_path / "bad.jsonl"
    bad.write_text(good.read_text() + '{"split": "val", "step": 3, "rec\n')
    with pytest.raises(MotionMagError, match=r"bad.jsonl:5: not a JSON line"):
        read_metrics(bad)
    out = tmp_path / "curves.png"
    assert main(["curves", str(good), f"other={good}", "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "paper: 2 training lines; step 100: validation recon 0.1000, do nothing 0.1250" in printed
    assert out.read_bytes()[:4] == b"\x89PNG"
    assert main(["curves", str(bad), "-o", str(out)]) == 2
    assert main(["curves", f"a={good}", f"a={good}", "-o", str(out)]) == 2
    assert "given twice" in capsys.readouterr().err
