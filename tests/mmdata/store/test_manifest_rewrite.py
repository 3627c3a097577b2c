"""Re-indexing an unchanged dataset gives a byte-identical manifest (so Snakemake does not retrain)."""

from __future__ import annotations

from mmdata.store import write_manifest
from mmdata.store.reader import MANIFEST_NAME


def test_same_content_keeps_the_creation_time_and_the_bytes(tmp_path):
    write_manifest(tmp_path, {"created": "2026-01-01T00:00:00Z", "manifest_hash": "abc", "shards": []})
    first = (tmp_path / MANIFEST_NAME).read_bytes()
    write_manifest(tmp_path, {"created": "2026-01-02T00:00:00Z", "manifest_hash": "abc", "shards": []})
    assert (tmp_path / MANIFEST_NAME).read_bytes() == first


def test_changed_content_is_written_with_its_own_time(tmp_path):
    write_manifest(tmp_path, {"created": "2026-01-01T00:00:00Z", "manifest_hash": "abc", "shards": []})
    write_manifest(tmp_path, {"created": "2026-01-02T00:00:00Z", "manifest_hash": "def", "shards": []})
    assert '"created": "2026-01-02T00:00:00Z"' in (tmp_path / MANIFEST_NAME).read_text()


def test_an_unreadable_previous_manifest_is_replaced(tmp_path):
    (tmp_path / MANIFEST_NAME).write_text("{not json")
    write_manifest(tmp_path, {"created": "2026-01-02T00:00:00Z", "manifest_hash": "abc", "shards": []})
    assert '"manifest_hash": "abc"' in (tmp_path / MANIFEST_NAME).read_text()
