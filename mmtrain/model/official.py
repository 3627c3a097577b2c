"""The authors' released weights: TensorFlow variable names, the numpy archive and the TF checkpoint.

The official model (config ``o3f_hmhm2_bg_qnoise_mix4_nl_n_t_ds3``, step 259002) has 42 bias-free
convolution kernels named ``ynet_3frames/<part>/<layer>/Conv/weights`` in TF layout [kh, kw, in, out];
:func:`official_parameter_names` maps them onto a :class:`~mmtrain.model.network.MagNet` built with
``ModelConfig.from_preset("official")``.

Two sources are read:

- ``weights.npz``: a numpy archive keyed by TF variable name (:func:`read_npz_weights`);
- the TF checkpoint as users download it (``<prefix>.index`` + ``<prefix>.data-0000k-of-0000n``),
  read directly without TensorFlow (:func:`read_tf_checkpoint`). The ``.index`` file is a LevelDB-style
  SSTable (footer -> index block -> data blocks of prefix-compressed key/value entries); each key is a
  tensor name, each value a serialized ``BundleEntryProto`` (dtype, shape, shard, offset, size, crc32c)
  pointing at raw little-endian bytes in a data file. The empty key holds the ``BundleHeaderProto``.
"""

from __future__ import annotations

import logging
import re
import struct
import zipfile
import zlib
from pathlib import Path
from typing import Iterator

import numpy as np
import torch

from mmdata.errors import CheckpointError
from mmtrain.model.network import MagNet

__all__ = [
    "official_parameter_names",
    "read_npz_weights",
    "read_tf_checkpoint",
    "resolve_tf_prefix",
    "load_official_state",
    "load_official_weights",
]

log = logging.getLogger(__name__)

SCOPE = "ynet_3frames"
_TABLE_MAGIC = 0xDB4775248B80FB57
_FOOTER_LEN = 48
# tensorflow/core/framework/types.proto DataType -> numpy dtype (little endian)
_TF_DTYPES: dict[int, np.dtype] = {
    1: np.dtype("<f4"), 2: np.dtype("<f8"), 3: np.dtype("<i4"), 4: np.dtype("u1"), 5: np.dtype("<i2"),
    6: np.dtype("i1"), 9: np.dtype("<i8"), 10: np.dtype("?"), 17: np.dtype("<u2"), 19: np.dtype("<f2"),
    22: np.dtype("<u4"), 23: np.dtype("<u8"),
}


# --------------------------------------------------------------------------------------------
# name mapping
# --------------------------------------------------------------------------------------------
def _block_names(prefix: str, n: int, *, numbered: bool) -> list[str]:
    """TF scopes of n residual blocks: ``prefix{i}`` or ``prefix``, ``prefix_1``, ``prefix_2``..."""
    if numbered:
        return [f"{prefix}{i}" for i in range(n)]
    return [prefix if i == 0 else f"{prefix}_{i}" for i in range(n)]


def official_parameter_names(model: MagNet) -> dict[str, str]:
    """Map each TF variable name to the name of the matching parameter of ``model``.

    Raises:
        CheckpointError: the model is not bias-free or has a shape conv (not the official layout).
    """
    c = model.config
    if c.bias or c.shape_conv:
        raise CheckpointError(f"the authors' weights need the 'official' layout (bias-free, no shape conv); "
                              f"got preset {c.preset!r} with bias={c.bias}, shape_conv={c.shape_conv}")
    convs: dict[str, str] = {
        "encoder/enc_conv1_c": "encoder.conv1",
        "encoder/enc_conv2_c": "encoder.conv2",
        "encoder/enc_texture_conv": "encoder.texture_conv",
        "manipulator/mani_conv0c": "manipulator.g",
        "manipulator/mani_aft_conv0c": "manipulator.h_conv",
        "decoder/texture_upsample": "decoder.texture_up",
        "decoder/dec_conv2_c": "decoder.up_conv",
        "decoder/pred_conv": "decoder.pred_conv",
    }
    blocks = [
        ("encoder", _block_names("encoder_resblk", c.n_enc_blocks, numbered=True), "encoder.blocks"),
        ("encoder", _block_names("texture_enc", c.n_texture_blocks, numbered=False), "encoder.texture_blocks"),
        ("encoder", _block_names("shape_enc", c.n_shape_blocks, numbered=False), "encoder.shape_blocks"),
        ("manipulator", _block_names("mani_resblk", c.n_manip_blocks, numbered=True), "manipulator.h_blocks"),
        ("decoder", _block_names("decoder_resblk", c.n_dec_blocks, numbered=True), "decoder.blocks"),
    ]
    for part, names, module in blocks:
        for i, name in enumerate(names):
            convs[f"{part}/{name}_c1"] = f"{module}.{i}.c1"
            convs[f"{part}/{name}_c2"] = f"{module}.{i}.c2"
    return {f"{SCOPE}/{tf}/Conv/weights": f"{ours}.conv.weight" for tf, ours in convs.items()}


def load_official_state(model: MagNet, tensors: dict[str, np.ndarray], *, source: str | Path = "weights") -> None:
    """Copy TF kernels (HWIO) into ``model`` (OIHW), checking that every weight is present, fits and is finite.

    Every variable is checked before any is copied, so ``model`` is left as it was on failure.

    Args:
        model: a MagNet with the official layout.
        tensors: TF variable name -> array (extra entries such as the global step are ignored).
        source: named in error messages.

    Raises:
        CheckpointError: a missing variable, a shape mismatch (expected and found shapes named), a
            non-numeric kernel, or NaN/inf values (their count named).
    """
    mapping = official_parameter_names(model)
    params = dict(model.named_parameters())
    missing = sorted(set(mapping) - set(tensors))
    if missing:
        raise CheckpointError(f"{source}: not the authors' weights, missing {len(missing)} variables "
                              f"(e.g. {missing[0]!r})")
    kernels = {tf_name: _checked_kernel(tensors[tf_name], tuple(params[ours].shape), tf_name, source)
               for tf_name, ours in mapping.items()}
    with torch.no_grad():
        for tf_name, ours in mapping.items():
            target = params[ours]
            target.copy_(kernels[tf_name].to(target.dtype))
    unused = sorted(set(tensors) - set(mapping) - {"Variable"})
    if unused:
        log.warning("%s: %d variables not used by the model, e.g. %s", source, len(unused), unused[0])


def _checked_kernel(array: np.ndarray, oihw: tuple[int, ...], name: str, source: str | Path) -> torch.Tensor:
    """One TF kernel (HWIO) as an OIHW tensor of shape ``oihw``, refusing wrong shapes, types and NaN/inf."""
    array = np.asarray(array)
    expected = (oihw[2], oihw[3], oihw[1], oihw[0])  # HWIO
    if array.shape != expected:
        raise CheckpointError(f"{source}: variable {name} has shape {array.shape}, expected {expected} "
                              f"(HWIO; the model's {tuple(oihw)} OIHW)")
    if not np.issubdtype(array.dtype, np.floating):
        raise CheckpointError(f"{source}: variable {name} holds {array.dtype} values, expected floating point")
    bad = int(array.size - np.count_nonzero(np.isfinite(array)))
    if bad:
        raise CheckpointError(f"{source}: variable {name} holds {bad} non-finite values (NaN or inf) of "
                              f"{array.size}; the weights are corrupt")
    return torch.from_numpy(np.ascontiguousarray(array)).permute(3, 2, 0, 1)


def load_official_weights(model: MagNet, path: str | Path) -> MagNet:
    """Load the authors' weights from ``weights.npz`` or a TF checkpoint (prefix, ``.index`` or folder).

    Returns:
        ``model``, with its weights replaced.

    Raises:
        CheckpointError: unreadable or foreign file.
    """
    path = Path(path)
    tensors = read_npz_weights(path) if path.suffix == ".npz" else read_tf_checkpoint(path)
    load_official_state(model, tensors, source=path)
    return model


def read_npz_weights(path: str | Path) -> dict[str, np.ndarray]:
    """TF variable name -> array from a ``weights.npz`` archive.

    Raises:
        CheckpointError: not a readable numpy archive.
    """
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {name: archive[name] for name in archive.files}
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such weights file") from None
    except IsADirectoryError:
        raise CheckpointError(f"{path}: is a folder, expected a weights.npz file") from None
    except PermissionError:
        raise CheckpointError(f"{path}: cannot read the weights file (permission denied)") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as exc:  # truncated or not an archive
        raise CheckpointError(f"{path}: not a readable numpy weights archive (truncated or corrupt: "
                              f"{type(exc).__name__}: {exc})") from exc


# --------------------------------------------------------------------------------------------
# TF checkpoint (tensor bundle) reader
# --------------------------------------------------------------------------------------------
def resolve_tf_prefix(path: str | Path) -> Path:
    """The checkpoint prefix named by a prefix, its ``.index`` file, or a folder with a ``checkpoint`` file.

    Raises:
        CheckpointError: nothing checkpoint-like at ``path``.
    """
    path = Path(path)
    if path.is_dir():
        state = path / "checkpoint"
        if not state.is_file():
            raise CheckpointError(f"{path}: folder has no TF 'checkpoint' file")
        match = re.search(r'^model_checkpoint_path:\s*"(.*)"\s*$', state.read_text(errors="replace"), re.M)
        if not match:
            raise CheckpointError(f"{state}: no model_checkpoint_path entry")
        prefix = Path(match.group(1))
        path = prefix if prefix.is_absolute() else path / prefix
    elif path.suffix == ".index" or path.name.startswith(path.stem + ".data-"):
        path = path.with_suffix("")
    elif ".data-" in path.name:
        path = path.with_name(path.name.split(".data-")[0])
    if not path.with_name(path.name + ".index").is_file():
        raise CheckpointError(f"{path}: no TF checkpoint index {path.name}.index")
    return path


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise ValueError("truncated varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _proto_fields(buf: bytes) -> Iterator[tuple[int, int, int | bytes]]:
    """(field number, wire type, value) of a serialized protobuf message."""
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 1:
            value, pos = struct.unpack_from("<Q", buf, pos)[0], pos + 8
        elif wire == 2:
            length, pos = _varint(buf, pos)
            value, pos = buf[pos:pos + length], pos + length
        elif wire == 5:
            value, pos = struct.unpack_from("<I", buf, pos)[0], pos + 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        yield field, wire, value


def _parse_entry(value: bytes) -> dict:
    """A BundleEntryProto: dtype, shape, shard_id, offset, size, crc32c, slices."""
    entry: dict = {"dtype": 0, "shape": [], "shard_id": 0, "offset": 0, "size": 0, "crc32c": None, "slices": 0}
    for field, _, v in _proto_fields(value):
        if field == 1:
            entry["dtype"] = v
        elif field == 2:
            for f, _, dim in _proto_fields(v):  # TensorShapeProto.dim (2), unknown_rank (3)
                if f == 2:
                    entry["shape"].append(next((s for g, _, s in _proto_fields(dim) if g == 1), 0))
        elif field in (3, 4, 5):
            entry[{3: "shard_id", 4: "offset", 5: "size"}[field]] = v
        elif field == 6:
            entry["crc32c"] = v
        elif field == 7:
            entry["slices"] += 1
    return entry


def _read_block(data: bytes, offset: int, size: int) -> list[tuple[bytes, bytes]]:
    """Key/value entries of one SSTable block (uncompressed), checking its trailer."""
    if offset + size + 5 > len(data):
        raise ValueError(f"block at {offset} (+{size}) runs past the end of the file")
    if data[offset + size] != 0:
        raise ValueError(f"compressed block (type {data[offset + size]}) is not supported")
    block = data[offset:offset + size]
    n_restarts = struct.unpack_from("<I", block, size - 4)[0]
    end = size - 4 - 4 * n_restarts
    entries, pos, key = [], 0, b""
    while pos < end:
        shared, pos = _varint(block, pos)
        unshared, pos = _varint(block, pos)
        vlen, pos = _varint(block, pos)
        key = key[:shared] + block[pos:pos + unshared]
        pos += unshared
        entries.append((key, block[pos:pos + vlen]))
        pos += vlen
    return entries


def _read_index(index_path: Path) -> dict[str, dict]:
    data = index_path.read_bytes()
    if len(data) < _FOOTER_LEN or struct.unpack_from("<Q", data, len(data) - 8)[0] != _TABLE_MAGIC:
        raise ValueError("not an SSTable (bad footer magic)")
    footer = data[len(data) - _FOOTER_LEN:]
    _, pos = _varint(footer, 0)  # metaindex handle: offset
    _, pos = _varint(footer, pos)  # metaindex handle: size
    index_offset, pos = _varint(footer, pos)
    index_size, pos = _varint(footer, pos)
    entries: dict[str, dict] = {}
    for _, handle in _read_block(data, index_offset, index_size):
        offset, p = _varint(handle, 0)
        size, _ = _varint(handle, p)
        for key, value in _read_block(data, offset, size):
            name = key.decode("utf-8")
            entries[name] = {"header": value} if name == "" else _parse_entry(value)
    return entries


def _crc32c_masked(payload: bytes) -> int | None:
    try:
        import google_crc32c
    except ImportError:  # optional: verification skipped
        return None
    crc = google_crc32c.value(payload)
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


def read_tf_checkpoint(path: str | Path, *, verify: bool = True) -> dict[str, np.ndarray]:
    """Every tensor of a TF checkpoint (tensor bundle), read without TensorFlow.

    Args:
        path: the checkpoint prefix, its ``.index`` file, or a folder holding a ``checkpoint`` file.
        verify: check each tensor's crc32c (when ``google_crc32c`` is installed).

    Returns:
        TF variable name -> numpy array (native byte order).

    Raises:
        CheckpointError: missing or corrupt index/data files, unsupported dtype or sliced variables.
    """
    prefix = resolve_tf_prefix(path)
    index_path = prefix.with_name(prefix.name + ".index")
    try:
        entries = _read_index(index_path)
    except (ValueError, struct.error, UnicodeDecodeError, IndexError) as exc:
        raise CheckpointError(f"{index_path}: not a readable TF checkpoint index ({exc})") from exc
    header = dict((f, v) for f, _, v in _proto_fields(entries.pop("", {}).get("header", b"")))
    n_shards = int(header.get(1, 1))
    if header.get(2, 0) != 0:
        raise CheckpointError(f"{index_path}: big-endian checkpoints are not supported")
    shards: dict[int, bytes] = {}
    tensors: dict[str, np.ndarray] = {}
    for name, e in sorted(entries.items()):
        if e["slices"]:
            raise CheckpointError(f"{index_path}: {name} is a partitioned (sliced) variable; not supported")
        if e["dtype"] not in _TF_DTYPES:
            raise CheckpointError(f"{index_path}: {name} has unsupported TF dtype {e['dtype']}")
        shard = e["shard_id"]
        if shard not in shards:
            data_path = prefix.with_name(f"{prefix.name}.data-{shard:05d}-of-{n_shards:05d}")
            try:
                shards[shard] = data_path.read_bytes()
            except OSError as exc:
                raise CheckpointError(f"{data_path}: cannot read checkpoint data ({exc})") from exc
        payload = shards[shard][e["offset"]:e["offset"] + e["size"]]
        dtype = _TF_DTYPES[e["dtype"]]
        expected = int(np.prod(e["shape"], dtype=np.int64)) * dtype.itemsize
        if len(payload) != e["size"] or e["size"] != expected:
            raise CheckpointError(f"{prefix}: {name} expects {expected} bytes at offset {e['offset']} of shard "
                                  f"{shard}, found {len(payload)}")
        if verify and e["crc32c"] is not None:
            crc = _crc32c_masked(payload)
            if crc is not None and crc != e["crc32c"]:
                raise CheckpointError(f"{prefix}: {name} fails its crc32c check (corrupt data file)")
        tensors[name] = np.frombuffer(payload, dtype=dtype).reshape(e["shape"]).astype(dtype.newbyteorder("="))
    return tensors
