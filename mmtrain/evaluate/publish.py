"""Publishing a trained model as a release: weights without optimizer state, learning curves and a card.

``mmtrain models release CHECKPOINT --name NAME --metrics metrics.jsonl --dataset ROOT
--scores EVAL_DIR --config CONFIG -o mmtrain/model/released`` writes

* ``NAME.pt``: the model (our checkpoint format, no optimizer, scaler or RNG state), its step,
  training settings and dataset manifest hash, and the release facts in ``extra["release"]``;
* ``NAME-curves.png``: the learning curves (:mod:`mmtrain.train.curves`);
* ``NAME.md``: the model card: data (manifest hash, size, source), code commit, configuration,
  steps and wall time, the validation record against doing nothing, and the evaluation tables
  (SSIM and magnification ratio per level and method of every test in ``EVAL_DIR/results.json``,
  as ``summary.md`` writes them) with the paper's claims;

and prints the weights' SHA-256, the digest :data:`mmtrain.model.released.RELEASES` records.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import yaml

from mmdata.errors import MotionMagError
from mmdata.fsutil import atomic_write_bytes, atomic_write_text
from mmdata.identity import file_sha256
from mmtrain.evaluate.report import metric_tables
from mmtrain.model.checkpoint import load_checkpoint, model_from_checkpoint, save_checkpoint
from mmtrain.train.curves import Curves, plot_curves, read_metrics

__all__ = ["publish_release"]


def _git_commit(cwd: Path) -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return out.stdout.strip() or None


def _read_json(path: Path, what: str) -> dict[str, Any]:
    if not path.is_file():
        raise MotionMagError(f"{path}: no such {what}")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise MotionMagError(f"{path}: not a JSON {what} ({exc.msg})") from exc


def _validation_table(curves: Curves) -> str:
    lines = ["| step | validation recon | do nothing | ratio |", "|---|---|---|---|"]
    for r in curves.val:
        base = r.get("baseline")
        extra = f"{base:.4f} | {r['recon'] / base:.3f}" if base else " | "
        lines.append(f"| {r['step']} | {r['recon']:.4f} | {extra} |")
    return "\n".join(lines)


def publish_release(checkpoint: str | Path, *, name: str, metrics: str | Path, dataset: str | Path,
                    config: str | Path, out_dir: str | Path, scores: str | Path | None = None,
                    commit: str | None = None, machine: str | None = None, notes: str | None = None) -> dict[str, Any]:
    """Write ``NAME.pt``, ``NAME-curves.png`` and ``NAME.md`` into ``out_dir``; see the module docstring.

    Returns:
        ``{"weights", "card", "curves", "sha256", "step", "wall_s"}``.

    Raises:
        MotionMagError: an unreadable input, or a checkpoint trained on another dataset than ``dataset``.
    """
    checkpoint, dataset, config, out_dir = Path(checkpoint), Path(dataset), Path(config), Path(out_dir)
    payload = load_checkpoint(checkpoint)
    model = model_from_checkpoint(payload, source=checkpoint)
    manifest = _read_json(dataset / "manifest.json", "dataset manifest")
    if payload.get("manifest_hash") not in (None, manifest["manifest_hash"]):
        raise MotionMagError(f"{checkpoint}: trained on dataset {payload['manifest_hash']}, "
                             f"not on {dataset} ({manifest['manifest_hash']})")
    curves = read_metrics(metrics)
    if not config.is_file():
        raise MotionMagError(f"{config}: no such config file")
    config_text = config.read_text(encoding="utf-8")
    commit = commit or _git_commit(config.resolve().parent)
    results = _read_json(Path(scores) / "results.json", "evaluation results") if scores is not None else None
    wall_s = curves.wall_s()
    train_cfg = payload.get("train_config") or {}
    n_params = sum(p.numel() for p in model.parameters())
    last = curves.last_val()
    release = {"name": name, "commit": commit, "wall_s": wall_s, "machine": machine,
               "dataset_manifest_hash": manifest["manifest_hash"],
               "validation": {k: last.get(k) for k in ("step", "recon", "baseline")}}

    out_dir.mkdir(parents=True, exist_ok=True)
    weights = save_checkpoint(out_dir / f"{name}.pt", model, step=payload["step"],
                              manifest_hash=payload.get("manifest_hash"), train_config=train_cfg,
                              extra={"release": release})
    digest = file_sha256(weights)
    curves_png = plot_curves({name: curves}, out_dir / f"{name}-curves.png",
                             title=f"{name}: {payload['step']} steps of {train_cfg.get('batch_size')} samples")

    parts = manifest.get("parts", {})
    n_samples = sum(int(p.get("count", 0)) for p in parts.values()) if isinstance(parts, dict) else None
    shape = manifest.get("image_shape")
    cfg = yaml.safe_load(config_text) or {}
    hours = f"{wall_s / 3600:.2f} h" if wall_s else "not recorded"
    beats = (last and last.get("baseline") is not None and last["recon"] < last["baseline"])
    lines = [
        f"# Model card: {name}",
        "",
        f"The `{model.config.preset}` preset of the network of Oh et al. (ECCV 2018), {n_params:,} weights, "
        + (f"fine-tuned from `{train_cfg['init_weights']}`" if train_cfg.get("init_weights") else "trained from scratch")
        + f" by this pipeline. Load it by name wherever a checkpoint is taken: "
        f"`mmtrain magnify VIDEO -o OUT --model {name}`, `mmtrain evaluate run --model {name}={name}`, "
        f"`train.init_weights: {name}`.",
        "",
        "## Facts",
        "",
        "| | |",
        "|---|---|",
        f"| weights | `{name}.pt`, SHA-256 `{digest}` |",
        f"| code | commit `{commit or 'unknown'}` |",
        f"| dataset | manifest hash `{manifest['manifest_hash']}`; {n_samples} samples"
        + (f" of {shape[0]} x {shape[1]} px" if shape else "")
        + f", source `{(cfg.get('sources') or {}).get('kind', '?')}` |",
        f"| training | {payload['step']} steps of {train_cfg.get('batch_size')} samples, "
        f"{train_cfg.get('crop_size')} px crops, Adam lr {train_cfg.get('lr')}, betas {train_cfg.get('betas')}, "
        f"lambda {train_cfg.get('reg_weight')}, {train_cfg.get('val_samples')} samples held out |",
        f"| wall time | {hours}" + (f" on {machine}" if machine else "") + " |",
        f"| held-out validation | recon {last.get('recon', float('nan')):.4f} vs do nothing "
        f"{last.get('baseline', float('nan')):.4f}: " + ("**beats doing nothing**" if beats else "**does not beat doing nothing**")
        + " |",
        "",
    ]
    if notes:
        lines += ["## Notes", "", notes.strip(), ""]
    lines += ["## Learning curves", "", f"![learning curves]({curves_png.name})", "", _validation_table(curves), ""]
    if results is not None and scores is not None:  # results come from scores
        figure = Path(scores) / "subpixel.png"
        if figure.is_file():  # the Fig. 8 (a) plot beside the card
            atomic_write_bytes(out_dir / f"{name}-subpixel.png", figure.read_bytes())
        lines += ["## Evaluation", "",
                  "The paper's synthetic tests (section 4.1, Fig. 8), scored by SSIM and the magnification ratio against the ground truth "
                  f"(`mmtrain evaluate`, protocol `{(results.get('meta') or {}).get('protocol') or 'the size and settings of the config'}`).", "",
                  *([f"![subpixel test]({name}-subpixel.png)", ""] if figure.is_file() else []),
                  metric_tables(results["rows"], ("ssim", "mag_foreground"), heading="###"), ""]
        claims = results.get("claims") or []
        if claims:
            lines += ["Claims of the paper, decided for each network:", ""]
            lines += [f"- `{c['method']}` — {c['statement']}: **{c['status']}**" + (f" ({c['detail']})" if c["detail"] else "")
                      for c in claims]
            lines.append("")
    lines += ["## Configuration", "", f"`{config.name}`:", "", "```yaml", config_text.rstrip(), "```", ""]
    card = out_dir / f"{name}.md"
    atomic_write_text(card, "\n".join(lines))
    return {"weights": str(weights), "card": str(card), "curves": str(curves_png), "sha256": digest,
            "step": payload["step"], "wall_s": wall_s}
