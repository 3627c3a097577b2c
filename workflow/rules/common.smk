# Shared helpers of the workflow: config validation, code hashes, shard bookkeeping, targets.
# Rules stay declarations; everything they compute comes from here or from the installed packages.

import hashlib
import json
import math
import os
from importlib.util import find_spec
from pathlib import Path

import yaml
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from mmdata.config import SCHEMA_PATH, validate_config
from mmdata.errors import ConfigError
from mmdata.params import PART_NAMES, part_number
from mmdata.provenance import render_config


# ---- configuration: defaults filled in and validated before anything runs --------------------
try:
    _resolved = validate_config(config)
except ConfigError as exc:
    raise WorkflowError(f"invalid configuration: {exc}") from None
config.clear()
config.update(_resolved)
validate(config, str(SCHEMA_PATH))


def write_resolved_config(cfg: dict, path: str = "results/config/config.yaml") -> str:
    """Write the resolved config where the CLIs read it, only when its content changed.

    Every job reads the exact configuration validated here (--config overrides included). The
    file is a parameter, not an input: a config change re-runs only the jobs whose own params
    (render config, sample range, ...) change, never every job by modification time.
    """
    text = yaml.safe_dump(cfg, sort_keys=True)
    target = Path(path)
    if not target.is_file() or target.read_text(encoding="utf-8") != text:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(target)
    return path


CONFIG_FILE = write_resolved_config(config)
DATASET = config["dataset"]
WF = config["workflow"]


# ---- code hashes: a change in a package's source re-runs the jobs that use it ------------------
def package_hash(*packages: str) -> str:
    """sha256 over the paths and bytes of the installed packages' .py and .yaml files."""
    h = hashlib.sha256()
    for name in packages:
        root = Path(find_spec(name).origin).parent
        for path in sorted(root.rglob("*")):
            if path.suffix in (".py", ".yaml") and "__pycache__" not in path.parts:
                h.update(f"{name}/{path.relative_to(root)}".encode())
                h.update(path.read_bytes())
    return h.hexdigest()[:16]


MMDATA_CODE = package_hash("mmdata")
MMTRAIN_CODE = package_hash("mmdata", "mmtrain")


def as_json(value) -> str:
    """Canonical JSON of a config value, used as a rule parameter (compared between runs)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


# ---- dataset shards -----------------------------------------------------------------------------
def shard_count(part: int) -> int:
    """Number of shard stores of a part (1-5): ceil(samples / shard_size)."""
    return math.ceil(DATASET["parts"][PART_NAMES[part - 1]] / DATASET["shard_size"])


def shard_store(part: int, shard: int) -> str:
    return f"results/dataset/part{part}/shard-{shard:04d}.zarr"


def shard_stores(parts=range(1, len(PART_NAMES) + 1)) -> list[str]:
    """Paths of every shard store of the given parts."""
    return [shard_store(p, k) for p in parts for k in range(shard_count(p))]


def selected_parts() -> list[int]:
    """Parts chosen by workflow.parts (numbers or names), for the `shards` target."""
    return sorted({part_number(p) for p in WF["parts"]})


def shard_samples(wildcards) -> str:
    """The sample range start:stop of one shard: the shard's own config-relevant parameter."""
    part, shard = int(wildcards.part), int(wildcards.shard)
    if shard >= shard_count(part):
        raise WorkflowError(
            f"results/dataset/part{part}/shard-{wildcards.shard}.zarr: part {part} has only "
            f"{shard_count(part)} shard(s) with dataset.parts.{PART_NAMES[part - 1]}="
            f"{DATASET['parts'][PART_NAMES[part - 1]]} and dataset.shard_size={DATASET['shard_size']}"
        )
    size = DATASET["shard_size"]
    stop = min((shard + 1) * size, DATASET["parts"][PART_NAMES[part - 1]])
    return f"{shard * size}:{stop}"


# What determines a shard's bytes besides its sample range: the config keys that mmdata records
# as the render config of every store (mmdata.provenance.render_config: seed, sources, dataset;
# shards of one dataset root must agree on it) and the store layout.
RENDER_PARAMS = as_json({"render": render_config(config), "store": config["store"]})


def shard_mem_mb(wildcards, threads) -> int:
    """Memory of one shard job: a base plus the supersampled float working set of each worker."""
    grid = DATASET["image_size"] * DATASET["supersample"]
    return 1000 + threads * math.ceil(grid * grid * 3 * 4 * 24 / 1e6)


def cpus_of(wildcards, threads) -> int:
    """CPUs per task on a cluster: exactly the job's threads, which size Dask inside the job."""
    return threads


# ---- targets ------------------------------------------------------------------------------------
def dataset_targets() -> list[str]:
    return ["results/dataset/manifest.json", "results/dataset/audit.txt"]


def all_targets() -> list[str]:
    """Everything `snakemake all` builds, in pipeline order."""
    return ["results/sources/sheet.png", *dataset_targets()]
