"""The default frame codec: what the schema says, bit-exact on rendered frames, old zstd shards still
read and audit, and safe when a library sets itself up lazily on first use (OpenJPH did)."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from store_helpers import builtin_catalogue_dir, small_config, write_config

from mmdata.cli import main
from mmdata.config import load_config, section_defaults
from mmdata.render.composite import render
from mmdata.sources import open_catalogue
from mmdata.spec import DatasetSpec
from mmdata.store import StoreSettings, open_dataset, open_shard, shard_path
from mmdata.store import codec as codec_module
from mmdata.store.codec import CODEC_NAME, ImageCodec
from mmdata.store.writer import frame_codecs


@pytest.fixture(scope="module")
def catalogue_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return builtin_catalogue_dir(tmp_path_factory)


def _frame_codec(path: Path, field: str = "frame_a") -> dict:
    """The innermost codec of a frame array (inside the sharding codec), from its zarr.json."""
    return json.loads((path / field / "zarr.json").read_text())["codecs"][0]["configuration"]["codecs"][-1]


def test_the_default_is_what_the_schema_says():
    defaults = section_defaults("store")
    assert (defaults["codec"], defaults["compression_level"]) == ("jpegxl", 2)
    settings = StoreSettings.from_config(load_config())
    assert settings == StoreSettings()  # the dataclass agrees with the schema
    assert (settings.codec, settings.compression_level) == (defaults["codec"], defaults["compression_level"])
    assert frame_codecs(settings) == {"serializer": ImageCodec(format="jpegxl", level=2), "compressors": None}


def test_the_default_codec_keeps_rendered_384_px_frames_byte_for_byte(tmp_path, catalogue_dir):
    cfg = small_config(dataset={"image_size": 384, "shard_size": 2, "parts": {"fg_bg": 2}}, store={"zarr_shard_samples": 2})
    root = tmp_path / "ds"
    assert main(["-q", "generate", "--config", str(write_config(tmp_path / "c.yaml", cfg)), "--catalogue", str(catalogue_dir),
                 "--part", "1", "--shard", "0", "--root", str(root)]) == 0
    path = shard_path(root, 1, 0)
    assert _frame_codec(path) == {"name": CODEC_NAME, "configuration": {"format": "jpegxl", "level": 2}}
    shard = open_shard(path)
    frames = shard.read(0, shard.count, shard.layout.frame_fields)
    stored = shard.read(0, shard.count, ("digest",))["digest"]  # sha256 of the rendered bytes, written before encoding
    spec, catalogue = DatasetSpec.from_config(load_config(overrides=cfg)), open_catalogue(catalogue_dir)
    for i in range(shard.count):
        rendered = render(spec, 1, i, catalogue)[1]
        for f, field in enumerate(shard.layout.frame_fields):
            digest = hashlib.sha256(frames[field][i].tobytes()).digest()
            assert digest == hashlib.sha256(rendered[field].tobytes()).digest() == stored[i, f].tobytes(), (i, field)


def test_a_shard_written_with_the_old_zstd_default_still_reads_and_audits(tmp_path, catalogue_dir, capsys):
    """A part written with Blosc zstd (the default before JPEG XL) next to one written with the default."""
    root = tmp_path / "ds"
    parts = {"fg_bg": 4, "bg_only": 4, "blur_bg": 0, "static": 0, "fg_only": 0}
    old = small_config(dataset={"shard_size": 4, "parts": parts}, store={"codec": "zstd", "compression_level": 1})
    new = small_config(dataset={"shard_size": 4, "parts": parts})
    for cfg, part in ((old, 1), (new, 2)):
        assert main(["-q", "generate", "--config", str(write_config(tmp_path / f"c{part}.yaml", cfg)), "--catalogue",
                     str(catalogue_dir), "--part", str(part), "--shard", "0", "--root", str(root)]) == 0
    old_codec, new_codec = _frame_codec(shard_path(root, 1, 0)), _frame_codec(shard_path(root, 2, 0))
    assert old_codec["name"] == "blosc" and old_codec["configuration"]["cname"] == "zstd"
    assert new_codec["name"] == CODEC_NAME and new_codec["configuration"]["format"] == "jpegxl"
    assert main(["-q", "index", "--root", str(root)]) == 0
    capsys.readouterr()
    assert main(["-q", "audit", "--root", str(root)]) == 0  # every frame hashed, every sample re-rendered
    assert capsys.readouterr().out.startswith("audit PASSED: 2 shards, 8 samples checked, 8 re-rendered, 0 problem(s)")
    ds = open_dataset(root)
    assert len(ds) == 8 and ds.fields["frame_a"].shape == (8, 32, 32, 3)
    assert ds.fields["frame_a"][:4].compute().tobytes() == open_shard(shard_path(root, 1, 0)).read(0, 4, ("frame_a",))["frame_a"].tobytes()


class _LazyLibrary:
    """An image library that sets up its tables on first use behind a plain flag, as OpenJPH 0.26 does.

    Coding while another thread is still setting the tables up writes a bad image (OpenJPH: a
    codestream that fails to decode). A caller that starts setting up later finishes later.
    """

    def __init__(self) -> None:
        self.ready = False
        self.setting_up = 0
        self.lock = threading.Lock()  # only for the counter itself

    def encode(self, img: np.ndarray, level: int | None) -> bytes:
        if not self.ready:
            with self.lock:
                self.setting_up += 1
                order = self.setting_up
            time.sleep(0.15 * order)  # clear the tables, fill them
            with self.lock:
                self.setting_up -= 1
            self.ready = True
        good = self.setting_up == 0
        return (b"\x01" if good else b"\x00") + img.tobytes()

    @staticmethod
    def decode(data: bytes) -> np.ndarray:
        if data[:1] != b"\x01":
            raise RuntimeError("bad codeblock")
        return np.frombuffer(data[1:], np.uint8).reshape(8, 8, 3)


def test_first_encodes_of_a_lazily_set_up_library_never_overlap(monkeypatch):
    library = _LazyLibrary()
    monkeypatch.setitem(codec_module.IMAGE_FORMATS, "lazy-test", (library.encode, library.decode))
    imgs = [np.full((8, 8, 3), i, np.uint8) for i in range(4)]
    barrier = threading.Barrier(len(imgs))

    def encode(img: np.ndarray) -> bytes:
        barrier.wait()  # the first encodes of the process start together, as zarr's threads do
        return codec_module.encode_image("lazy-test", img, None)

    with ThreadPoolExecutor(len(imgs)) as pool:
        blobs = list(pool.map(encode, imgs))
    for img, blob in zip(imgs, blobs):
        assert codec_module.decode_image("lazy-test", blob).tobytes() == img.tobytes()


_HTJ2K_FIRST_ENCODES = """
import threading, numpy as np
from mmdata.store.codec import decode_image, encode_image
imgs = [np.random.default_rng(i).integers(0, 256, (32, 32, 3), dtype=np.uint8) for i in range(8)]
barrier, out = threading.Barrier(8), [None] * 8
def work(i):
    barrier.wait()
    out[i] = encode_image("htj2k", imgs[i], None)
threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
[t.start() for t in threads]
[t.join() for t in threads]
assert all(decode_image("htj2k", b).tobytes() == im.tobytes() for b, im in zip(out, imgs))
"""


def test_overlapping_first_htj2k_encodes_of_a_fresh_process_round_trip():
    """The real library in a fresh process (its tables are set up once per process)."""
    for _ in range(3):
        subprocess.run([sys.executable, "-c", _HTJ2K_FIRST_ENCODES], check=True, cwd=Path(__file__).parent)
