"""Fuzz the dataset store: damaged copies of one small indexed dataset never hang, crash or lie.

One dataset (part 1: two shards of 3 samples, 32 px, zarr shards of 2 samples, indexed with
``mmdata index``) is built once per module. Every mutation edits a fresh copy of it on disk, then a
forked child (wall-clock bound :data:`TIMEOUT_S`, address space bound by ``RLIMIT_AS``, see
:func:`_memory_limit`) runs:

(a) ``open_dataset(root)`` and ``read_run`` of every shard, all fields: it either raises a
    :class:`~mmdata.errors.MotionMagError` or returns exactly the pristine data (the verified property);
(b) ``audit_dataset(root, samples=0)``: it returns a report (never raises); the report must fail when
    the mutation changed what the store means (``FAIL``), must pass for a benign one (``PASS``, reads
    must then succeed too), and for raw byte edits of chunk files (``MEANING``) it must fail whenever an
    unverified read (``verify=False``) of the damaged store no longer yields the pristine data.

A child that is killed, times out, or ends by anything but a MotionMagError fails the test, naming the
mutation.

Mutations: by default a fixed corpus of :data:`N_CORPUS` (= 54) named mutations plus :data:`N_RANDOM`
(= 6) seeded random ones, 60 in all (about 40 s with the build on two lightly loaded cores); the
``slow`` variant adds the :data:`N_CORPUS_SLOW` (= 31) corpus mutations of :data:`SLOW_CORPUS` and
:data:`N_RANDOM_SLOW` (= 500) more random ones (another stream), 531 more.

Random mutations (:func:`_random_mutation`): one file of the two shards or the manifest, chosen by a
seeded ``random.Random``, gets a bit flip, several byte overwrites, a truncation, a zeroed range,
bytes appended (a few, or 10 MB) or inserted, or a JSON edit of one value (with or without the
attribute or manifest hash recomputed). hypothesis is not a dependency of the project.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import resource
import shutil
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest
from store_helpers import indexed_part1, small_config

from mmdata.errors import MotionMagError, StoreNotFound
from mmdata.store import MANIFEST_NAME, attrs_digest, audit_dataset, open_dataset, shard_path
from mmdata.store.reader import ShardReader, manifest_digest

CONFIG = small_config(dataset={"shard_size": 3, "parts": {"fg_bg": 6, "bg_only": 0, "blur_bg": 0, "static": 0, "fg_only": 0}},
                      store={"zarr_shard_samples": 2})

#: Wall-clock bound of one mutation's child (open, read, audit and the unverified read).
TIMEOUT_S = 20.0
#: Address-space bound of a child above what the forked test process already maps.
MEMORY_HEADROOM = 2 << 30
#: Seeded random mutations of the default run and of the slow variant.
N_RANDOM, N_RANDOM_SLOW = 6, 500
SEED = 20240611

#: What the audit must say about a mutation.
FAIL, PASS, MEANING, ANY = "fail", "pass", "meaning", "any"

TEN_MB = 10 << 20


@dataclass(frozen=True)
class Mutation:
    name: str
    apply: Callable[[Path, random.Random], None]
    audit: str  # FAIL, PASS, MEANING or ANY


# --- helpers that edit a store ------------------------------------------------------------------


def _shard(root: Path, k: int) -> Path:
    return shard_path(root, 1, k)


def _chunk(root: Path, k: int, field: str, block: int = 0) -> Path:
    base = _shard(root, k) / field / "c" / str(block)
    while base.is_dir():
        base = base / "0"
    return base


def _edit_bytes(path: Path, edit: Callable[[bytearray], bytearray | bytes]) -> None:
    path.write_bytes(bytes(edit(bytearray(path.read_bytes()))))


def _flip(at: float) -> Callable[[bytearray], bytearray]:
    def edit(b: bytearray) -> bytearray:
        b[min(len(b) - 1, int(len(b) * at))] ^= 0xFF
        return b
    return edit


def _zero_fill(b: bytearray) -> bytearray:
    return bytearray(len(b))


def _append_10mb(path: Path) -> None:
    with open(path, "ab") as f:
        f.write(b"\x5a" * TEN_MB)


def _edit_json(path: Path, edit: Callable[[Any], Any]) -> None:
    doc = json.loads(path.read_text())
    out = edit(doc)
    path.write_text(json.dumps(doc if out is None else out, indent=2))


def _edit_array_meta(field: str, edit: Callable[[dict], None], k: int = 0) -> Callable[[Path, random.Random], None]:
    return lambda root, rng: _edit_json(_shard(root, k) / field / "zarr.json", edit)


def _edit_attrs(edit: Callable[[dict], None], reseal: bool, k: int = 0) -> Callable[[Path, random.Random], None]:
    def apply(root: Path, rng: random.Random) -> None:
        def on_doc(doc: dict) -> None:
            edit(doc["attributes"])
            if reseal:
                doc["attributes"]["attrs_sha256"] = attrs_digest(doc["attributes"])
        _edit_json(_shard(root, k) / "zarr.json", on_doc)
    return apply


def _edit_manifest(edit: Callable[[dict], None], rehash: bool) -> Callable[[Path, random.Random], None]:
    def apply(root: Path, rng: random.Random) -> None:
        def on_doc(doc: dict) -> None:
            edit(doc)
            if rehash:
                doc["manifest_hash"] = manifest_digest(doc)
        _edit_json(root / MANIFEST_NAME, on_doc)
    return apply


def _replace(path_of: Callable[[Path], Path], make: Callable[[Path, Path], None]) -> Callable[[Path, random.Random], None]:
    def apply(root: Path, rng: random.Random) -> None:
        path = path_of(root)
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
        make(path, root)
    return apply


def _set(d: dict, key: str, value: Any) -> None:
    d[key] = value


def _swap_entries(m: dict) -> None:
    m["shards"][0], m["shards"][1] = m["shards"][1], m["shards"][0]


def _swap_paths(m: dict) -> None:
    a, b = m["shards"][0], m["shards"][1]
    a["path"], b["path"] = b["path"], a["path"]


def _codec(meta: dict) -> dict:
    codecs = meta["codecs"]
    return codecs[0]["configuration"]["codecs"][0] if codecs[0]["name"] == "sharding_indexed" else codecs[-1]


# --- the fixed corpus -----------------------------------------------------------------------------


def _corpus() -> list[Mutation]:
    m: list[Mutation] = []
    add = lambda name, apply, audit: m.append(Mutation(name, apply, audit))  # noqa: E731

    # chunk files: frames (zarr shards with an index) and small arrays (blosc)
    for field in ("frame_a", "frame_y_perturbed", "alpha", "params_json", "digest", "fast_digest", "index"):
        add(f"flip middle byte of {field} chunk", lambda r, g, f=field: _edit_bytes(_chunk(r, 0, f), _flip(0.5)), MEANING)
        add(f"truncate {field} chunk to half", lambda r, g, f=field: _edit_bytes(_chunk(r, 1, f), lambda b: b[: len(b) // 2]), MEANING)
    add("flip last byte of frame_b chunk (shard index crc)", lambda r, g: _edit_bytes(_chunk(r, 0, "frame_b"), _flip(1.0)), MEANING)
    add("flip first byte of motion chunk (blosc header)", lambda r, g: _edit_bytes(_chunk(r, 0, "motion"), _flip(0.0)), MEANING)
    add("truncate frame_a chunk to zero bytes", lambda r, g: _chunk(r, 0, "frame_a").write_bytes(b""), MEANING)
    add("zero-fill frame_b chunk", lambda r, g: _edit_bytes(_chunk(r, 1, "frame_b"), _zero_fill), MEANING)
    add("zero-fill alpha chunk", lambda r, g: _edit_bytes(_chunk(r, 0, "alpha"), _zero_fill), MEANING)
    add("append 10 MB to frame_a chunk", lambda r, g: _append_10mb(_chunk(r, 0, "frame_a")), MEANING)
    add("append 10 MB to params_json chunk", lambda r, g: _append_10mb(_chunk(r, 1, "params_json")), MEANING)
    add("delete frame_y chunk file", lambda r, g: _chunk(r, 1, "frame_y", 1).unlink(), MEANING)
    add("swap the two frame_a chunk files", lambda r, g: _swap_files(_chunk(r, 0, "frame_a", 0), _chunk(r, 0, "frame_a", 1)), MEANING)
    add("frame_a chunk copied from the other shard", lambda r, g: shutil.copyfile(_chunk(r, 1, "frame_a"), _chunk(r, 0, "frame_a")), MEANING)

    # special files in place of a chunk file
    add("frame_a chunk replaced by a FIFO", _replace(lambda r: _chunk(r, 0, "frame_a"), lambda p, r: os.mkfifo(p)), FAIL)
    add("alpha chunk replaced by a FIFO", _replace(lambda r: _chunk(r, 1, "alpha"), lambda p, r: os.mkfifo(p)), FAIL)
    add("frame_b chunk replaced by a symlink to /dev/zero", _replace(lambda r: _chunk(r, 0, "frame_b"), lambda p, r: p.symlink_to("/dev/zero")), FAIL)
    add("frame_b chunk replaced by a symlink to another chunk",
        _replace(lambda r: _chunk(r, 0, "frame_b"), lambda p, r: p.symlink_to(_chunk(r, 1, "frame_b"))), FAIL)
    add("frame_y chunk replaced by a directory", _replace(lambda r: _chunk(r, 1, "frame_y"), lambda p, r: p.mkdir()), MEANING)
    add("params_json chunk replaced by a directory", _replace(lambda r: _chunk(r, 0, "params_json"), lambda p, r: p.mkdir()), MEANING)
    add("array zarr.json replaced by a symlink to /dev/zero",
        _replace(lambda r: _shard(r, 0) / "alpha" / "zarr.json", lambda p, r: p.symlink_to("/dev/zero")), FAIL)
    add("shard zarr.json replaced by a FIFO", _replace(lambda r: _shard(r, 1) / "zarr.json", lambda p, r: os.mkfifo(p)), FAIL)

    # array zarr.json: bytes and meaning
    add("flip a byte of frame_a zarr.json", lambda r, g: _edit_bytes(_shard(r, 0) / "frame_a" / "zarr.json", _flip(0.3)), FAIL)
    add("truncate alpha zarr.json", lambda r, g: _edit_bytes(_shard(r, 0) / "alpha" / "zarr.json", lambda b: b[:40]), FAIL)
    add("append 10 MB to alpha zarr.json", lambda r, g: _append_10mb(_shard(r, 0) / "alpha" / "zarr.json"), FAIL)
    add("dtype uint8 -> int8 (frame_a)", _edit_array_meta("frame_a", lambda d: _set(d, "data_type", "int8")), FAIL)
    add("dtype float32 -> int32 (alpha)", _edit_array_meta("alpha", lambda d: _set(d, "data_type", "int32")), FAIL)
    add("dtype uint8 -> uint16 (fast_digest)", _edit_array_meta("fast_digest", lambda d: _set(d, "data_type", "uint16")), FAIL)
    add("shape 3 -> 2 samples (frame_b)", _edit_array_meta("frame_b", lambda d: d["shape"].__setitem__(0, 2)), FAIL)
    add("shape 3 -> 10**12 samples (alpha)", _edit_array_meta("alpha", lambda d: d["shape"].__setitem__(0, 10**12)), FAIL)
    add("shape 32 -> 4096 px (frame_a)", _edit_array_meta("frame_a", lambda d: d["shape"].__setitem__(1, 4096)), FAIL)
    add("chunk shape 2 -> 1 (alpha)", _edit_array_meta("alpha", lambda d: d["chunk_grid"]["configuration"]["chunk_shape"].__setitem__(0, 1)), FAIL)
    add("chunk shape 2 -> 10**9 (frame_a)",
        _edit_array_meta("frame_a", lambda d: d["chunk_grid"]["configuration"]["chunk_shape"].__setitem__(0, 10**9)), FAIL)
    add("inner chunk shape 32 -> 16 px (frame_b)",
        _edit_array_meta("frame_b", lambda d: d["codecs"][0]["configuration"]["chunk_shape"].__setitem__(1, 16)), FAIL)
    add("codec config blosc clevel 1 -> 9 (alpha)", _edit_array_meta("alpha", lambda d: _codec(d)["configuration"].update(clevel=9)), FAIL)
    add("codec endian little -> big (alpha)", _edit_array_meta("alpha", lambda d: d["codecs"][0]["configuration"].update(endian="big")), FAIL)
    add("codec image format jpegxl -> png (frame_a)", _edit_array_meta("frame_a", lambda d: _codec(d)["configuration"].update(format="png")), FAIL)
    add("codec name unknown (frame_a)", _edit_array_meta("frame_a", lambda d: _codec(d).update(name="no_such_codec")), FAIL)
    add("fill_value 0 -> 7 (frame_y)", _edit_array_meta("frame_y", lambda d: _set(d, "fill_value", 7)), FAIL)
    add("array zarr.json rewritten with the same content", _edit_array_meta("frame_a", lambda d: None), ANY)

    # the shard's root zarr.json: attributes with and without resealing attrs_sha256
    for reseal in (False, True):
        tag = "resealed" if reseal else "not resealed"
        add(f"attrs start 0 -> 3 ({tag})", _edit_attrs(lambda a: _set(a, "start", 3), reseal), FAIL)
        add(f"attrs layout count 3 -> 10**9 ({tag})", _edit_attrs(lambda a: a["identity"]["layout"].update(count=10**9), reseal), FAIL)
        add(f"attrs layout block 2 -> 0 ({tag})", _edit_attrs(lambda a: a["identity"]["layout"].update(block=0), reseal), FAIL)
        add(f"attrs identity removed ({tag})", _edit_attrs(lambda a: a.pop("identity"), reseal), FAIL)
        add(f"attrs part 1 -> 'x' ({tag})", _edit_attrs(lambda a: _set(a, "part", "x"), reseal), FAIL)
        add(f"attrs checksums replaced by a list ({tag})", _edit_attrs(lambda a: _set(a, "checksums", [1, 2]), reseal), FAIL)
        add(f"attrs array_metadata removed ({tag})", _edit_attrs(lambda a: a.pop("array_metadata"), reseal), FAIL)
    add("attrs_sha256 removed", _edit_attrs(lambda a: a.pop("attrs_sha256"), False), FAIL)
    add("shard zarr.json garbage", lambda r, g: (_shard(r, 0) / "zarr.json").write_bytes(b"\x00{garbage"), FAIL)

    # the manifest
    add("manifest entry duplicated", _edit_manifest(lambda d: d["shards"].append(dict(d["shards"][0])), False), FAIL)
    add("manifest entry duplicated (rehashed)", _edit_manifest(lambda d: d["shards"].append(dict(d["shards"][0])), True), FAIL)
    add("manifest entries swapped (rehashed)", _edit_manifest(_swap_entries, True), FAIL)
    add("manifest entry paths swapped (rehashed)", _edit_manifest(_swap_paths, True), FAIL)
    add("manifest entry deleted (rehashed)", _edit_manifest(lambda d: d["shards"].pop(), True), FAIL)
    add("manifest part count edited (rehashed)", _edit_manifest(lambda d: d["parts"]["1"].update(count=5), True), FAIL)
    add("manifest entry count edited (rehashed)", _edit_manifest(lambda d: d["shards"][1].update(count=2), True), FAIL)
    add("manifest entry start edited", _edit_manifest(lambda d: d["shards"][1].update(start=4), False), FAIL)
    add("manifest_hash removed", _edit_manifest(lambda d: d.pop("manifest_hash"), False), FAIL)
    add("manifest rewritten with the same content", _edit_manifest(lambda d: None, False), ANY)
    add("manifest deleted", lambda r, g: (r / MANIFEST_NAME).unlink(), FAIL)
    add("manifest replaced by a FIFO", _replace(lambda r: r / MANIFEST_NAME, lambda p, r: os.mkfifo(p)), FAIL)
    add("manifest replaced by a symlink to /dev/zero", _replace(lambda r: r / MANIFEST_NAME, lambda p, r: p.symlink_to("/dev/zero")), FAIL)
    add("manifest truncated", lambda r, g: _edit_bytes(r / MANIFEST_NAME, lambda b: b[: len(b) // 2]), FAIL)

    # benign
    add("extra unknown file at the dataset root", lambda r, g: (r / "notes.txt").write_text("hello"), PASS)
    add("extra unknown file at a shard store root", lambda r, g: (_shard(r, 0) / ".snakemake_timestamp").write_text(""), PASS)
    add("run.json deleted", lambda r, g: (_shard(r, 0) / "run.json").unlink(), PASS)
    add("run.json garbage", lambda r, g: (_shard(r, 1) / "run.json").write_bytes(b"\xff\x00not json"), PASS)
    add("extra array copied into a shard store", lambda r, g: shutil.copytree(_shard(r, 0) / "alpha", _shard(r, 0) / "alpha_copy"), ANY)
    return m


def _swap_files(a: Path, b: Path) -> None:
    tmp = a.with_name(a.name + ".swap")
    a.rename(tmp)
    b.rename(a)
    tmp.rename(b)


# --- seeded random mutations --------------------------------------------------------------------


def _store_files(root: Path) -> list[Path]:
    """Every file of the dataset a mutation may touch: chunk files, zarr.json files, run records, the manifest."""
    out = [root / MANIFEST_NAME]
    for k in (0, 1):
        out += sorted(p for p in _shard(root, k).rglob("*") if p.is_file())
    return out


def _random_json_edit(doc: Any, rng: random.Random) -> None:
    """Change, remove or retype one randomly chosen value of a JSON document (in place)."""
    path, node = [], doc
    while isinstance(node, (dict, list)) and node and (not path or rng.random() < 0.7):
        key = rng.choice(sorted(node)) if isinstance(node, dict) else rng.randrange(len(node))
        path.append((node, key))
        node = node[key]
    if not path:
        return
    parent, key = path[-1]
    choice = rng.randrange(6)
    if choice == 0 and isinstance(parent, dict):
        del parent[key]
    elif choice == 1:
        parent[key] = rng.choice([None, True, -1, 0, 10**12, 1.5, "", "x", [], {}, [0], "uint8", "int8"])
    elif choice == 2 and isinstance(node, (int, float)) and not isinstance(node, bool):
        parent[key] = node + rng.choice([-1, 1, 2, 1000, 10**9])
    elif choice == 3 and isinstance(node, str):
        parent[key] = node[::-1] if node[::-1] != node else node + "0"
    elif choice == 4 and isinstance(parent, list):
        parent.append(node)
    else:
        parent[key] = [node]


def _random_mutation(i: int, seed: int) -> Mutation:
    """Mutation number ``i`` of the random stream ``seed``; the file is chosen when it is applied."""
    pick = random.Random(f"{seed}:{i}")
    op = pick.choice(["flip", "flip", "flips", "truncate", "zero", "append", "append_big", "insert", "json", "json", "json_reseal"])

    def apply(root: Path, rng: random.Random) -> None:
        files = _store_files(root)
        if op in ("json", "json_reseal"):
            files = [p for p in files if p.name in ("zarr.json", MANIFEST_NAME)]
        path = rng.choice(files)
        apply.target = path.relative_to(root)  # type: ignore[attr-defined]
        blob = bytearray(path.read_bytes())
        if op in ("json", "json_reseal"):
            doc = json.loads(blob)
            _random_json_edit(doc, rng)
            if op == "json_reseal":
                if path.name == MANIFEST_NAME:
                    doc["manifest_hash"] = manifest_digest(doc) if isinstance(doc, dict) else None
                elif isinstance(doc, dict) and isinstance(doc.get("attributes"), dict) and "attrs_sha256" in doc["attributes"]:
                    doc["attributes"]["attrs_sha256"] = attrs_digest(doc["attributes"])
            path.write_text(json.dumps(doc))
            return
        if not blob:
            blob = bytearray(b"\0")
        n = len(blob)
        if op == "flip":
            blob[rng.randrange(n)] ^= 1 << rng.randrange(8)
        elif op == "flips":
            for _ in range(rng.randint(2, 16)):
                blob[rng.randrange(n)] = rng.randrange(256)
        elif op == "truncate":
            blob = blob[: rng.randrange(n)]
        elif op == "zero":
            a, length = rng.randrange(n), rng.randint(1, 64)
            blob[a : a + length] = bytes(len(blob[a : a + length]))
        elif op == "append":
            blob += bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))
        elif op == "append_big":
            blob += b"\x5a" * TEN_MB
        elif op == "insert":
            a = rng.randrange(n)
            blob[a:a] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        path.write_bytes(bytes(blob))

    return Mutation(f"random {seed}:{i} {op}", apply, "random")


# --- the child --------------------------------------------------------------------------------------


def _same(got: list[dict[str, np.ndarray]], want: list[dict[str, np.ndarray]]) -> str | None:
    """None when ``got`` is exactly the pristine data, else what differs."""
    if len(got) != len(want):
        return f"{len(got)} shards, pristine has {len(want)}"
    for k, (g, w) in enumerate(zip(got, want)):
        if sorted(g) != sorted(w):
            return f"shard {k}: fields {sorted(g)} != pristine {sorted(w)}"
        for name in w:
            a, b = g[name], w[name]
            if a.dtype != b.dtype or a.shape != b.shape:
                return f"shard {k} {name}: {a.dtype}{a.shape} != pristine {b.dtype}{b.shape}"
            if b.dtype.kind in "OUT":
                if [str(v) for v in a] != [str(v) for v in b]:
                    return f"shard {k} {name}: strings differ"
            elif not np.array_equal(a, b, equal_nan=b.dtype.kind == "f"):
                return f"shard {k} {name}: values differ"
    return None


def _memory_limit() -> int:
    """What a child may map in all: what the forked process maps already plus :data:`MEMORY_HEADROOM` (2 GiB)."""
    with open("/proc/self/status") as f:
        vm = next((int(line.split()[1]) * 1024 for line in f if line.startswith("VmSize:")), 0)
    return vm + MEMORY_HEADROOM


def _child(root: Path, pristine: list[dict[str, np.ndarray]], conn: Any) -> None:
    limit = _memory_limit()
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    out: dict[str, Any] = {}
    try:
        ds = open_dataset(root)
        got = [ds.read_run(s, 0, ref.count) for s, ref in enumerate(ds.shards)]
        out["read"] = ("data", _same(got, pristine))
    except MotionMagError as exc:
        out["read"] = ("error", f"{type(exc).__name__}: {exc}")
    except BaseException:
        out["read"] = ("crash", traceback.format_exc())
    try:
        report = audit_dataset(root, samples=0, rng=np.random.default_rng(0))
        out["audit"] = ("report", report.ok, [str(p) for p in report.problems][:4])
    except StoreNotFound as exc:
        out["audit"] = ("not found", str(exc))
    except BaseException:
        out["audit"] = ("crash", traceback.format_exc())
    try:  # the oracle: does an unverified read still give the pristine data?
        got = []
        for k, want in enumerate(pristine):
            reader = ShardReader(_shard(root, k), verify=False)
            got.append(reader.read(0, len(next(iter(want.values()))), list(want)))
        out["changed"] = _same(got, pristine) is not None
    except BaseException:
        out["changed"] = True
    conn.send(out)
    conn.close()


def _run_child(root: Path, pristine: list[dict[str, np.ndarray]]) -> tuple[dict[str, Any] | None, str]:
    ctx = multiprocessing.get_context("fork")
    recv, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(root, pristine, send), daemon=True)
    proc.start()
    send.close()
    out, why = None, ""
    try:
        if recv.poll(TIMEOUT_S):
            out = recv.recv()
        else:
            why = f"no answer within {TIMEOUT_S:.0f} s (hang)"
    except EOFError:
        pass
    proc.join(5 if out is not None else 0.1)
    if proc.is_alive():
        proc.kill()
        proc.join()
        why = why or "child did not exit"
    if out is None and not why:
        why = f"child died (exit code {proc.exitcode}: killed by a signal, or memory exhausted)"
    return out, why


# --- the checks -------------------------------------------------------------------------------------


def _check(mutation: Mutation, pristine_root: Path, pristine: list[dict[str, np.ndarray]], tmp: Path, seed: int = 0) -> None:
    root = tmp / "ds"
    shutil.copytree(pristine_root, root, symlinks=True)
    before = {p: p.read_bytes() for p in _store_files(root)}
    mutation.apply(root, random.Random(seed))
    name = mutation.name + (f" on {mutation.apply.target}" if hasattr(mutation.apply, "target") else "")
    out, why = _run_child(root, pristine)
    assert out is not None, f"{name}: {why}"
    read, audit = out["read"], out["audit"]
    assert read[0] != "crash", f"{name}: reading raised a non-project exception:\n{read[1]}"
    assert audit[0] != "crash", f"{name}: the audit raised:\n{audit[1]}"
    assert audit[0] == "report", f"{name}: the audit raised {audit}"
    if read[0] == "data":
        assert read[1] is None, f"{name}: read returned data that differs from the pristine data ({read[1]})"
    expect = mutation.audit
    if expect == "random":
        expect = _random_expectation(root, before)
    if expect == FAIL or (expect == MEANING and out["changed"]):
        assert not audit[1], f"{name}: the audit passed a store whose meaning changed"
    if expect == PASS:
        assert read == ("data", None), f"{name}: a benign mutation broke reading: {read}"
        assert audit[1], f"{name}: the audit failed a benign mutation: {audit[2]}"


def _random_expectation(root: Path, before: dict[Path, bytes]) -> str:
    """FAIL when a JSON file (manifest, zarr.json) now means something else, MEANING for chunk files,
    PASS for run records, ANY for ``blocks_done`` (the writer's progress record, not covered by any
    hash) and edits that left every file's meaning as it was."""
    changed = [p for p, b in before.items() if not p.is_file() or p.read_bytes() != b]
    if not changed:
        return ANY
    (path,) = changed
    if path.name == "run.json":
        return PASS
    if "blocks_done" in path.parts:  # the writer's progress record: no reader uses it once a shard is complete
        return ANY
    if path.name in ("zarr.json", MANIFEST_NAME):
        try:
            same = json.loads(path.read_bytes()) == json.loads(before[path])
        except ValueError:
            same = False
        return ANY if same else FAIL
    return MEANING


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, np.ndarray]]]:
    """The indexed dataset and every field of both shards as read from it before any damage."""
    root = indexed_part1(tmp_path_factory, "fuzz", CONFIG)
    shutil.rmtree(root / "card", ignore_errors=True)  # the data card's figures: nothing reads them
    ds = open_dataset(root)
    assert [ref.count for ref in ds.shards] == [3, 3]
    data = [ds.read_run(s, 0, ref.count) for s, ref in enumerate(ds.shards)]
    report = audit_dataset(root, samples=0, rng=np.random.default_rng(0))
    assert report.ok, [str(p) for p in report.problems]
    return root, data


#: Corpus mutations left to the slow variant (close relatives of ones the default run makes).
SLOW_CORPUS = {
    *(name.format(field) for name in ("flip middle byte of {} chunk", "truncate {} chunk to half") for field in ("frame_y_perturbed", "digest", "index")),
    "zero-fill alpha chunk", "append 10 MB to params_json chunk", "alpha chunk replaced by a FIFO",
    "params_json chunk replaced by a directory", "dtype uint8 -> uint16 (fast_digest)", "shape 32 -> 4096 px (frame_a)",
    "chunk shape 2 -> 1 (alpha)", "codec endian little -> big (alpha)", "fill_value 0 -> 7 (frame_y)", "truncate alpha zarr.json",
    *(f"attrs {what} (not resealed)" for what in ("layout count 3 -> 10**9", "layout block 2 -> 0", "part 1 -> 'x'", "array_metadata removed")),
    *(f"attrs {what} (resealed)" for what in ("start 0 -> 3", "identity removed", "checksums replaced by a list")),
    "manifest entry start edited", "manifest entry duplicated", "manifest truncated",
    "frame_a chunk copied from the other shard", "append 10 MB to alpha zarr.json", "codec config blosc clevel 1 -> 9 (alpha)",
    "manifest replaced by a symlink to /dev/zero", "array zarr.json replaced by a symlink to /dev/zero",
}
CORPUS = [m for m in _corpus() if m.name not in SLOW_CORPUS]
CORPUS_SLOW = [m for m in _corpus() if m.name in SLOW_CORPUS]
N_CORPUS, N_CORPUS_SLOW = len(CORPUS), len(CORPUS_SLOW)


@pytest.mark.parametrize("mutation", CORPUS, ids=[m.name for m in CORPUS])
def test_corpus_mutation_reads_verified_or_fails_cleanly(mutation, pristine, tmp_path):
    _check(mutation, *pristine, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("mutation", CORPUS_SLOW, ids=[m.name for m in CORPUS_SLOW])
def test_more_corpus_mutations_read_verified_or_fail_cleanly(mutation, pristine, tmp_path):
    _check(mutation, *pristine, tmp_path)


@pytest.mark.parametrize("i", range(N_RANDOM))
def test_random_mutation_reads_verified_or_fails_cleanly(i, pristine, tmp_path):
    _check(_random_mutation(i, SEED), *pristine, tmp_path, seed=SEED + i)


#: Slow-stream mutations the audit passes although the store's meaning changed (open findings).
KNOWN_GAPS = {
}


@pytest.mark.slow
@pytest.mark.parametrize("i", range(N_RANDOM_SLOW))
def test_many_random_mutations_read_verified_or_fail_cleanly(i, pristine, tmp_path, request):
    if i in KNOWN_GAPS:
        request.applymarker(pytest.mark.xfail(strict=True, reason=KNOWN_GAPS[i]))
    _check(_random_mutation(i, SEED + 1), *pristine, tmp_path, seed=SEED + 1 + i)


def test_the_corpus_has_the_documented_size():
    assert len(SLOW_CORPUS) == N_CORPUS_SLOW  # every name in SLOW_CORPUS is one of the corpus
    assert (N_CORPUS, N_RANDOM, N_CORPUS_SLOW, N_RANDOM_SLOW) == (54, 6, 31, 500)
