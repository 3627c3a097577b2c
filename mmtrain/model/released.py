"""Released models: weights trained by this pipeline, shipped in the package and loaded by name.

Every place that takes a model (``mmtrain magnify --model``, ``mmtrain evaluate run --model NAME=SPEC``,
``mmtrain evaluate video-accuracy --model``, ``train.init_weights``, :func:`mmtrain.model.load_model`)
also takes the name of a released model (:func:`mmtrain.model.registry.resolve_model`)::

    mmtrain magnify video.mp4 -o out.mp4 --model motionmag-cpu-ref

A name is looked up only when no file or folder of that name exists, so a local path always wins.
The release records each file's SHA-256; a damaged or replaced file is refused when it is read. Each
model has a card next to its weights (``<name>.md``: data, code commit, configuration, steps, wall
time, curves and its evaluation), printed by ``mmtrain models show NAME``.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from mmdata.errors import CheckpointError
from mmdata.identity import file_sha256

__all__ = ["Release", "RELEASES", "release", "verified_release_file", "card_path"]


@dataclass(frozen=True)
class Release:
    """One released model: its file in ``mmtrain/model/released/`` and that file's digest."""

    name: str
    file: str
    sha256: str
    summary: str


#: The released models by name.
RELEASES: dict[str, Release] = {
    r.name: r for r in (
        Release(
            name="motionmag-cpu-ref",
            file="motionmag-cpu-ref.pt",
            sha256="a7bf6d8ec31cdaa2829ffc86ac85d5982d6ee4d4edfc0d8c1675a4801cc6c64d",
            summary="the paper's network (preset paper) trained from scratch by this pipeline: 20,000 steps, "
                    "1.2 h on 2 CPU cores (config/reference-cpu.yaml; see its card)",
        ),
    )
}


def _folder() -> Path:
    return Path(str(resources.files("mmtrain.model") / "released"))


def release(name: str) -> Release:
    """The release called ``name``.

    Raises:
        CheckpointError: no release of that name (the known names are listed).
    """
    if name not in RELEASES:
        known = ", ".join(sorted(RELEASES)) or "none"
        raise CheckpointError(f"{name}: no such file, and not the name of a released model (released: {known})")
    return RELEASES[name]


def card_path(name: str) -> Path:
    """The model card (Markdown) of a release."""
    return _folder() / (Path(release(name).file).stem + ".md")


def verified_release_file(name: str) -> Path:
    """The weights file of the release ``name``, checked against its recorded SHA-256.

    Raises:
        CheckpointError: no such release; its file missing or damaged.
    """
    rel = release(name)
    file = _folder() / rel.file
    if not file.is_file():
        raise CheckpointError(f"{rel.name}: released model's weights {file} are missing from the installed package")
    if file_sha256(file) != rel.sha256:
        raise CheckpointError(f"{rel.name}: {file} does not match the released weights' SHA-256 "
                              f"(damaged or replaced; reinstall the package)")
    return file
