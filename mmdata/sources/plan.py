"""What one source (COCO, VOC, built-in) contributes to a catalogue build: a :class:`SourcePlan`.

Each source module turns its configuration into a plan of picklable per-image tasks; the builder
(:mod:`mmdata.sources.build`) runs the plans and writes the catalogue.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from mmdata.sources.images import BackgroundRecord, CutoutRecord, SkipRecord

__all__ = ["Record", "SourcePlan"]

Record = BackgroundRecord | CutoutRecord | SkipRecord


@dataclass
class SourcePlan:
    """What one source contributes to a build.

    Attributes:
        name: short label (progress bar, logs).
        tasks: picklable per-image work items, in their stable order.
        worker: top-level function turning one task into records (must not raise for bad input).
        roots: root name -> folder (absolute path or ``package:...``) that background files are relative to.
        classes: class names of this source, for catalogue.json.
        skipped: what planning already left out (duplicate ids, unknown image ids, ...).
        origin: what the tasks read (named in errors).
        expects_backgrounds: a build where none of the tasks yields a background is an error (e.g.
            a COCO image folder that does not hold the JSON's files).
    """

    name: str
    tasks: list[Any]
    worker: Callable[[Any], list[Record]]
    roots: dict[str, str] = field(default_factory=dict)
    classes: Any = None
    skipped: list[SkipRecord] = field(default_factory=list)
    origin: str = ""
    expects_backgrounds: bool = False


