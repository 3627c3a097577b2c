"""What ``--model SPEC`` means: one resolution of a model spec for every command and the Python API.

A model spec is one of, tried in this order:

1. a path to an existing file or folder: our checkpoint (``.pt``), the authors' weights (``.npz``), a
   TensorFlow checkpoint prefix (``<prefix>.index`` beside it) or the folder holding its ``checkpoint`` file;
2. the name of a model released with the package (``mmtrain models list``, :mod:`mmtrain.model.released`);
3. the name of a model registered in the user's data folder by ``mmtrain models fetch`` (e.g. ``official``).

No spec at all means :data:`DEFAULT_MODEL`. The user's data folder is ``$MOTIONMAG_HOME/models`` when
that variable is set, else ``$XDG_DATA_HOME/motionmag/models`` (``~/.local/share/motionmag/models``).

Example:
    >>> resolve_model("motionmag-cpu-ref").kind  # doctest: +SKIP
    'checkpoint'
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Literal, NamedTuple

from mmdata.errors import CheckpointError

__all__ = ["DEFAULT_MODEL", "ModelKind", "ResolvedModel", "models_home", "registered_models", "resolve_model",
           "default_model_spec", "is_official_weights", "resolve_weights"]

log = logging.getLogger(__name__)

#: The model used when none is named: the network this pipeline trained and ships.
DEFAULT_MODEL = "motionmag-cpu-ref"

#: ``checkpoint``: our format (loaded with :func:`mmtrain.model.checkpoint.load_checkpoint`);
#: ``official``: the authors' weights (``.npz`` by TF variable name, or a TF checkpoint).
ModelKind = Literal["checkpoint", "official"]


class ResolvedModel(NamedTuple):
    """A model spec resolved to a file: ``kind, path = resolve_model(spec)``."""

    kind: ModelKind
    path: Path


def models_home() -> Path:
    """The folder of models registered by ``mmtrain models fetch`` (it need not exist yet)."""
    home = os.environ.get("MOTIONMAG_HOME")
    if home:
        return Path(home).expanduser() / "models"
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data).expanduser() / "motionmag" / "models"


def registered_models() -> dict[str, Path]:
    """Models registered in :func:`models_home`, name -> weights file (``NAME.npz``)."""
    folder = models_home()
    if not folder.is_dir():
        return {}
    return {p.stem: p for p in sorted(folder.glob("*.npz")) if p.is_file() and not p.name.startswith(".")}


def is_official_weights(path: str | Path) -> bool:
    """True for a ``.npz`` archive, a TF checkpoint prefix/index/data file, or a folder (TF ``checkpoint`` file)."""
    path = Path(path)
    return (path.suffix in (".npz", ".index") or ".data-" in path.name or path.is_dir()
            or path.with_name(path.name + ".index").is_file())


def resolve_weights(path_or_name: str | Path) -> Path:
    """The weights file a model spec names (:func:`resolve_model`'s path).

    Raises:
        CheckpointError: neither an existing path nor a released or registered name; a release's file
            missing or damaged.
    """
    return resolve_model(path_or_name).path


def _kind_of(path: Path) -> ModelKind:
    return "official" if is_official_weights(path) else "checkpoint"


def default_model_spec(spec: str | os.PathLike[str] | None) -> str:
    """``spec`` as a string, or :data:`DEFAULT_MODEL` (logged as ``model: NAME (default)``) when it is ``None``."""
    if spec is None:
        log.info("model: %s (default)", DEFAULT_MODEL)
        return DEFAULT_MODEL
    return str(spec)


def resolve_model(spec: str | os.PathLike[str] | None = None) -> ResolvedModel:
    """The kind and file of the model ``spec`` names (see the module's docstring for the order).

    Args:
        spec: a path, a released name, a registered name, or ``None`` for :data:`DEFAULT_MODEL`.

    Returns:
        ``(kind, path)``: ``kind`` is ``"checkpoint"`` (ours) or ``"official"`` (the authors' weights).

    Raises:
        CheckpointError: nothing of that name (the released and registered names are listed); a
            released file missing or damaged (its SHA-256 differs from the recorded one).
    """
    from mmtrain.model.released import RELEASES, verified_release_file

    text = default_model_spec(spec)
    path = Path(text).expanduser()
    if path.exists() or path.with_name(path.name + ".index").exists():  # a TF prefix has no file of its own
        return ResolvedModel(_kind_of(path), path)
    if text in RELEASES:
        return ResolvedModel("checkpoint", verified_release_file(text))
    registered = registered_models()
    if text in registered:
        return ResolvedModel("official", registered[text])
    if path.parent != Path(".") or path.suffix:  # clearly meant as a path: the loader names the missing file
        return ResolvedModel(_kind_of(path), path)
    known = ", ".join(sorted(RELEASES)) or "none"
    fetched = ", ".join(sorted(registered)) or "none; `mmtrain models fetch official` adds the authors' weights"
    raise CheckpointError(f"{text}: no such file, and not the name of a released model (released: {known}) "
                          f"nor of a registered one (in {models_home()}: {fetched})")
