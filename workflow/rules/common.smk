# Shared helpers of the workflow: config validation, code hashes, shard bookkeeping, targets.
# Rules stay declarations; everything they compute comes from here or from the installed packages.

import math
from pathlib import Path

import yaml
from snakemake.exceptions import WorkflowError

from mmdata.config import validate_config
from mmdata.errors import ConfigError
from mmdata.fsutil import atomic_write_text
from mmdata.identity import bytes_sha256
from mmdata.scene import part_name, part_number
from mmdata.spec import custom_part_numbers
from mmdata.store.layout import shard_count as layout_shard_count
from mmdata.store.layout import shard_path, shard_range
from mmdata.store.provenance import RENDER_CONFIG_KEYS, package_code_hash, render_code_hash, shard_job_config


# ---- configuration: defaults filled in and validated (once) before anything runs ---------------
try:
    _resolved = validate_config(config)
except ConfigError as exc:
    raise WorkflowError(f"invalid configuration: {exc}") from None
config.clear()
config.update(_resolved)

# Config files the jobs read, path -> text. Parsing the workflow only names them (paths are content
# hashes, so a job's parameters say what it reads); they are written by write_config_views(), which
# the Snakefile's onstart handler calls: a dry run (-n), --lint or --list-changes writes nothing.
CONFIG_VIEWS: dict[str, str] = {}


def write_config_views() -> None:
    """Write every config file a job reads (atomically; unchanged files are left alone)."""
    for name, text in CONFIG_VIEWS.items():
        path = Path(name)
        if path.is_file() and path.read_text(encoding="utf-8") == text:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, text)


def config_view(*sections: str) -> str:
    """Write the named top-level sections of the resolved config to a file; return its path.

    A rule's CLI reads exactly the sections it depends on (the rest take their defaults), from
    results/config/<hash>.yaml named by their content. The path is a rule parameter, so a job
    re-runs when, and only when, the configuration it reads changes; files are never rewritten,
    and nothing is written until the workflow runs (write_config_views).
    """
    view = {name: config[name] for name in sections}
    text = yaml.safe_dump(view, sort_keys=True)
    path = f"results/config/{bytes_sha256(text.encode())[:16]}.yaml"
    CONFIG_VIEWS[path] = text
    return path


DATASET = config["dataset"]
WF = config["workflow"]
CUSTOM_PARTS = custom_part_numbers(DATASET)  # name -> number of dataset.custom_parts (6, 7, ...)
PART_NUMBERS = [1, 2, 3, 4, 5, *sorted(CUSTOM_PARTS.values())]


# ---- code hashes: a change in the code a job runs re-runs that job -------------------------------
# Hashes of syntax trees without docstrings and comments (mmdata.store.provenance.code_hash): editing
# prose re-runs nothing. A shard depends only on the code that can change a sample's bytes
# (RENDER_MODULES: sampling, rendering, resampling, noise, scene parameters, source decoding).
SOURCES_CODE = package_code_hash("mmdata.sources")[:16]
RENDER_CODE = render_code_hash()[:16]
MMDATA_CODE = package_code_hash("mmdata")[:16]
MMTRAIN_CODE = package_code_hash("mmdata", "mmtrain")[:16]


# ---- dataset shards -----------------------------------------------------------------------------
def part_label(part: int) -> str:
    """A part's name by number (custom parts included); "?" for a number that is no part."""
    try:
        return part_name(part, CUSTOM_PARTS)
    except ConfigError:
        return "?"


def part_samples(part: int) -> int:
    """Samples of a part, by number (custom parts included; 0 for a number that is no part)."""
    return int(DATASET["parts"].get(part_label(part), 0))


def shard_count(part: int) -> int:
    """Number of shard stores of a part (mmdata.store.layout.shard_count)."""
    return layout_shard_count(part_samples(part), DATASET["shard_size"])


def shard_store(part: int, shard: int) -> str:
    return str(shard_path("results/dataset", part, shard))


def shard_stores(parts=PART_NUMBERS) -> list[str]:
    """Paths of every shard store of the given parts."""
    return [shard_store(p, k) for p in parts for k in range(shard_count(p))]


def audit_reports(parts=PART_NUMBERS) -> list[str]:
    """Paths of the audit reports of every shard of the given parts (one `audit_shard` job each)."""
    return [f"results/dataset/audit/part{p}/shard-{k:04d}.json" for p in parts for k in range(shard_count(p))]


def selected_parts() -> list[int]:
    """Parts chosen by workflow.parts (numbers or names), for the `shards` target."""
    return sorted({part_number(p, CUSTOM_PARTS) for p in WF["parts"]})


def shard_samples(wildcards) -> str:
    """The sample range start:stop of one shard: the shard's own config-relevant parameter."""
    part, shard = int(wildcards.part), int(wildcards.shard)
    try:
        start, stop = shard_range(part_samples(part), DATASET["shard_size"], shard)
    except ConfigError:
        raise WorkflowError(
            f"results/dataset/part{part}/shard-{wildcards.shard}.zarr: part {part} has only "
            f"{shard_count(part)} shard(s) with dataset.parts.{part_label(part)}="
            f"{part_samples(part)} and dataset.shard_size={DATASET['shard_size']}"
        ) from None
    return f"{start}:{stop}"


# The configuration each stage reads: the render config that mmdata records in every store
# (mmdata.store.provenance.RENDER_CONFIG_KEYS: seed, sources, dataset) and the store layout.
SOURCES_CONFIG = config_view("sources")
# The shard jobs read SHARD_CONFIG's content from a file named by everything except the part sizes:
# a shard's bytes depend on the render settings, the store settings and its own sample range
# (shard_samples), not on how many samples the other shards hold. So growing or shrinking one part
# renders only that part's new or changed shards; the file is rewritten in place (atomically) when
# only part sizes change, and what it says about them is what the shards record as their part size.
# Generator options that are off are left out of both (they change no pixel, and the shard job fills
# their defaults back in), so a toolkit release that adds an option re-renders nothing.
def shard_config_file() -> str:
    key, job = shard_job_config(config)  # mmdata decides what determines a shard's bytes
    text = yaml.safe_dump(job, sort_keys=True)
    path = f"results/config/shards-{bytes_sha256(yaml.safe_dump(key, sort_keys=True).encode())[:16]}.yaml"
    CONFIG_VIEWS[path] = text
    return path


SHARD_CONFIG = shard_config_file()
TRAIN_CONFIG = config_view("train")
MAGNIFY_CONFIG = config_view("magnify")
# test scenes are rendered like training samples: the render config and the evaluate section
EVALUATE_CONFIG = config_view(*RENDER_CONFIG_KEYS, "evaluate")


def extra_presets() -> list[str]:
    """Presets trained from scratch besides train.preset (workflow.train_presets)."""
    return [p for p in WF["train_presets"] if p != config["train"]["preset"]]


def trained_models() -> dict[str, str]:
    """Networks this run trains, evaluation name -> checkpoint."""
    return {"ours": "results/train/checkpoint.pt",
            **{f"ours-{p}": f"results/train-{p}/checkpoint.pt" for p in extra_presets()}}


def training_metrics() -> dict[str, str]:
    """Learning-curve name -> metrics.jsonl of every network this run trains."""
    return {config["train"]["preset"]: "results/train/metrics.jsonl",
            **{p: f"results/train-{p}/metrics.jsonl" for p in extra_presets()}}


def evaluation_shards() -> list[str]:
    """Shard names K-of-N of the evaluation (evaluate.shards jobs; one when unsharded)."""
    n = config["evaluate"]["shards"]
    return [f"{k}of{n}" for k in range(n)]


def shard_mem_mb(wildcards, threads) -> int:
    """Memory of one shard job: a base plus the supersampled float working set of each worker."""
    grid = DATASET["image_size"] * DATASET["supersample"]
    return 1000 + threads * math.ceil(grid * grid * 3 * 4 * 24 / 1e6)


def cpus_of(wildcards, threads) -> int:
    """CPUs per task on a cluster: exactly the job's threads, which size Dask inside the job."""
    return threads


def demo_slice_row() -> int:
    """Row of the demo video whose x-t slice the report shows: the middle one."""
    return config["magnify"]["demo"]["height"] // 2


# ---- targets ------------------------------------------------------------------------------------
def dataset_targets() -> list[str]:
    return ["results/dataset/manifest.json", "results/dataset/audit.txt"]


def all_targets() -> list[str]:
    """Everything `snakemake all` builds, in pipeline order."""
    return [
        "results/sources/sheet.png",
        *dataset_targets(),
        "results/train/checkpoint.pt",
        "results/train/curves.png",
        "results/magnify/demo-magnified.mp4",
        "results/evaluate/scores",
    ]
