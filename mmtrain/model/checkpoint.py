"""One checkpoint format: save and load, atomically.

A checkpoint is a plain dict written with :func:`torch.save`::

    {"format": "motionmag-checkpoint", "version": 1,
     "model_config": {...},        # ModelConfig.to_dict(): the model is rebuilt from it
     "model": state_dict,
     "optimizer": state_dict | None, "scaler": state_dict | None,
     "step": int,                  # optimizer steps taken
     "rng": {...} | None,          # torch / numpy generator states for exact resume
     "manifest_hash": str | None,  # identity of the training dataset
     "train_config": {...} | None, "extra": {...}}

:func:`load_model` also accepts the authors' weights (``weights.npz`` or a TF checkpoint) and builds
the ``official`` preset for them.
"""

from __future__ import annotations

import io
import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch

from mmdata.errors import CheckpointError
from mmdata.fsutil import atomic_path, remove_stale
from mmtrain.model.network import MagNet, ModelConfig
from mmtrain.model.registry import is_official_weights, resolve_model

__all__ = ["FORMAT", "VERSION", "save_checkpoint", "load_checkpoint", "load_model", "model_from_checkpoint",
           "check_finite", "is_official_weights"]

FORMAT = "motionmag-checkpoint"
VERSION = 1


def save_checkpoint(path: str | Path, model: MagNet, *, optimizer: torch.optim.Optimizer | None = None,
                    scaler: Any = None, step: int = 0, rng: dict[str, Any] | None = None,
                    manifest_hash: str | None = None, train_config: dict[str, Any] | None = None,
                    extra: dict[str, Any] | None = None) -> Path:
    """Write a checkpoint atomically (temporary file in the same folder, then rename).

    Args:
        path: destination file (parent folders are created).
        model: the model (a DDP wrapper's ``.module`` should be passed, not the wrapper).
        optimizer, scaler: optional states to resume training.
        step: optimizer steps taken so far.
        rng: random generator states (see :mod:`mmtrain.train.loop`).
        manifest_hash: the training dataset's manifest hash.
        train_config: the resolved training settings.
        extra: anything else JSON-like (metrics, notes).

    Returns:
        The path written.

    Raises:
        OSError: the file cannot be written (a full disk: ENOSPC, naming ``path``); a previous file of
            that name is then left as it was, and no temporary file remains.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": FORMAT, "version": VERSION,
        "model_config": model.config.to_dict(),
        "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "scaler": scaler.state_dict() if scaler is not None else None,
        "step": int(step), "rng": rng, "manifest_hash": manifest_hash,
        "train_config": train_config, "extra": extra or {},
    }
    # serialized in memory first: torch.save's zip writer reports a full disk as a RuntimeError
    # ("unexpected pos"), a plain write as the OSError (ENOSPC) it is
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    remove_stale(path.parent, path.name)  # temporaries of a run killed while saving
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(buffer.getbuffer())
    return path


def load_checkpoint(path: str | Path, *, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read one of our checkpoints.

    Raises:
        CheckpointError: missing, truncated/corrupt, foreign, or from a newer version.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    if not zipfile.is_zipfile(path):  # torch.save writes a zip archive; anything else is not ours
        raise CheckpointError(f"{path}: not a readable checkpoint (not the zip archive torch.save writes; truncated or foreign)")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:  # torch's text advises weights_only=False: never for a foreign file
        raise CheckpointError(f"{path}: not a readable checkpoint (it holds objects other than tensors and plain data; not written by mmtrain)") from exc
    except (RuntimeError, EOFError, ValueError, zipfile.BadZipFile, OSError,
            AttributeError, KeyError, TypeError) as exc:
        raise CheckpointError(f"{path}: not a readable checkpoint ({type(exc).__name__}: "
                              f"{str(exc).splitlines()[0] if str(exc) else ''})") from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a {FORMAT} file (a foreign torch file?)")
    if int(payload.get("version", 0)) > VERSION:
        raise CheckpointError(f"{path}: checkpoint version {payload['version']} is newer than supported ({VERSION})")
    for key in ("model_config", "model", "step"):
        if key not in payload:
            raise CheckpointError(f"{path}: checkpoint lacks the {key!r} entry")
    return payload


def model_from_checkpoint(payload: dict[str, Any], *, source: str | Path = "checkpoint") -> MagNet:
    """Rebuild the model saved in a loaded checkpoint dict.

    Raises:
        CheckpointError: an invalid config, weights that do not fit it, or NaN/inf weights (a diverged
            or corrupt run: the first such tensor and its count are named).
    """
    try:
        model = MagNet(ModelConfig.from_dict(payload["model_config"]))
        model.load_state_dict(payload["model"])
    except (ValueError, TypeError, RuntimeError) as exc:
        raise CheckpointError(f"{source}: weights do not fit the saved model config ({exc})") from exc
    check_finite(model.state_dict(), source=source)
    return model


def check_finite(state: dict[str, torch.Tensor], *, source: str | Path = "checkpoint") -> None:
    """Refuse a state dict with NaN or inf in any floating-point tensor.

    Raises:
        CheckpointError: naming ``source``, the first non-finite tensor and how many values are bad.
    """
    for name, value in state.items():
        if torch.is_tensor(value) and value.is_floating_point():
            bad = int(value.numel() - torch.isfinite(value).sum())
            if bad:
                raise CheckpointError(f"{source}: weight {name} holds {bad} non-finite values (NaN or inf) of "
                                      f"{value.numel()}; the checkpoint is corrupt or its training diverged")


def load_model(path: str | Path | None = None, *, device: str | torch.device = "cpu", preset: str | None = None) -> MagNet:
    """A model in eval mode from our checkpoint, the authors' ``weights.npz``, a TF checkpoint, or a release.

    Args:
        path: a model spec (:func:`mmtrain.model.registry.resolve_model`): the file (or TF prefix /
            folder), the name of a released or registered model (a file of that name wins), or
            ``None`` for the default model.
        device: where to put the model.
        preset: if given, the preset the weights must belong to (the authors' weights are ``official``).

    Raises:
        CheckpointError: unreadable, foreign or corrupt, or not of the requested preset.
    """
    from mmtrain.model.official import load_official_weights

    kind, path = resolve_model(path)
    if kind == "official":
        if preset not in (None, "official"):
            raise CheckpointError(f"{path}: the authors' weights are the 'official' preset, not {preset!r}")
        model = load_official_weights(MagNet(ModelConfig.from_preset("official")), path)
    else:
        model = model_from_checkpoint(load_checkpoint(path), source=path)
        if preset is not None and model.config.preset != preset:
            raise CheckpointError(f"{path}: checkpoint holds a {model.config.preset!r} model, not {preset!r}")
    return model.to(device).eval()
