"""The lossless image codec of the frame arrays: bit-exact round trips, zarr metadata, old shards."""

from __future__ import annotations

import json

import numpy as np
import pytest
import zarr

from mmdata.config import load_config
from mmdata.store import StoreSettings
from mmdata.store.codec import CODEC_NAME, IMAGE_FORMATS, LEVELS, ImageCodec
from mmdata.store.generate import GenerateSpec, generate_shard
from mmdata.store.reader import open_shard


def _frames(n: int = 3, size: int = 48) -> np.ndarray:
    """Noisy photographic-like frames plus the extremes 0 and 255."""
    rng = np.random.default_rng(11)
    yy, xx = np.mgrid[0:size, 0:size]
    base = 127.5 + 100 * np.sin(xx[..., None] / 5.0 + np.arange(3)) * np.cos(yy[..., None] / 7.0)
    frames = np.clip(base[None] + rng.normal(0, 3, (n, size, size, 3)), 0, 255).astype(np.uint8)
    frames[0, :4] = 0
    frames[0, -4:] = 255
    return frames


@pytest.mark.parametrize("fmt", sorted(IMAGE_FORMATS))
def test_round_trip_through_a_sharded_zarr_array_is_bit_exact(fmt):
    data = _frames()
    store = zarr.storage.MemoryStore()
    arr = zarr.create_array(
        store, shape=data.shape, chunks=(1, *data.shape[1:]), shards=(3, *data.shape[1:]), dtype="uint8",
        serializer=ImageCodec(format=fmt, level=2 if fmt in LEVELS else None), compressors=None,
    )
    arr[...] = data
    back = zarr.open_array(store, mode="r")  # a fresh reader: the codec comes from the metadata
    assert back[...].tobytes() == data.tobytes()
    assert back[1].tobytes() == data[1].tobytes()


def test_codec_metadata_names_format_and_level():
    codec = ImageCodec(format="jpegxl", level=3)
    assert codec.to_dict() == {"name": CODEC_NAME, "configuration": {"format": "jpegxl", "level": 3}}
    assert ImageCodec.from_dict(codec.to_dict()) == codec
    assert ImageCodec(format="htj2k", level=5).level is None  # a level only JPEG XL uses


@pytest.mark.parametrize("kwargs", [{"format": "png"}, {"format": "jpegxl", "level": 0}, {"format": "jpegxl", "level": 10},
                                    {"format": "webp", "level": 7}, {"format": "webp", "level": -1}])
def test_bad_codec_settings_are_refused(kwargs):
    with pytest.raises(ValueError):
        ImageCodec(**kwargs)


def test_non_image_arrays_are_refused():
    with pytest.raises(ValueError, match=CODEC_NAME):
        zarr.create_array({}, shape=(4, 5), dtype="float32", serializer=ImageCodec(), compressors=None)


def _shard(tmp_path, catalogue, codec):
    cfg = load_config(overrides={"seed": 3, "dataset": {"image_size": 32, "shard_size": 2, "parts": {"fg_bg": 2}},
                                 "store": {"codec": codec, "zarr_shard_samples": 2}})
    assert StoreSettings.from_config(cfg).codec == codec
    return generate_shard(GenerateSpec.from_config(cfg), catalogue, tmp_path / codec, 1, 0)


def test_the_codec_changes_no_pixel_and_is_recorded(tmp_path, catalogue):
    """Shards written with each codec hold the same frames; zarr.json and the provenance name the codec."""
    frames = {}
    for codec in ("htj2k", "jpegxl", "webp", "zstd"):
        path = _shard(tmp_path, catalogue, codec)
        meta = json.loads((path / "frame_a" / "zarr.json").read_text())
        inner = meta["codecs"][0]["configuration"]["codecs"]  # inside the sharding codec
        if codec in IMAGE_FORMATS:
            level = 2 if codec in LEVELS else None  # store.compression_level's default
            assert inner == [{"name": CODEC_NAME, "configuration": {"format": codec, "level": level}}]
        else:
            assert [c["name"] for c in inner] == ["bytes", "blosc"]
        attrs = dict(zarr.open_group(str(path), mode="r").attrs)
        assert f'"codec": "{codec}"' in json.dumps(attrs)
        shard = open_shard(path)
        frames[codec] = shard.read(0, shard.count, shard.layout.frame_fields)
    for codec in ("htj2k", "jpegxl", "webp"):
        for field, img in frames["zstd"].items():
            assert frames[codec][field].tobytes() == img.tobytes(), (codec, field)


def test_a_webp_method_out_of_range_names_the_key():
    from mmdata.errors import ConfigError

    with pytest.raises(ConfigError, match=r"^store.compression_level: WebP's method is 0-6, got 9$"):
        StoreSettings(codec="webp", compression_level=9)
