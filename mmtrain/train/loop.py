"""Training: Adam on the magnification loss, atomic checkpoints, exact resume, JSONL metrics, DDP.

``train(TrainConfig.from_config(cfg["train"]), dataset_root, out_dir)`` trains (or resumes) a model in
``out_dir``: ``checkpoint.pt`` (latest, written atomically every ``checkpoint_interval`` steps, at the end
and on Ctrl-C) and ``metrics.jsonl`` (one JSON object per logged step: ``split`` "train" or "val", ``time`` the wall clock).

``channels_last`` memory format is used on CPU and CUDA (exact: same loss within float tolerance). On
CUDA, float16 autocast + GradScaler when ``amp``; ``precision: bf16`` autocasts to bfloat16 on CPU or CUDA
(no scaler needed). CPU threads default to the CPUs this process may use (``threads``).
Several GPUs: ``torchrun --nproc_per_node=N -m mmtrain.cli train ...``; each process reads its own
share of the runs, gradients are averaged by DistributedDataParallel, rank 0 writes files.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import torch
from tqdm import tqdm

from mmdata.config import section_defaults
from mmdata.errors import CheckpointError, ConfigError
from mmdata.fsutil import atomic_write_text
from mmtrain.model.checkpoint import load_checkpoint, load_model, model_from_checkpoint, save_checkpoint
from mmtrain.train.data import (StreamConfig, TrainingStream, check_fields, check_frame_size, make_loader,
                                validation_batches)
from mmtrain.train.losses import LossConfig, MagnificationLoss, do_nothing_loss
from mmtrain.model.network import MagNet, ModelConfig
from mmtrain.model.runtime import autocast, configure_threads, retain_freed_memory, to_channels_last

__all__ = ["TrainConfig", "train", "evaluate_loss", "CHECKPOINT_NAME", "METRICS_NAME"]

log = logging.getLogger(__name__)

CHECKPOINT_NAME = "checkpoint.pt"
METRICS_NAME = "metrics.jsonl"
#: The schema's defaults of the ``train`` section: the only source of the defaults below.
_DEFAULTS: dict[str, Any] = section_defaults("train")
#: preset -> the values of the keys left null (schema key ``train.preset_defaults``).
PRESET_DEFAULTS: dict[str, dict[str, Any]] = _DEFAULTS["preset_defaults"]


@dataclass(frozen=True)
class TrainConfig:
    """Resolved training settings (the ``train`` section of the config); defaults are the schema's."""

    preset: str = _DEFAULTS["preset"]  # model and loss preset: "paper" or "official"
    steps: int = _DEFAULTS["steps"]  # optimizer steps in total (the official checkpoint: 259,002)
    batch_size: int = PRESET_DEFAULTS["paper"]["batch_size"]  # samples per step (per process under DDP)
    lr: float = PRESET_DEFAULTS["paper"]["lr"]  # Adam learning rate
    betas: tuple[float, float] = tuple(_DEFAULTS["betas"])  # Adam betas
    weight_decay: float = _DEFAULTS["weight_decay"]  # Adam weight decay (the paper: none)
    lr_decay: float = PRESET_DEFAULTS["paper"]["lr_decay"]  # lr multiplied by this every lr_decay_steps (staircase)
    lr_decay_steps: int = _DEFAULTS["lr_decay_steps"]  # steps per lr decay
    reg_weight: float = PRESET_DEFAULTS["paper"]["reg_weight"]  # λ on the regularizers
    crop_size: int | None = _DEFAULTS["crop_size"]  # random square training crop (multiple of 4); None = whole frames
    run_length: int = _DEFAULTS["run_length"]  # contiguous samples read from a shard at once
    shuffle_buffer: int = _DEFAULTS["shuffle_buffer"]  # in-memory shuffle buffer, samples
    poisson_noise: float = _DEFAULTS["poisson_noise"]  # on-the-fly Poisson noise: max std at mid-gray (0-255); 0 = off
    workers: int = _DEFAULTS["workers"]  # DataLoader worker processes
    seed: int = _DEFAULTS["seed"]  # model initialization and data order
    parts: tuple[int, ...] | None = None  # dataset parts to train on (None = all)
    val_samples: int = _DEFAULTS["val_samples"]  # samples held out for validation (the last ones of every part)
    val_interval: int = _DEFAULTS["val_interval"]  # steps between validations (0 = only at the end)
    log_interval: int = _DEFAULTS["log_interval"]  # steps between train metric lines
    checkpoint_interval: int = _DEFAULTS["checkpoint_interval"]  # steps between checkpoints
    amp: bool = _DEFAULTS["amp"]  # float16 autocast + gradient scaler (CUDA only; with precision "fp32")
    precision: str = _DEFAULTS["precision"]  # autocast: "fp32" (off; fp16 on CUDA when amp) or "bf16" (CPU, CUDA)
    channels_last: bool = _DEFAULTS["channels_last"]  # channels_last memory format (CPU and CUDA)
    threads: int | None = _DEFAULTS.get("threads")  # CPU intra-op threads (None: the CPUs this process may use)
    device: str = _DEFAULTS["device"]  # "auto" (CUDA if available), "cpu", "cuda", "cuda:1", ...
    init_weights: str | None = None  # start from these weights (our checkpoint or the authors'), not random
    model: dict[str, Any] = field(default_factory=dict)  # ModelConfig fields replacing the preset's

    @classmethod
    def from_config(cls, section: Mapping[str, Any] | None = None, **overrides: Any) -> "TrainConfig":
        """Build from the resolved config's ``train`` section; null values take the preset's defaults.

        Keys absent from ``section`` take the schema's defaults, so a partial section works too;
        values are not validated again (the config was validated where it was loaded).

        Raises:
            ConfigError: an unknown preset or key, or invalid model overrides (the key is named).
        """
        values = {**dict(section or {}), **{k: v for k, v in overrides.items() if v is not None}}
        presets = values.pop("preset_defaults", None) or PRESET_DEFAULTS
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"train.{unknown[0]}: unknown training setting")
        preset = values.get("preset", _DEFAULTS["preset"])
        if preset not in presets:
            raise ConfigError(f"train.preset: expected one of {', '.join(sorted(presets))}, got {preset!r}")
        for key, default in presets[preset].items():
            if values.get(key) is None:
                values[key] = default
        values = {k: v for k, v in values.items() if v is not None or k in ("crop_size", "parts", "init_weights")}
        for key in ("betas", "parts"):
            if values.get(key) is not None:
                values[key] = tuple(values[key])
        config = cls(**values)
        try:
            config.model_config()
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"train.model: {exc}") from exc
        return config

    def model_config(self) -> ModelConfig:
        """The architecture: the preset with ``model`` overrides."""
        return ModelConfig.from_preset(self.preset, **self.model)

    def stream_config(self, batch_size: int) -> StreamConfig:
        """The data pipeline settings."""
        return StreamConfig(batch_size=batch_size, crop_size=self.crop_size, run_length=self.run_length,
                            buffer_size=self.shuffle_buffer, poisson_noise=self.poisson_noise, seed=self.seed,
                            val_samples=self.val_samples)

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible form (saved in checkpoints)."""
        d = dataclasses.asdict(self)
        d["betas"] = list(self.betas)
        d["parts"] = list(self.parts) if self.parts is not None else None
        return d


@dataclass
class _Dist:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0


def _setup_distributed(device_name: str) -> tuple[_Dist, torch.device]:
    """Join the torchrun process group when WORLD_SIZE > 1 and pick the device."""
    dist = _Dist()
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        import torch.distributed as tdist

        dist = _Dist(int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]), int(os.environ.get("LOCAL_RANK", "0")))
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        if not tdist.is_initialized():
            tdist.init_process_group(backend=backend)
    if device_name == "auto":
        device_name = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(device_name)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(f"train.device: {device_name!r} requested but CUDA is not available")
        if dist.world_size > 1:
            device = torch.device("cuda", dist.local_rank)
        torch.cuda.set_device(device)
    return dist, device


@torch.no_grad()
def evaluate_loss(model: MagNet, dataset: Any, runs: list[tuple[int, int, int]], loss: LossConfig, *,
                  batch_size: int, crop_size: int | None, device: torch.device) -> dict[str, float]:
    """Mean loss terms over held-out runs, plus ``baseline``: the reconstruction loss of output = X'_b."""
    was_training = model.training
    model.eval()
    crit = MagnificationLoss(model, loss)
    sums: dict[str, float] = {}
    n = 0
    for batch in validation_batches(dataset, runs, batch_size=batch_size, crop_size=crop_size):
        batch = {k: v.to(device) for k, v in batch.items()}
        _, parts = crit(batch)
        parts["baseline"] = do_nothing_loss(batch)
        b = batch["alpha"].shape[0]
        for k, v in parts.items():
            sums[k] = sums.get(k, 0.0) + float(v) * b
        n += b
    model.train(was_training)
    return {k: v / max(n, 1) for k, v in sums.items()}


def _trim_metrics(path: Path, step: int) -> None:
    """Drop metric lines written after ``step`` (they are about to be recomputed on resume)."""
    if not path.is_file():
        return
    keep = []
    for n, line in enumerate(path.read_text(errors="replace").splitlines(), start=1):
        try:
            row = json.loads(line) if line.strip() else None
        except ValueError:  # a torn line (killed mid-write, full disk): drop it, keep resuming
            log.warning("%s:%d: dropping an unreadable metrics line", path, n)
            continue
        if isinstance(row, dict) and row.get("step", 0) <= step:
            keep.append(line)
    text = "".join(line + "\n" for line in keep)
    if text != path.read_text(errors="replace"):  # an unchanged file keeps its bytes and its mtime
        atomic_write_text(path, text)


def _last_metrics(path: Path, split: str) -> dict[str, float]:
    """The loss terms of the last ``split`` line of a metrics file ({} when it has none)."""
    last: dict[str, float] = {}
    if path.is_file():
        for line in path.read_text(errors="replace").splitlines():
            try:
                row = json.loads(line)
            except ValueError:
                continue
            if isinstance(row, dict) and row.get("split") == split:
                last = {k: v for k, v in row.items() if k not in ("split", "step", "time", "lr", "samples_per_s")}
    return last


def _initial_state(config: TrainConfig, ckpt_path: Path, resume: bool, manifest_hash: str | None,
                   ) -> tuple[MagNet, dict[str, Any] | None]:
    """The model (rebuilt from the checkpoint when resuming, else freshly seeded) and the checkpoint."""
    if resume and ckpt_path.is_file():
        state = load_checkpoint(ckpt_path)
        if state.get("manifest_hash") not in (None, manifest_hash):
            raise CheckpointError(f"{ckpt_path}: was trained on dataset {state['manifest_hash'][:12]}..., not on "
                                  f"{str(manifest_hash)[:12]}...; use another output folder or --no-resume")
        model = model_from_checkpoint(state, source=ckpt_path)
        if model.config != config.model_config():
            raise CheckpointError(f"{ckpt_path}: holds a {model.config.preset!r} model whose architecture differs "
                                  "from the configured one; use another output folder")
        log.info("resuming from %s at step %d", ckpt_path, state["step"])
        return model, state
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        model = MagNet(config.model_config())
    if config.init_weights:
        source = load_model(config.init_weights)
        if source.config != model.config:
            raise ConfigError(f"train.init_weights: {config.init_weights} holds a different architecture")
        model.load_state_dict(source.state_dict())
    return model, None


class _Run:
    """One training process's state: model, loss, optimizer, data stream and output files."""

    def __init__(self, config: TrainConfig, ds: Any, out_dir: Path, resume: bool) -> None:
        self.config, self.ds = config, ds
        self.dist, self.device = _setup_distributed(config.device)
        self.cuda = self.device.type == "cuda"
        self.main = self.dist.rank == 0
        self.ckpt_path, self.metrics_path = out_dir / CHECKPOINT_NAME, out_dir / METRICS_NAME
        self.model, state = _initial_state(config, self.ckpt_path, resume, ds.manifest_hash)
        if not self.cuda:
            configure_threads(config.threads)
            retain_freed_memory()  # activations above 32 MB reused, not page-faulted in at every step
        self.model.to(self.device)
        if config.channels_last:
            self.model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]  # accepted; absent from torch's overloads
        self.loss = LossConfig.from_preset(config.preset, reg_weight=config.reg_weight)
        self.crit: torch.nn.Module = MagnificationLoss(self.model, self.loss)
        if self.dist.world_size > 1:
            self.crit = torch.nn.parallel.DistributedDataParallel(
                self.crit, device_ids=[self.device.index] if self.cuda else None)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=config.lr, betas=config.betas,
                                          weight_decay=config.weight_decay)
        self.fp16 = self.cuda and config.amp and config.precision == "fp32"
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.fp16)
        self.step = 0
        if state is not None:
            self.optimizer.load_state_dict(state["optimizer"])
            if state.get("scaler"):
                self.scaler.load_state_dict(state["scaler"])
            self.step = int(state["step"])
        self.stream = TrainingStream(ds, config.stream_config(config.batch_size), workers=config.workers,
                                     rank=self.dist.rank, world_size=self.dist.world_size, start_step=self.step)
        self.loader = iter(make_loader(self.stream, workers=config.workers, pin_memory=self.cuda))
        if self.main:
            out_dir.mkdir(parents=True, exist_ok=True)
            _trim_metrics(self.metrics_path, self.step)

    def train_step(self) -> dict[str, torch.Tensor]:
        """One optimizer step on the next batch; returns the (detached) loss terms."""
        cfg = self.config
        batch = {k: v.to(self.device, non_blocking=True) for k, v in next(self.loader).items()}
        if cfg.channels_last:
            batch = {k: to_channels_last(v) for k, v in batch.items()}
        for group in self.optimizer.param_groups:
            group["lr"] = cfg.lr * cfg.lr_decay ** (self.step // cfg.lr_decay_steps)
        with autocast(self.device, "fp16" if self.fp16 else cfg.precision):
            total, parts = self.crit(batch)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(total).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.step += 1
        return parts

    def write(self, record: dict[str, Any]) -> None:
        """Append one metrics line (rank 0 only), stamped with the wall-clock time (``time``, Unix seconds)."""
        if self.main:
            with open(self.metrics_path, "a") as fh:
                fh.write(json.dumps({**record, "time": round(time.time(), 3)}) + "\n")

    def validate(self) -> dict[str, float]:
        """Held-out loss terms and the do-nothing baseline (rank 0 only; {} without held-out samples)."""
        if not (self.main and self.stream.val_runs):
            return {}
        metrics = evaluate_loss(self.model, self.ds, self.stream.val_runs, self.loss, batch_size=self.config.batch_size,
                                crop_size=self.config.crop_size, device=self.device)
        self.write({"split": "val", "step": self.step, **metrics})
        return metrics

    def checkpoint(self) -> None:
        """Write the checkpoint atomically (rank 0 only)."""
        if self.main:
            save_checkpoint(self.ckpt_path, self.model, optimizer=self.optimizer,
                            scaler=self.scaler if self.scaler.is_enabled() else None, step=self.step,
                            rng={"torch": torch.get_rng_state()}, manifest_hash=self.ds.manifest_hash,
                            train_config=self.config.to_dict())

    def close(self) -> None:
        """Leave the process group, if any."""
        if self.dist.world_size > 1:
            import torch.distributed as tdist

            if tdist.is_initialized():
                tdist.destroy_process_group()


def train(config: TrainConfig, dataset: Any, out_dir: str | Path, *, resume: bool = True,
          stop_after: int | None = None, progress: bool = True) -> dict[str, Any]:
    """Train (or resume) a model; see the module docstring for the files written.

    Args:
        config: the settings.
        dataset: a dataset root (opened with ``mmdata.open_dataset``) or an opened dataset.
        out_dir: output folder (checkpoint and metrics).
        resume: continue from ``out_dir/checkpoint.pt`` when it exists; a run already at ``config.steps``
            does nothing (no metrics line appended, the checkpoint untouched) and returns its last metrics.
        stop_after: stop (and checkpoint) after this many steps in this call, as if interrupted.
        progress: show a progress bar.

    Returns:
        ``{"step", "checkpoint", "train": last train metrics, "val": last validation metrics}``.

    Raises:
        StoreError: the dataset is missing or lacks fields. CheckpointError: an incompatible checkpoint.
        ConfigError: frames the network cannot train on with ``train.crop_size`` (checked first).
    """
    if isinstance(dataset, (str, Path)):
        import mmdata

        ds = mmdata.open_dataset(dataset, parts=config.parts)
    else:
        ds = dataset
    source = dataset if isinstance(dataset, (str, Path)) else getattr(ds, "root", "dataset")
    check_fields(ds, source=source)
    check_frame_size(ds, config.crop_size, source=source)
    run = _Run(config, ds, Path(out_dir), resume)
    if run.step >= config.steps:  # a finished run: validated and checkpointed at its last step already
        run.close()
        log.info("%s is already at step %d of %d; nothing to do", run.ckpt_path, run.step, config.steps)
        return {"step": run.step, "checkpoint": str(run.ckpt_path), "train": _last_metrics(run.metrics_path, "train"),
                "val": _last_metrics(run.metrics_path, "val")}
    target = config.steps if stop_after is None else min(config.steps, run.step + stop_after)
    last_train: dict[str, float] = {}
    last_val = run.validate() if run.step == 0 else {}
    bar = tqdm(total=config.steps, initial=run.step, desc="train", disable=None if (progress and run.main) else True, unit="step")
    t0, since = time.perf_counter(), 0
    try:
        while run.step < target:
            parts = run.train_step()
            since += 1
            bar.update(1)
            if run.step % config.log_interval == 0 or run.step == config.steps:
                rate = since * config.batch_size * run.dist.world_size / (time.perf_counter() - t0)
                last_train = {k: float(v) for k, v in parts.items()}
                run.write({"split": "train", "step": run.step, "lr": run.optimizer.param_groups[0]["lr"],
                           "samples_per_s": rate, **last_train})
                bar.set_postfix(loss=f"{last_train['total']:.4f}")
                t0, since = time.perf_counter(), 0
            if config.val_interval and run.step % config.val_interval == 0 and run.step < config.steps:
                last_val = run.validate()
            if run.step % config.checkpoint_interval == 0:
                run.checkpoint()
        if run.step >= config.steps:
            last_val = run.validate() or last_val
        run.checkpoint()
    except KeyboardInterrupt:
        log.warning("interrupted at step %d; checkpointing to %s", run.step, run.ckpt_path)
        run.checkpoint()
        raise
    finally:
        bar.close()
        run.close()
    return {"step": run.step, "checkpoint": str(run.ckpt_path), "train": last_train, "val": last_val}
