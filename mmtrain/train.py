"""Training: Adam on the magnification loss, atomic checkpoints, exact resume, JSONL metrics, DDP.

``train(TrainConfig.from_config(cfg["train"]), dataset_root, out_dir)`` trains (or resumes) a model in
``out_dir``: ``checkpoint.pt`` (latest, written atomically every ``checkpoint_interval`` steps, at the end
and on Ctrl-C) and ``metrics.jsonl`` (one JSON object per logged step: ``split`` "train" or "val").

On CUDA, mixed precision (float16 autocast + GradScaler) and ``channels_last`` are used when enabled.
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

from mmdata.errors import CheckpointError, ConfigError
from mmtrain.checkpoint import load_checkpoint, load_model, model_from_checkpoint, save_checkpoint
from mmtrain.data import StreamConfig, TrainingStream, check_fields, make_loader, validation_batches
from mmtrain.losses import LossConfig, MagnificationLoss, do_nothing_loss
from mmtrain.model import MagNet, ModelConfig

__all__ = ["TrainConfig", "train", "evaluate_loss", "CHECKPOINT_NAME", "METRICS_NAME"]

log = logging.getLogger(__name__)

CHECKPOINT_NAME = "checkpoint.pt"
METRICS_NAME = "metrics.jsonl"
# preset -> defaults of the keys left null in the config (official: the authors' training code defaults)
PRESET_DEFAULTS: dict[str, dict[str, Any]] = {
    "paper": {"lr": 1e-4, "batch_size": 4, "lr_decay": 1.0, "reg_weight": 0.1},
    "official": {"lr": 2e-4, "batch_size": 8, "lr_decay": 0.97, "reg_weight": 1.0},
}


@dataclass(frozen=True)
class TrainConfig:
    """Resolved training settings (the ``train`` section of the config)."""

    preset: str = "paper"  # model and loss preset: "paper" or "official"
    steps: int = 260000  # optimizer steps in total (the official checkpoint: 259,002)
    batch_size: int = 4  # samples per step (per process under DDP)
    lr: float = 1e-4  # Adam learning rate
    betas: tuple[float, float] = (0.9, 0.999)  # Adam betas
    weight_decay: float = 0.0  # Adam weight decay (the paper: none)
    lr_decay: float = 1.0  # lr multiplied by this every lr_decay_steps (staircase)
    lr_decay_steps: int = 3000  # steps per lr decay
    reg_weight: float = 0.1  # λ on the regularizers
    crop_size: int | None = 384  # random square training crop (multiple of 4); None = whole frames
    run_length: int = 16  # contiguous samples read from a shard at once
    shuffle_buffer: int = 256  # in-memory shuffle buffer, samples
    poisson_noise: float = 0.0  # on-the-fly Poisson noise: max std at mid-gray (0-255); 0 = off
    workers: int = 2  # DataLoader worker processes
    seed: int = 0  # model initialization and data order
    parts: tuple[int, ...] | None = None  # dataset parts to train on (None = all)
    val_samples: int = 16  # samples held out from the end of the dataset for validation
    val_interval: int = 1000  # steps between validations (0 = only at the end)
    log_interval: int = 50  # steps between train metric lines
    checkpoint_interval: int = 1000  # steps between checkpoints
    amp: bool = True  # float16 mixed precision (CUDA only)
    channels_last: bool = True  # channels_last memory format (CUDA only)
    device: str = "auto"  # "auto" (CUDA if available), "cpu", "cuda", "cuda:1", ...
    init_weights: str | None = None  # start from these weights (our checkpoint or the authors'), not random
    model: dict[str, Any] = field(default_factory=dict)  # ModelConfig fields replacing the preset's

    @classmethod
    def from_config(cls, section: Mapping[str, Any] | None = None, **overrides: Any) -> "TrainConfig":
        """Build from the config's ``train`` section; null values take the preset's defaults.

        Raises:
            ConfigError: an unknown preset or key, or invalid model overrides (the key is named).
        """
        values = {**dict(section or {}), **{k: v for k, v in overrides.items() if v is not None}}
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"train.{unknown[0]}: unknown training setting")
        preset = values.get("preset", "paper")
        if preset not in PRESET_DEFAULTS:
            raise ConfigError(f"train.preset: expected 'paper' or 'official', got {preset!r}")
        for key, default in PRESET_DEFAULTS[preset].items():
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
        if config.crop_size is not None and config.crop_size % 4:
            raise ConfigError(f"train.crop_size: must be a multiple of 4, got {config.crop_size}")
        return config

    def model_config(self) -> ModelConfig:
        """The architecture: the preset with ``model`` overrides."""
        return ModelConfig.preset(self.preset, **self.model)

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
    keep = [line for line in path.read_text().splitlines() if line.strip() and json.loads(line).get("step", 0) <= step]
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("".join(line + "\n" for line in keep))
    os.replace(tmp, path)


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


def train(config: TrainConfig, dataset: Any, out_dir: str | Path, *, resume: bool = True,
          stop_after: int | None = None, progress: bool = True) -> dict[str, Any]:
    """Train (or resume) a model; see the module docstring for the files written.

    Args:
        config: the settings.
        dataset: a dataset root (opened with ``mmdata.open_dataset``) or an opened dataset.
        out_dir: output folder (checkpoint and metrics).
        resume: continue from ``out_dir/checkpoint.pt`` when it exists.
        stop_after: stop (and checkpoint) after this many steps in this call, as if interrupted.
        progress: show a progress bar.

    Returns:
        ``{"step", "checkpoint", "train": last train metrics, "val": last validation metrics}``.

    Raises:
        StoreError: the dataset is missing or lacks fields. CheckpointError: an incompatible checkpoint.
    """
    dist, device = _setup_distributed(config.device)
    if isinstance(dataset, (str, Path)):
        import mmdata

        ds = mmdata.open_dataset(dataset, parts=config.parts)
    else:
        ds = dataset
    check_fields(ds, source=dataset)
    out_dir = Path(out_dir)
    ckpt_path, metrics_path = out_dir / CHECKPOINT_NAME, out_dir / METRICS_NAME
    model, state = _initial_state(config, ckpt_path, resume, ds.manifest_hash)
    cuda = device.type == "cuda"
    model.to(device)
    if cuda and config.channels_last:
        model.to(memory_format=torch.channels_last)
    loss_cfg = LossConfig.preset(config.preset, reg_weight=config.reg_weight)
    crit: torch.nn.Module = MagnificationLoss(model, loss_cfg)
    if dist.world_size > 1:
        crit = torch.nn.parallel.DistributedDataParallel(crit, device_ids=[device.index] if cuda else None)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, betas=config.betas, weight_decay=config.weight_decay)
    scaler = torch.amp.GradScaler("cuda", enabled=cuda and config.amp)
    step = 0
    if state is not None:
        optimizer.load_state_dict(state["optimizer"])
        if state.get("scaler"):
            scaler.load_state_dict(state["scaler"])
        step = int(state["step"])
    stream = TrainingStream(ds, config.stream_config(config.batch_size), workers=config.workers, rank=dist.rank,
                            world_size=dist.world_size, start_step=step)
    loader = iter(make_loader(stream, workers=config.workers, pin_memory=cuda))
    main = dist.rank == 0
    if main:
        out_dir.mkdir(parents=True, exist_ok=True)
        _trim_metrics(metrics_path, step)

    def checkpoint() -> None:
        if main:
            save_checkpoint(ckpt_path, model, optimizer=optimizer, scaler=scaler if scaler.is_enabled() else None,
                            step=step, rng={"torch": torch.get_rng_state()}, manifest_hash=ds.manifest_hash,
                            train_config=config.to_dict())

    def write(record: dict[str, Any]) -> None:
        if main:
            with open(metrics_path, "a") as fh:
                fh.write(json.dumps(record) + "\n")

    def validate() -> dict[str, float]:
        metrics = evaluate_loss(model, ds, stream.val_runs, loss_cfg, batch_size=config.batch_size,
                                crop_size=config.crop_size, device=device) if main and stream.val_runs else {}
        if metrics:
            write({"split": "val", "step": step, **metrics})
        return metrics

    target = config.steps if stop_after is None else min(config.steps, step + stop_after)
    last_train: dict[str, float] = {}
    last_val: dict[str, float] = {}
    if step == 0 and main and stream.val_runs:
        last_val = validate()
    bar = tqdm(total=config.steps, initial=step, desc="train", disable=not (progress and main), unit="step")
    t0, done_since = time.perf_counter(), 0
    try:
        while step < target:
            batch = {k: v.to(device, non_blocking=True) for k, v in next(loader).items()}
            if cuda and config.channels_last:
                batch = {k: v.contiguous(memory_format=torch.channels_last) if v.ndim == 4 else v for k, v in batch.items()}
            for group in optimizer.param_groups:
                group["lr"] = config.lr * config.lr_decay ** (step // config.lr_decay_steps)
            with torch.autocast(device_type="cuda", dtype=torch.float16, enabled=cuda and config.amp):
                total, parts = crit(batch)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(total).backward()
            scaler.step(optimizer)
            scaler.update()
            step += 1
            done_since += 1
            bar.update(1)
            if step % config.log_interval == 0 or step == config.steps:
                rate = done_since * config.batch_size * dist.world_size / (time.perf_counter() - t0)
                last_train = {k: float(v) for k, v in parts.items()}
                write({"split": "train", "step": step, "lr": optimizer.param_groups[0]["lr"], "samples_per_s": rate,
                       **last_train})
                bar.set_postfix(loss=f"{last_train['total']:.4f}")
                t0, done_since = time.perf_counter(), 0
            if config.val_interval and step % config.val_interval == 0 and step < config.steps:
                last_val = validate()
            if step % config.checkpoint_interval == 0:
                checkpoint()
        if step >= config.steps:
            last_val = validate() or last_val
        checkpoint()
    except KeyboardInterrupt:
        log.warning("interrupted at step %d; checkpointing to %s", step, ckpt_path)
        checkpoint()
        raise
    finally:
        bar.close()
    return {"step": step, "checkpoint": str(ckpt_path), "train": last_train, "val": last_val}
