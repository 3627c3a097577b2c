"""What an audit found: :class:`AuditProblem`, :class:`AuditReport`, and the merge of per-shard reports.

The workflow audits a dataset as one job per shard (``mmdata audit --part P --shard K --json FILE``)
and one job that merges their reports with the checks of the dataset as a whole (``mmdata audit
--merge FILE...``: the manifest, shards missing or not indexed, a report for every indexed shard).
A shard's report records the manifest entry it audited (checksum and attribute hash), so a report
left over from an earlier version of a shard is refused by the merge instead of being trusted.
Reports hold no time or host: auditing unchanged data writes the same files.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mmdata.errors import ConfigError, StoreError
from mmdata.scene import part_name

__all__ = ["AuditProblem", "AuditReport", "REPORT_FORMAT", "read_shard_report"]

#: Format of a shard's JSON audit report.
REPORT_FORMAT = "mmdata-audit-shard/1"


@dataclass(frozen=True)
class AuditProblem:
    """One finding: where (part, shard, index within the part, path) and what."""

    part: int | None
    shard: int | None
    index: int | None
    path: str
    what: str
    part_name: str | None = None  # as the shard records it (custom parts' names live in their config)

    def __str__(self) -> str:
        where = []
        if self.part is not None:
            where.append(f"part {self.part} ({self.part_name or _builtin_name(self.part)})")
        if self.shard is not None:
            where.append(f"shard {self.shard:04d}")
        if self.index is not None:
            where.append(f"index {self.index}")
        return f"{' '.join(where) or 'dataset'} [{self.path}]: {self.what}"


def _builtin_name(part: int) -> str:
    """A built-in part's name; "custom part" for another number (its name is only in its shards)."""
    try:
        return part_name(part)
    except ConfigError:
        return "custom part"


@dataclass
class AuditReport:
    """What an audit checked and found."""

    shards: int = 0
    samples_checked: int = 0
    samples_rendered: int = 0
    problems: list[AuditProblem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # context that is not a failure by itself
    mode: str = "full"  # "full": sha256 and fast digests of every frame; "fast": the fast digests only

    @property
    def ok(self) -> bool:
        return not self.problems

    def text(self) -> str:
        head = (
            f"audit {'PASSED' if self.ok else 'FAILED'}: {self.shards} shards, {self.samples_checked} samples checked"
            f"{' (fast digests)' if self.mode == 'fast' else ''}, {self.samples_rendered} re-rendered, {len(self.problems)} problem(s)"
        )
        return "\n".join([head, *(f"  {p}" for p in self.problems), *(f"  note: {n}" for n in self.notes)])

    def add_note(self, note: str) -> None:
        """Add a note unless one saying the same (up to its example, "e.g. ...") is there."""
        key = _note_key(note)
        if all(_note_key(n) != key for n in self.notes):
            self.notes.append(note)

    def merge(self, other: "AuditReport") -> None:
        """Add ``other``'s counts, problems and (new) notes to this report."""
        self.shards += other.shards
        self.samples_checked += other.samples_checked
        self.samples_rendered += other.samples_rendered
        self.problems.extend(other.problems)
        for note in other.notes:
            self.add_note(note)
        if other.mode == "fast":
            self.mode = "fast"

    def to_json(self, entry: dict[str, Any] | None = None) -> str:
        """The report as JSON (sorted keys), with the manifest ``entry`` of the shard it audited."""
        doc = {"format": REPORT_FORMAT, "entry": entry, "shards": self.shards, "samples_checked": self.samples_checked,
               "samples_rendered": self.samples_rendered, "mode": self.mode,
               "problems": [asdict(p) for p in self.problems], "notes": self.notes}
        return json.dumps(doc, indent=1, sort_keys=True) + "\n"


def _note_key(note: str) -> str:
    return note.split(" (e.g. ")[0].split(", e.g. ")[0]


def read_shard_report(path: str | Path) -> tuple[AuditReport, dict[str, Any] | None]:
    """A shard report written by ``mmdata audit --json``: the report and the manifest entry it audited.

    Raises:
        StoreError: the file is missing, not a regular file of reasonable size, or not such a report.
    """
    from mmdata.store.integrity import read_limited

    path = Path(path)
    try:
        doc = json.loads(read_limited(path, 64 << 20, "an audit report"))
        if doc.get("format") != REPORT_FORMAT:
            raise ValueError(f"format {doc.get('format')!r}, expected {REPORT_FORMAT!r}")
        report = AuditReport(int(doc["shards"]), int(doc["samples_checked"]), int(doc["samples_rendered"]),
                             [AuditProblem(**p) for p in doc["problems"]], [str(n) for n in doc["notes"]], str(doc.get("mode", "full")))
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise StoreError(f"{path}: not an audit report of `mmdata audit --json` ({exc})") from exc
    entry = doc.get("entry")
    return report, entry if isinstance(entry, dict) else None
