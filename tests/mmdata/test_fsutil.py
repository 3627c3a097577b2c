"""The atomic-write helpers: complete or absent, usual permissions, nothing left behind."""

from __future__ import annotations

import os

import pytest

from mmdata.fsutil import atomic_path, atomic_write_bytes, atomic_write_text, remove_stale, replace_dir


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_atomic_write_text_writes_with_the_usual_permissions(tmp_path):
    path = atomic_write_text(tmp_path / "a.json", "{}\n")
    assert path.read_text() == "{}\n"
    assert path.stat().st_mode & 0o777 == 0o666 & ~_umask()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json"]


def test_a_failing_writer_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "a.bin"
    atomic_write_bytes(path, b"old")
    with pytest.raises(RuntimeError):
        with atomic_path(path) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("disk full")
    assert path.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.bin"]


def test_a_full_disk_during_fsync_leaves_no_temporary(tmp_path, monkeypatch):
    def no_space(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", no_space)
    with pytest.raises(OSError, match="No space"):
        atomic_write_text(tmp_path / "b.txt", "x")
    assert list(tmp_path.iterdir()) == []


def test_atomic_path_keeps_the_suffix_so_libraries_pick_the_format(tmp_path):
    with atomic_path(tmp_path / "x.png") as tmp:
        assert tmp.suffix == ".png" and tmp.parent == tmp_path and tmp.name.startswith(".x.png.tmp-")
        tmp.write_bytes(b"png")
    assert (tmp_path / "x.png").read_bytes() == b"png"


def test_replace_dir_never_leaves_the_final_path_missing(tmp_path, monkeypatch):
    final, new = tmp_path / "card", tmp_path / ".card.tmp-1"
    final.mkdir()
    (final / "old.txt").write_text("old")
    new.mkdir()
    (new / "new.txt").write_text("new")
    seen = []
    rename = os.rename

    def watching(src, dst):
        rename(src, dst)
        seen.append(final.is_dir())  # after each rename the final path holds a folder, or the old one is aside

    monkeypatch.setattr(os, "rename", watching)
    replace_dir(new, final)
    assert (final / "new.txt").read_text() == "new" and not (final / "old.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["card"]
    assert seen == [False, True]  # the only gap is between two renames, with the old folder kept aside


def test_replace_dir_moves_the_old_folder_back_when_the_new_one_cannot_go_in(tmp_path, monkeypatch):
    final = tmp_path / "out"
    final.mkdir()
    (final / "keep").write_text("1")
    rename = os.rename
    calls = []

    def second_fails(src, dst):
        calls.append(dst)
        if len(calls) == 2:
            raise OSError(30, "Read-only file system")
        rename(src, dst)

    monkeypatch.setattr(os, "rename", second_fails)
    with pytest.raises(OSError):
        replace_dir(tmp_path / "missing", final)
    assert (final / "keep").read_text() == "1"


def test_remove_stale_clears_only_temporaries_of_that_name(tmp_path):
    (tmp_path / ".ck.pt.tmp-abc").write_bytes(b"x")
    (tmp_path / ".ck.pt.old-abc").mkdir()
    (tmp_path / ".other.tmp-abc").write_bytes(b"x")
    (tmp_path / "ck.pt").write_bytes(b"x")
    removed = remove_stale(tmp_path, "ck.pt")
    assert sorted(p.name for p in removed) == [".ck.pt.old-abc", ".ck.pt.tmp-abc"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".other.tmp-abc", "ck.pt"]
