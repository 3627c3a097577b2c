"""``mmtrain models fetch official`` against a local HTTP server: download, verify, convert, register, use.

The test builds an archive laid out as the authors' ``data.zip`` (``data/training/<config>/checkpoint/``
holding their TF checkpoint files) from the copy in ``shared/data/official_checkpoint`` and serves it on
127.0.0.1; nothing reaches the internet.
"""

from __future__ import annotations

import hashlib
import http.server
import logging
import socket
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from mmdata.errors import CheckpointError
from mmtrain.cli import main
from mmtrain.model.checkpoint import load_model
from mmtrain.model.official import read_npz_weights
from mmtrain.model.registry import models_home, registered_models, resolve_model

OFFICIAL = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "official_checkpoint"
CONFIG = "o3f_hmhm2_bg_qnoise_mix4_nl_n_t_ds3"
pytestmark = pytest.mark.skipif(not (OFFICIAL / f"{CONFIG}-259002.index").is_file(),
                                reason="the authors' checkpoint copy (shared/data/official_checkpoint) is not here")


def _authors_archive(path: Path, *, tamper: bool = False) -> Path:
    """A zip laid out as the authors' data.zip: data/training/<config>/checkpoint/{checkpoint, .index, .data-*}."""
    inner = f"data/training/{CONFIG}/checkpoint"
    with zipfile.ZipFile(path, "w") as zf:
        for name in ("checkpoint", f"{CONFIG}-259002.index", f"{CONFIG}-259002.data-00000-of-00001"):
            data = (OFFICIAL / name).read_bytes()
            if tamper and ".data-" in name:  # one weight changed: still a readable checkpoint, not the authors'
                data = data[:-8] + bytes(8)
            zf.writestr(f"{inner}/{name}", data)
        zf.writestr("data/README.txt", "the authors' pre-trained model\n")
    return path


@pytest.fixture()
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MOTIONMAG_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture()
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """An HTTP server on 127.0.0.1 serving ``tmp_path/www``; yields (base URL, folder)."""
    www = tmp_path / "www"
    www.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(www), **kwargs)

        def log_message(self, *args) -> None:  # keep the test output clean
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", www
    finally:
        httpd.shutdown()
        httpd.server_close()


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_fetch_registers_the_authors_weights_and_model_official_works_everywhere(
        home: Path, server: tuple[str, Path], capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> None:
    base, www = server
    archive = _authors_archive(www / "data.zip")
    with caplog.at_level(logging.INFO):
        assert main(["models", "fetch", "official", "--url", f"{base}/data.zip", "--sha256", _sha256(archive)]) == 0
    out = capsys.readouterr().out
    assert "academic" in out and "non-commercial" in out and "does not redistribute" in out  # the authors' terms
    assert "--model official" in out and "step 259002" in out
    registered = home / "models" / "official.npz"
    assert registered_models() == {"official": registered} and models_home() == home / "models"
    assert sorted(p.name for p in (home / "models").iterdir()) == ["official.npz"]  # no temporary left
    # the registered weights are the authors' tensors, bit for bit
    ours, theirs = read_npz_weights(registered), read_npz_weights(OFFICIAL / "weights.npz")
    assert all(np.array_equal(ours[k], theirs[k]) for k in theirs)
    assert resolve_model("official") == ("official", registered)
    model = load_model("official")
    reference = load_model(OFFICIAL / "weights.npz")
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), reference.state_dict().values()))
    assert main(["models", "list"]) == 0
    assert "official\t" in capsys.readouterr().out
    assert main(["models", "show", "official", "--path"]) == 0
    assert capsys.readouterr().out.strip() == str(registered)


def test_fetch_honours_xdg_data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MOTIONMAG_HOME", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert models_home() == tmp_path / "xdg" / "motionmag" / "models"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    assert models_home() == tmp_path / "user" / ".local" / "share" / "motionmag" / "models"


def test_a_wrong_digest_registers_nothing(home: Path, server: tuple[str, Path],
                                          capsys: pytest.CaptureFixture[str]) -> None:
    base, www = server
    archive = _authors_archive(www / "data.zip")
    wrong = "0" * 64
    assert main(["models", "fetch", "official", "--url", f"{base}/data.zip", "--sha256", wrong]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("mmtrain models: error:")
    assert _sha256(archive) in err[0] and wrong in err[0]
    assert registered_models() == {}
    assert list((home / "models").iterdir()) == []  # no download, no temporary folder left
    with pytest.raises(CheckpointError, match="not the name of a released model"):
        resolve_model("official")


def test_weights_that_are_not_the_authors_register_nothing(home: Path, server: tuple[str, Path],
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    base, www = server
    archive = _authors_archive(www / "data.zip", tamper=True)
    args = ["models", "fetch", "official", "--url", f"{base}/data.zip", "--sha256", _sha256(archive)]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "not the authors' released weights" in err or "crc" in err.lower()
    assert registered_models() == {} and list((home / "models").iterdir()) == []


def test_a_broken_archive_and_a_missing_file_register_nothing(home: Path, server: tuple[str, Path],
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    base, www = server
    (www / "data.zip").write_bytes(b"<html>moved</html>")
    assert main(["models", "fetch", "official", "--url", f"{base}/data.zip"]) == 2
    assert "neither a zip nor a tar archive" in capsys.readouterr().err
    assert main(["models", "fetch", "official", "--url", f"{base}/missing.zip"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "404" in err[0]
    assert registered_models() == {} and list((home / "models").iterdir()) == []


def test_an_unreachable_server_is_one_line_and_exit_2(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert main(["models", "fetch", "official", "--url", f"http://127.0.0.1:{port}/data.zip", "--timeout", "5"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot download" in err[0] and f"127.0.0.1:{port}" in err[0]
    assert registered_models() == {}


def test_an_archive_of_weights_npz_is_accepted_but_only_with_the_authors_kernels(
        home: Path, server: tuple[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An archive holding the authors' weights.npz (no TF files) converts too; other kernels are refused."""
    base, www = server
    weights = read_npz_weights(OFFICIAL / "weights.npz")
    changed = dict(weights)
    name = next(k for k in weights if k.endswith("pred_conv/Conv/weights"))
    changed[name] = weights[name] + np.float32(1e-3)  # readable, finite, the right shapes: not the authors'
    for label, tensors in (("other", changed), ("authors", weights)):
        npz = tmp_path / f"{label}.npz"
        np.savez(npz, **tensors)
        with zipfile.ZipFile(www / f"{label}.zip", "w") as zf:
            zf.write(npz, "release/weights.npz")
    assert main(["models", "fetch", "official", "--url", f"{base}/other.zip"]) == 2
    assert "not the authors' released weights" in capsys.readouterr().err
    assert registered_models() == {}
    assert main(["models", "fetch", "official", "--url", f"{base}/authors.zip", "--name", "theirs"]) == 0
    assert resolve_model("theirs") == ("official", home / "models" / "theirs.npz")
