"""Generate one dataset shard store with Dask: render samples in parallel, write whole zarr shards.

Shard ``K`` of part ``P`` covers the part's indices ``[K * shard_size, min((K + 1) * shard_size, n))``
and is written to ``ROOT/part{P}/shard-{K:04d}.zarr`` (see :mod:`mmdata.store`). The Dask graph has
one task per sample (render) and one per block of ``store.zarr_shard_samples`` samples (write the
whole zarr shard the block fills), so every writer owns whole zarr shards. It runs on

* the calling thread (``workers=1``),
* a local pool of ``workers`` threads or processes (``store.pool``; on Linux the processes are forked
  from this one after it has imported the rendering and store code, so they start in milliseconds
  instead of a second of imports each), or
* an existing ``dask.distributed`` scheduler given by address (every worker must see ROOT and the
  catalogue folder at the same paths and have this package installed).

A sample's bytes depend only on (config, catalogue, part, index): never on the shard size, the
worker count or the scheduler. An interrupted run leaves a hidden partial store that a rerun resumes.
"""

from __future__ import annotations

import logging
import sys
import uuid
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import dask
from dask.callbacks import Callback

from mmdata.config import config_hash, validate_config
from mmdata.errors import ConfigError
from mmdata.progress import ProgressLike, progress_bar
from mmdata.store.provenance import content_code_version, render_config_hash, run_record, utc_now
from mmdata.sources.base import Catalogue
from mmdata.spec import DatasetSpec
from mmdata.store.layout import SampleRecord, ShardLayout, StoreSettings, shard_count, shard_path, shard_range
from mmdata.store.writer import ShardTarget, write_block

__all__ = ["GenerateSpec", "ShardPlan", "plan_shard", "shard_layout", "frame_fields", "render_record", "generate_shard"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GenerateSpec:
    """What generating shards needs from the configuration: parsed once, at the edge (:meth:`from_config`).

    The library reads values only from the typed sections; the resolved config itself is carried
    only to be recorded in every shard (its ``config`` attribute) with its two hashes.
    """

    dataset: DatasetSpec  # the samples: seed, sizes, distributions, parts
    store: StoreSettings  # how shards are written (codec, zarr shard size, local pool)
    config: Mapping[str, Any]  # the resolved configuration, recorded as is (never read for a value)
    config_hash: str  # mmdata.config.config_hash of ``config``
    render_config_hash: str  # mmdata.store.provenance.render_config_hash: what decides the pixels

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "GenerateSpec":
        """Validate a configuration (defaults filled in) and parse the sections a shard needs.

        Raises:
            ConfigError: the config does not validate.
        """
        resolved = validate_config(config)
        return cls(DatasetSpec.from_config(resolved), StoreSettings.from_config(resolved), resolved,
                   config_hash(resolved), render_config_hash(resolved))


@dataclass(frozen=True)
class ShardPlan:
    """Which samples one shard holds."""

    part: int  # part number 1-5
    shard: int  # shard number K
    start: int  # first index within the part
    count: int  # samples in this shard
    part_size: int  # samples in the whole part
    shard_size: int  # samples per shard (the last one may hold fewer)

    @property
    def indices(self) -> range:
        return range(self.start, self.start + self.count)


def plan_shard(spec: DatasetSpec, part: int | str, shard: int) -> ShardPlan:
    """The index range of shard ``shard`` of ``part``.

    Raises:
        ConfigError: unknown part, or a shard index at or beyond the part's last shard.
    """
    p = spec.part_number(part)
    n, size = spec.part_size(spec.part_name(p)), spec.shard_size
    try:
        start, stop = shard_range(n, size, shard)
    except ConfigError:
        n_shards = shard_count(n, size)
        last = f"shards 0-{n_shards - 1}" if n_shards else "no shards"
        raise ConfigError(
            f"shard: {shard} is beyond part {p} ({spec.part_name(p)}), which has {n} samples in shards of {size} ({last})"
        ) from None
    return ShardPlan(p, int(shard), start, stop - start, n, size)


def frame_fields(spec: DatasetSpec) -> tuple[str, ...]:
    """The frame arrays a shard stores (``frame_y`` only when ``dataset.store_frame_y``)."""
    from mmdata.render.composite import FRAME_FIELDS

    return tuple(f for f in FRAME_FIELDS if spec.store_frame_y or f != "frame_y")


def shard_layout(spec: DatasetSpec, plan: ShardPlan, settings: StoreSettings) -> ShardLayout:
    """Array shapes of the shard ``plan`` describes."""
    return ShardLayout(
        count=plan.count,
        image_shape=(spec.image_size, spec.image_size),
        frame_fields=frame_fields(spec),
        max_layers=1 + spec.objects.count_max,
        block=max(1, min(settings.zarr_shard_samples, plan.count)),
        axial=spec.axial.active,
    )


def render_record(spec: DatasetSpec, part: int, index: int, catalogue: Catalogue, fields: Sequence[str]) -> SampleRecord:
    """Draw and render one sample into a :class:`SampleRecord` holding ``fields``."""
    from mmdata.render.composite import render

    params, frames = render(spec, part, index, catalogue)
    return SampleRecord(part=part, index=index, frames={f: frames[f] for f in fields}, alpha=params.alpha, params=params)


class _TqdmCallback(Callback):
    """Advance a progress bar by one per finished render task of a local Dask computation."""

    def __init__(self, bar: ProgressLike) -> None:
        super().__init__()
        self.bar = bar

    def _posttask(self, key: Any, result: Any, dsk: Any, state: Any, worker_id: Any) -> None:
        if isinstance(result, SampleRecord):
            self.bar.update(1)


def _graph(spec: DatasetSpec, plan: ShardPlan, layout: ShardLayout, catalogue: Any, partial: Path, blocks: Sequence[int]) -> list[Any]:
    """One delayed write per pending block, each depending on its blocks' render tasks.

    ``catalogue`` is the catalogue itself or a ``distributed`` future of it (scattered once).
    """
    render_task = dask.delayed(render_record, pure=True)
    write_task = dask.delayed(write_block, pure=False)
    cat = catalogue if not isinstance(catalogue, Catalogue) else dask.delayed(catalogue, pure=True)
    run = uuid.uuid4().hex  # keys unique to this run: a shared scheduler must never mix two runs' samples
    writes = []
    for b in blocks:
        lo, hi = layout.block_range(b)
        records = [
            render_task(spec, plan.part, plan.start + o, cat, layout.frame_fields, dask_key_name=f"render-{run}-{plan.part}-{plan.start + o}")
            for o in range(lo, hi)
        ]
        writes.append(write_task(str(partial), layout, b, records, dask_key_name=f"write-{run}-{plan.part}-{plan.shard}-{b}"))
    return writes


def _connect(scheduler: str) -> Any:
    """A ``distributed.Client`` of the scheduler at ``scheduler``.

    Raises:
        ConfigError: no scheduler answers at that address.
    """
    from distributed import Client

    try:
        return Client(scheduler)
    except (OSError, TimeoutError) as exc:
        raise ConfigError(f"scheduler: cannot connect to the dask.distributed scheduler at {scheduler} ({exc})") from exc


def _process_pool(workers: int) -> ProcessPoolExecutor:
    """A pool of ``workers`` processes for Dask's ``processes`` scheduler.

    On Linux they are forked from this process once it has imported the code that renders and
    writes, so each starts with it loaded (a spawned worker spends about a second importing numpy,
    scipy, zarr, imagecodecs and this package before its first sample). Elsewhere they are spawned,
    as Dask does by default (forking is unsafe on macOS). Forking a process that holds threads is
    safe here: zarr, the frame codec and the standard library reset their locks and loops in the
    child, and the workers use nothing else of this process's threads.
    """
    import multiprocessing

    if not sys.platform.startswith("linux"):
        return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
    import mmdata.render.composite  # noqa: F401  (inherited by the forked workers)

    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"))


def _compute_local(writes: list[Any], workers: int, pool: str) -> None:
    """Compute the write tasks on the calling thread, or on a local pool of threads or processes."""
    if workers <= 1:
        dask.compute(*writes, scheduler="synchronous")
    elif pool == "processes":
        with _process_pool(workers) as executor:
            dask.compute(*writes, scheduler="processes", pool=executor)
    else:
        dask.compute(*writes, scheduler=pool, num_workers=workers)


def _run(spec: DatasetSpec, plan: ShardPlan, layout: ShardLayout, catalogue: Catalogue, target: ShardTarget, workers: int, pool: str, client: Any, progress: bool) -> None:
    """Build the graph of the pending blocks and compute it on the chosen executor, with a progress bar."""
    n = sum(layout.block_range(b)[1] - layout.block_range(b)[0] for b in target.pending_blocks)
    bar = progress_bar(n, desc="render", unit="sample", enabled=progress)  # a bar on a terminal, log lines elsewhere
    try:
        if client is not None:
            from distributed import as_completed

            cat = client.scatter(catalogue, broadcast=True)
            futures = client.compute(_graph(spec, plan, layout, cat, target.partial, target.pending_blocks))
            for fut in as_completed(futures):
                bar.update(fut.result())
            return
        writes = _graph(spec, plan, layout, catalogue, target.partial, target.pending_blocks)
        with _TqdmCallback(bar):
            _compute_local(writes, workers, pool)
    finally:
        bar.close()


def _provenance(job: GenerateSpec, plan: ShardPlan, catalogue: Catalogue) -> tuple[dict[str, Any], dict[str, Any]]:
    """(identity, attributes) of a shard store: what must match to resume or accept it, and what it records.

    Both depend only on content (config, catalogue, the code that decides pixels): regenerating the
    shard gives the same attributes byte for byte. When, where and by which checkout it ran goes to
    the run record (:func:`_run_record`).
    """
    code = content_code_version()
    identity = {
        "render_config_hash": job.render_config_hash,
        "catalogue_identity": catalogue.identity,
        "render_code_hash": code["render_code_hash"],
        "part": plan.part,
        "shard": plan.shard,
        "start": plan.start,
        "count": plan.count,
    }
    attrs = {
        "origin": "generate",
        "part": plan.part,
        "part_name": job.dataset.part_name(plan.part),
        "shard": plan.shard,
        "start": plan.start,
        "part_size": plan.part_size,
        "shard_size": plan.shard_size,
        "render_config_hash": identity["render_config_hash"],
        "config_hash": job.config_hash,
        "config": job.config,
        "catalogue": {"identity": catalogue.identity, "content_sha256": getattr(catalogue, "content_digest", None)},
        "code_version": code,
    }
    return identity, attrs


def _run_record(catalogue_path: str | Path | None, workers: int, scheduler: str | None, pool: str) -> dict[str, Any]:
    """What a run records beside the store (its ``run.json``): never part of an identity."""
    return run_record(
        created=utc_now(),
        catalogue_path=str(Path(catalogue_path).resolve()) if catalogue_path else None,
        executor=scheduler or (f"{workers} {pool}" if workers > 1 else "1 thread"),
    )


def generate_shard(
    job: GenerateSpec,
    catalogue: Catalogue,
    root: str | Path,
    part: int | str,
    shard: int,
    *,
    workers: int = 1,
    scheduler: str | None = None,
    catalogue_path: str | Path | None = None,
    progress: bool = False,
) -> Path:
    """Render shard ``shard`` of ``part`` into ``ROOT/part{P}/shard-{K:04d}.zarr``.

    Args:
        job: the parsed configuration (:meth:`GenerateSpec.from_config`, once at the edge).
        catalogue: the sources; recorded by its identity (and ``catalogue_path``).
        root: dataset root.
        part: part number or name (custom parts included).
        shard: shard number K.
        workers: local Dask workers (threads or processes, ``store.pool``); ignored with ``scheduler``.
        scheduler: address of an existing ``dask.distributed`` scheduler, e.g. ``tcp://host:8786``.
        catalogue_path: the catalogue folder, recorded so that ``audit``/``explain`` can reopen it.
        progress: show progress (a tqdm bar on a terminal, periodic log lines otherwise; :mod:`mmdata.progress`).

    Returns:
        The path of the complete shard store.

    Raises:
        ConfigError: the shard is beyond the part, or ``workers`` < 1.
        TypeError: ``job`` is not a :class:`GenerateSpec` (a config mapping: parse it with :meth:`GenerateSpec.from_config`).
        StoreError: the output path holds foreign or different content, or another run holds it.
    """
    if not isinstance(job, GenerateSpec):
        raise TypeError(f"generate_shard: expected a GenerateSpec, got {type(job).__name__} "
                        "(GenerateSpec.from_config(config) parses a config)")
    if int(workers) < 1:
        raise ConfigError(f"workers: expected at least 1 worker, got {workers}")
    spec, settings = job.dataset, job.store
    plan = plan_shard(spec, part, shard)
    layout = shard_layout(spec, plan, settings)
    final = shard_path(root, plan.part, plan.shard).resolve()
    identity, attrs = _provenance(job, plan, catalogue)
    run = _run_record(catalogue_path, workers, scheduler, settings.pool)
    client = _connect(scheduler) if scheduler else None  # before anything is written
    try:
        with ShardTarget(final, layout, identity, attrs, settings, run=run) as target:
            if target.complete:
                return final
            log.info(
                "%s: rendering %d blocks (part %d, indices %d-%d) with %s", final, len(target.pending_blocks), plan.part,
                plan.start, plan.start + plan.count - 1, scheduler or (f"{workers} {settings.pool}" if workers > 1 else "1 thread"),
            )
            _run(spec, plan, layout, catalogue, target, workers, settings.pool, client, progress)
            target.finalize()
    finally:
        if client is not None:
            client.close()
    return final
