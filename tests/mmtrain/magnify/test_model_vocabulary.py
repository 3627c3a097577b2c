"""One vocabulary: ``--model SPEC`` everywhere, the default model, and one spelling of each method.

Driven as a user would: ``mmtrain magnify`` / ``mmtrain evaluate video-accuracy`` on a demo video, the
one-call Python API, and the config.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from mmdata.config import load_config
from mmdata.errors import CheckpointError
from mmtrain.cli import main
from mmtrain.evaluate.cases import EvalSpec
from mmtrain.magnify import magnify
from mmtrain.model.checkpoint import save_checkpoint
from mmtrain.model.network import MagNet, ModelConfig
from mmtrain.model.registry import DEFAULT_MODEL, resolve_model
from mmtrain.model.released import verified_release_file

OFFICIAL_NPZ = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "official_checkpoint" / "weights.npz"


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No model registered on this machine can change what a name means here."""
    monkeypatch.setenv("MOTIONMAG_HOME", str(tmp_path / "motionmag-home"))


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("vocab") / "demo.mp4"
    assert main(["make-demo-video", "-o", str(path), "--frames", "4", "--size", "32", "24", "--amplitude", "0.5",
                 "--freq", "3", "--fps", "30"]) == 0
    return path


def _frames(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.png"))}


def _magnify(demo: Path, out: Path, *extra: str) -> int:
    return main(["magnify", str(demo), "-o", f"{out}/", "--alpha", "5", "--device", "cpu", "--batch", "2", *extra])


def test_magnify_without_a_model_uses_the_default_and_says_so(demo: Path, tmp_path: Path,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        assert _magnify(demo, tmp_path / "default") == 0
    assert f"model: {DEFAULT_MODEL} (default)" in caplog.messages
    caplog.clear()
    with caplog.at_level(logging.INFO):
        assert _magnify(demo, tmp_path / "named", "--model", DEFAULT_MODEL) == 0
    assert not any("(default)" in m for m in caplog.messages)  # named: no default announced
    default, named = _frames(tmp_path / "default"), _frames(tmp_path / "named")
    assert len(default) == 4 and default == named


def test_checkpoint_still_works_with_a_deprecation_warning(demo: Path, tmp_path: Path,
                                                           caplog: pytest.LogCaptureFixture,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    with caplog.at_level(logging.WARNING):
        assert _magnify(demo, tmp_path / "old", "--checkpoint", DEFAULT_MODEL) == 0
    assert caplog.messages.count("--checkpoint is deprecated; use --model") == 1
    assert len(_frames(tmp_path / "old")) == 4
    assert _magnify(demo, tmp_path / "both", "--model", DEFAULT_MODEL, "--checkpoint", "other.pt") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "given twice" in err[0]


def test_magnify_takes_the_authors_weights_and_our_checkpoints_by_path(demo: Path, tmp_path: Path) -> None:
    ours = save_checkpoint(tmp_path / "mine.pt", MagNet(ModelConfig.preset("paper")))
    assert _magnify(demo, tmp_path / "mine", "--model", str(ours)) == 0
    assert len(_frames(tmp_path / "mine")) == 4
    if OFFICIAL_NPZ.is_file():
        assert _magnify(demo, tmp_path / "npz", "--model", str(OFFICIAL_NPZ), "--model-preset", "official") == 0
        assert len(_frames(tmp_path / "npz")) == 4


def test_an_unknown_model_is_one_line_naming_the_choices(demo: Path, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert _magnify(demo, tmp_path / "x", "--model", "no-such-model") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and DEFAULT_MODEL in err[0] and "models fetch official" in err[0]
    assert not (tmp_path / "x").exists() or not any((tmp_path / "x").iterdir())


def test_the_config_names_the_model_and_the_old_key_still_works(demo: Path, tmp_path: Path,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "new.yaml").write_text(f"magnify:\n  model: {DEFAULT_MODEL}\n")
    (tmp_path / "old.yaml").write_text(f"magnify:\n  checkpoint: {DEFAULT_MODEL}\n")
    with caplog.at_level(logging.INFO):
        assert _magnify(demo, tmp_path / "new", "--config", str(tmp_path / "new.yaml")) == 0
    assert not any("(default)" in m or "deprecated" in m for m in caplog.messages)
    caplog.clear()
    with caplog.at_level(logging.INFO):
        assert _magnify(demo, tmp_path / "old", "--config", str(tmp_path / "old.yaml")) == 0
    assert "magnify.checkpoint is deprecated; use magnify.model" in caplog.messages
    assert _frames(tmp_path / "new") == _frames(tmp_path / "old")


def test_phase_based_is_the_one_spelling_and_the_old_one_warns(demo: Path, tmp_path: Path,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    assert _magnify(demo, tmp_path / "new", "--method", "phase_based") == 0
    with caplog.at_level(logging.WARNING):
        assert _magnify(demo, tmp_path / "old", "--method", "phase-based") == 0
    assert "method 'phase-based' is deprecated; use 'phase_based'" in caplog.messages
    assert _frames(tmp_path / "new") == _frames(tmp_path / "old")
    # the config's evaluate.methods: the same canonical spelling, the old one accepted with the warning
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        cfg = load_config(None, overrides={"evaluate": {"methods": ["do_nothing", "phase-based"]}})
    assert EvalSpec.from_config(cfg).methods == ("do_nothing", "phase_based")
    assert "method 'phase-based' is deprecated; use 'phase_based'" in caplog.messages


def test_the_python_api_uses_the_default_model_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (3, 16, 16, 3), dtype=np.uint8)
    with caplog.at_level(logging.INFO):
        default = magnify(frames, 5, device="cpu")
    assert f"model: {DEFAULT_MODEL} (default)" in caplog.messages
    caplog.clear()
    with caplog.at_level(logging.INFO):
        old = magnify(frames, 5, device="cpu", checkpoint=DEFAULT_MODEL)
    assert "checkpoint= is deprecated; use model=" in caplog.messages
    assert np.array_equal(default, magnify(frames, 5, device="cpu", model=DEFAULT_MODEL))
    assert np.array_equal(default, old)


def test_video_accuracy_takes_model_and_uses_the_default(tmp_path: Path, caplog: pytest.LogCaptureFixture,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    demo = tmp_path / "long.mp4"  # an FIR band-pass needs about a second of frames
    assert main(["make-demo-video", "-o", str(demo), "--frames", "32", "--size", "64", "48", "--amplitude", "0.5",
                 "--freq", "3", "--fps", "30"]) == 0
    args = ["evaluate", "video-accuracy", str(demo), "--alpha", "4", "--band", "2", "5", "--method", "network",
            "--device", "cpu", "--points", "4", "--patch", "6"]
    with caplog.at_level(logging.INFO):
        assert main([*args, "-o", str(tmp_path / "default")]) == 0
    assert f"model: {DEFAULT_MODEL} (default)" in caplog.messages
    assert (tmp_path / "default" / "accuracy.json").is_file()
    assert main([*args, "--model", "no-such-model", "-o", str(tmp_path / "bad")]) == 2
    assert "not the name of a released model" in capsys.readouterr().err


def test_resolve_model_is_the_one_resolution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert resolve_model(None) == ("checkpoint", verified_release_file(DEFAULT_MODEL))
    assert resolve_model(DEFAULT_MODEL) == resolve_model(None)
    ours = save_checkpoint(tmp_path / "mine.pt", MagNet(ModelConfig.preset("paper")))
    assert resolve_model(str(ours)) == ("checkpoint", ours)
    npz = tmp_path / "weights.npz"
    npz.write_bytes(b"")
    assert resolve_model(npz).kind == "official"
    (tmp_path / DEFAULT_MODEL).write_bytes(b"")  # a local file of a release's name wins
    assert resolve_model(DEFAULT_MODEL).path == Path(DEFAULT_MODEL)
    with pytest.raises(CheckpointError, match="not the name of a released model"):
        resolve_model("no-such-model")


def test_evaluate_run_takes_the_same_specs_and_models_list_marks_the_default(
        capsys: pytest.CaptureFixture[str]) -> None:
    from mmtrain.evaluate.methods import load_network

    named = load_network(f"ref={DEFAULT_MODEL}")
    bare = load_network(DEFAULT_MODEL)
    assert (named.name, bare.name) == ("ref", DEFAULT_MODEL)
    assert all(np.array_equal(a.numpy(), b.numpy())
               for a, b in zip(named.model.state_dict().values(), bare.model.state_dict().values()))
    assert main(["models", "list"]) == 0
    assert f"{DEFAULT_MODEL} (default)\t" in capsys.readouterr().out
