"""The atomic-write helpers: complete or absent, usual permissions, nothing left behind."""

from __future__ import annotations

import errno
import os

import pytest

from mmdata.errors import ConfigError
from mmdata.fsutil import (atomic_path, atomic_write_bytes, atomic_write_text, check_suffix, commit, discard,
                           remove_stale, replace_dir, tmp_name)


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


def test_commit_fsyncs_the_temporary_and_renames_it_with_the_usual_permissions(tmp_path, monkeypatch):
    """The two halves atomic_path is built on, for writers that stay open (a video encoder)."""
    path = tmp_path / "clip.mp4"
    tmp = tmp_name(path)
    assert tmp.parent == tmp_path and tmp.name.startswith(".clip.mp4.tmp-") and tmp.suffix == ".mp4"
    tmp.write_bytes(b"frames")
    os.chmod(tmp, 0o600)
    inode = tmp.stat().st_ino
    synced = []
    fsync = os.fsync

    def recording(fd: int) -> None:
        synced.append(os.fstat(fd).st_ino)
        fsync(fd)

    monkeypatch.setattr(os, "fsync", recording)
    assert commit(tmp, path) == path
    assert synced[0] == inode  # the file's data reached the disk before the rename
    assert path.read_bytes() == b"frames" and path.stat().st_mode & 0o777 == 0o666 & ~_umask()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4"]


def test_a_failed_commit_removes_the_temporary_and_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "clip.mp4"
    path.write_bytes(b"old")
    tmp = tmp_name(path)
    tmp.write_bytes(b"new")

    def refused(src, dst):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(os, "replace", refused)
    with pytest.raises(OSError, match="Read-only") as err:
        commit(tmp, path)
    assert err.value.filename == str(path)  # named after the output, not its hidden temporary
    assert path.read_bytes() == b"old" and sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4"]
    discard(tmp)  # discarding what is already gone is harmless


def test_a_write_error_naming_no_file_is_raised_naming_the_target(tmp_path):
    with pytest.raises(OSError) as err:
        with atomic_path(tmp_path / "big.bin"):
            raise OSError(errno.ENOSPC, "No space left on device")  # as a failed write() reports it
    assert err.value.errno == errno.ENOSPC and err.value.filename == str(tmp_path / "big.bin")
    assert list(tmp_path.iterdir()) == []


def test_check_suffix_names_the_path_and_the_supported_extensions(tmp_path):
    assert check_suffix(tmp_path / "a.PNG", (".png",), what="image") == tmp_path / "a.PNG"
    with pytest.raises(ConfigError) as err:
        check_suffix(tmp_path / "a.txt", (".png", ".jpg"), what="slice image")
    assert str(err.value) == f"{tmp_path / 'a.txt'}: unsupported slice image file name (extension '.txt'); supported: .png, .jpg"
    with pytest.raises(ConfigError, match="no extension"):
        check_suffix(tmp_path / "a", (".png",), what="image")


def test_a_real_full_disk_raises_enospc_and_keeps_the_old_file(small_tmpfs):
    path = small_tmpfs / "notes.txt"
    atomic_write_text(path, "the old notes\n")
    with pytest.raises(OSError) as err:
        atomic_write_text(path, "x" * (3 * 2**20))  # 3 MB on a 2 MB disk
    assert err.value.errno == errno.ENOSPC and err.value.filename == str(path)
    assert path.read_text() == "the old notes\n"
    assert sorted(p.name for p in small_tmpfs.iterdir()) == ["notes.txt"]  # no .notes.txt.tmp-* left


def test_a_read_only_folder_raises_erofs_naming_the_file_and_keeps_the_old_one(readonly_disk):
    path = readonly_disk.path / "notes.txt"
    atomic_write_text(path, "the old notes\n")
    readonly_disk.seal()
    with pytest.raises(OSError) as err:
        atomic_write_text(path, "new notes\n")
    assert err.value.errno == errno.EROFS and err.value.filename == str(path)  # not the temporary's name
    assert path.read_text() == "the old notes\n" and sorted(p.name for p in readonly_disk.path.iterdir()) == ["notes.txt"]


def test_os_errors_named_names_the_path_and_passes_toolkit_errors(tmp_path):
    import errno

    from mmdata.errors import SourceNotFound, StoreError
    from mmdata.fsutil import os_errors_named

    with pytest.raises(StoreError, match=r"^out\.zarr: cannot write \(\[Errno 28\] No space left on device\)$") as info:
        with os_errors_named("out.zarr", StoreError, "cannot write"):
            raise OSError(errno.ENOSPC, "No space left on device")
    assert isinstance(info.value.__cause__, OSError)
    with pytest.raises(StoreError, match=r"^out\.zarr: cannot write \(out\.zarr/c/0: \[Errno 13\] Permission denied\)$"):
        with os_errors_named("out.zarr", StoreError, "cannot write"):
            raise PermissionError(errno.EACCES, "Permission denied", "out.zarr/c/0")
    with pytest.raises(SourceNotFound):  # already the toolkit's, and already named
        with os_errors_named("out.zarr", StoreError, "cannot write"):
            raise SourceNotFound("x.json: not found")
