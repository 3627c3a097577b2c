"""Test sets of the quantitative evaluation: rendering the cases and storing them with ground truth.

A test set is one store written through :mod:`mmdata.store` (``OUT/<test>.zarr``). Per case it holds
``frame_a``, ``frame_b`` (inputs, with the case's photon noise), ``frame_y`` (clean ground truth:
every layer displaced by ``alpha * delta``), ``layer_mask`` (where each layer's magnified motion can be
measured, :func:`mmtrain.evaluate.layers.layer_masks`: red the foreground, green the background), the case's exact :class:`~mmdata.scene.SampleParams`, and,
unless the size says otherwise, the clip the temporal-filter methods see as frame fields
``video_00 .. video_29``: the same scene with every layer displaced by ``delta * cos(2 pi 3 t / 30)``
(3 Hz at 30 fps, the paper's footnote 4), independent photon noise per frame. Frame 0 of the clip is
frame B's displacement, and the clip's temporal mean is frame A's, so the magnified frame 0 must equal
``frame_y``. Without stored clips (paper size: they would take hundreds of GB) they are re-rendered
from the recorded parameters and the same catalogue when needed.

The store's attributes record the toolkit version and :data:`TESTSET_FORMAT`; opening a test set
written by an incompatible version raises :class:`~mmdata.errors.StoreError`.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from mmdata import __version__
from mmdata.errors import ConfigError, StoreError
from mmdata.render.noise import photon_noise, stochastic_round
from mmdata.scene import SampleParams
from mmdata.store.provenance import params_from_json
from mmdata.render.composite import render_clean, render_sample
from mmdata.sources.base import Catalogue
from mmdata.spec import DatasetSpec
from mmdata.store import SampleRecord, ShardLayout, ShardReader, ShardTarget, StoreSettings, open_shard, write_block
from mmtrain.evaluate.cases import Case, EvalSpec, VideoSpec, build_cases
from mmtrain.evaluate.layers import layer_masks

__all__ = ["TESTSET_FORMAT", "PAIR_FIELDS", "MASK_FIELD", "shard_name", "shard_cases", "video_fields", "render_video", "write_test_set", "open_test_set", "OpenedTestSet"]

log = logging.getLogger(__name__)

#: Version of the test-set layout; bumped on incompatible changes.
TESTSET_FORMAT = 2
#: The two-frame fields of a test set.
PAIR_FIELDS: tuple[str, ...] = ("frame_a", "frame_b", "frame_y")
#: The field holding the layer masks (channel 0 foreground, 1 background; 0 or 255).
MASK_FIELD = "layer_mask"
_BLOCK = 16  # cases per zarr shard inside a test-set store


def video_fields(frames: int) -> tuple[str, ...]:
    """Names of the clip's frame fields: ``video_00``, ``video_01``, ..."""
    return tuple(f"video_{t:02d}" for t in range(frames))


def _release(version: str) -> tuple[str, ...]:
    """The part of a version that must match: major.minor (0.x releases may break formats)."""
    return tuple(version.split("+")[0].split(".")[:2])


def render_video(params: SampleParams, catalogue: Catalogue, spec: DatasetSpec, video: VideoSpec) -> np.ndarray:
    """The case's clip: every layer displaced by ``c_t * motion``, independent photon noise per frame.

    The renderer draws a scene at displacements 0, ``motion`` and ``alpha * motion``; each distinct
    coefficient pair (c, -c) of the clip is rendered in one call with ``alpha = -1``.

    Args:
        params: the case (its motions are the amplitude of the sinusoid).
        catalogue: the sources the case was drawn from.
        spec: renderer settings (image size, supersampling, anti-aliasing).
        video: clip length, frame rate and frequency.

    Returns:
        uint8 array (frames, H, W, 3).
    """
    coeffs = np.round(video.coefficients(), 12)
    clean: dict[float, np.ndarray] = {}
    for c in sorted(set(np.abs(coeffs).tolist())):
        scaled = dataclasses.replace(
            params,
            alpha=-1.0,
            background=dataclasses.replace(params.background, motion=tuple(c * v for v in params.background.motion)),
            objects=tuple(dataclasses.replace(o, motion=tuple(c * v for v in o.motion)) for o in params.objects),
        )
        frames = render_clean(scaled, catalogue, spec)
        clean[c], clean[-c] = frames["frame_b"], frames["frame_y"]
    out = np.empty((video.frames, spec.image_size, spec.image_size, 3), dtype=np.uint8)
    for t, c in enumerate(coeffs.tolist()):
        rng = np.random.default_rng(np.random.SeedSequence(list(params.seed), spawn_key=(2, t)))
        out[t] = stochastic_round(photon_noise(clean[c], params.noise_std, rng), rng)
    return out


def _render_case(case: Case, catalogue: Catalogue, spec: DatasetSpec, ev: EvalSpec) -> SampleRecord:
    frames = render_sample(case.params, catalogue, spec)
    out = {k: frames[k] for k in PAIR_FIELDS}
    out[MASK_FIELD] = layer_masks(case.params, catalogue, spec)
    if ev.store_videos:
        clip = render_video(case.params, catalogue, spec, ev.video)
        out.update(zip(video_fields(ev.video.frames), clip))
    return SampleRecord(part=case.params.part, index=case.params.index, frames=out, alpha=case.params.alpha, params=case.params)


def shard_name(test: str, shard: tuple[int, int] = (0, 1)) -> str:
    """File name of a test set's store: ``<test>.zarr``, or ``<test>-shard<k>of<n>.zarr`` for shard k of n."""
    k, n = shard
    return f"{test}.zarr" if n == 1 else f"{test}-shard{k}of{n}.zarr"


def shard_cases(cases: list[Case], shard: tuple[int, int]) -> list[Case]:
    """Cases ``k, k + n, k + 2n, ...`` of shard ``k`` of ``n`` (interleaved, so shards cost alike).

    Raises:
        ConfigError: not ``0 <= k < n``.
    """
    k, n = shard
    if not 0 <= k < n:
        raise ConfigError(f"--shard: expected K/N with 0 <= K < N, got {k}/{n}")
    return cases[k::n]


def write_test_set(
    out: str | Path, test: str, ev: EvalSpec, ds: DatasetSpec, catalogue: Catalogue, *, progress: bool = True,
    shard: tuple[int, int] = (0, 1),
) -> Path:
    """Render every case of a test (or of one shard of it) and store it atomically as ``out/<test>.zarr``.

    A shard ``(k, n)`` holds cases ``k, k + n, ...`` in ``out/<test>-shard<k>of<n>.zarr``; every case
    keeps its number, scene and noise draws, so the shards together hold exactly the unsharded set.

    Args:
        out: folder of the test sets.
        test: test name (see :data:`mmtrain.evaluate.cases.TEST_NAMES`).
        ev: the evaluation spec.
        ds: renderer settings; its ``image_size`` must equal ``ev.image_size``.
        catalogue: the sources.
        progress: show a progress bar.
        shard: (k, n), this job's shard of n; (0, 1) is the whole test.

    Returns:
        The store's path (left as is when it already exists with the same identity).

    Raises:
        ConfigError: unknown test, or renderer and evaluation image sizes differ.
        StoreError: the path holds something else (or the same test set with other settings).
    """
    if ds.image_size != ev.image_size:
        raise ConfigError(f"dataset.image_size: the renderer's {ds.image_size} px differs from the evaluation size's {ev.image_size} px")
    cases = shard_cases(build_cases(test, ev, ds, catalogue), shard)
    fields = PAIR_FIELDS + (MASK_FIELD,) + (video_fields(ev.video.frames) if ev.store_videos else ())
    layout = ShardLayout(
        count=len(cases),
        image_shape=(ev.image_size, ev.image_size),
        frame_fields=fields,
        max_layers=1 + ev.objects[1],
        block=min(_BLOCK, len(cases)),
    )
    info = {
        "test": test,
        "testset_format": TESTSET_FORMAT,
        "toolkit_version": __version__,
        "spec": ev.set_description(test),
        # linear light is named only when on, so test sets written before it existed keep their identity
        "renderer": {"supersample": ds.supersample, "antialias_sigma": ds.antialias_sigma, **({"linear_light": True} if ds.linear_light else {})},
        "catalogue": catalogue.identity,
        "shard": list(shard),
    }
    attrs = {
        "part": 1,
        "start": 0,
        "evaluation": {**info, "groups": [c.group for c in cases], "levels": [c.level for c in cases], "samples": [c.sample for c in cases]},
    }
    final = Path(out) / shard_name(test, shard)
    with ShardTarget(final, layout, identity=info, attrs=attrs, settings=StoreSettings()) as target:
        if target.complete:
            return final
        bar = tqdm(total=sum(layout.block_range(b)[1] - layout.block_range(b)[0] for b in target.pending_blocks),
                   desc=f"test set {test}", unit="case", disable=None if progress else True)
        for block in target.pending_blocks:
            lo, hi = layout.block_range(block)
            records = []
            for case in cases[lo:hi]:
                records.append(_render_case(case, catalogue, ds, ev))
                bar.update(1)
            write_block(target.partial, layout, block, records)
        bar.close()
        target.finalize()
    log.info("%s: %d cases written", final, len(cases))
    return final


@dataclass
class OpenedTestSet:
    """An opened test set (see :func:`open_test_set`)."""

    path: Path
    reader: ShardReader
    info: dict[str, Any]  # the ``evaluation`` attributes

    @property
    def test(self) -> str:
        return str(self.info["test"])

    @property
    def count(self) -> int:
        return self.reader.count

    @property
    def video(self) -> VideoSpec:
        return VideoSpec(**self.info["spec"]["video"])

    @property
    def has_videos(self) -> bool:
        return video_fields(self.video.frames)[0] in self.reader.layout.frame_fields

    def case(self, i: int) -> Case:
        """Case ``i`` (its parameters as recorded)."""
        group = self.info["groups"][i]
        return Case(self.test, None if group is None else float(group), float(self.info["levels"][i]),
                    int(self.info["samples"][i]), params_from_json(self.reader.params_json(i)))

    def pair(self, i: int) -> dict[str, np.ndarray]:
        """``frame_a``, ``frame_b``, ``frame_y`` and ``layer_mask`` of case ``i`` (uint8 (H, W, 3))."""
        data = self.reader.read(i, i + 1, PAIR_FIELDS + (MASK_FIELD,))
        return {k: v[0] for k, v in data.items()}

    def clip(self, i: int) -> np.ndarray:
        """The stored clip of case ``i``, uint8 (frames, H, W, 3).

        Raises:
            StoreError: the test set was written without clips.
        """
        if not self.has_videos:
            raise StoreError(f"{self.path}: written without clips; render them with render_video and the catalogue")
        data = self.reader.read(i, i + 1, video_fields(self.video.frames))
        return np.stack([data[k][0] for k in video_fields(self.video.frames)])


def open_test_set(path: str | Path) -> OpenedTestSet:
    """Open a test set written by :func:`write_test_set`.

    Raises:
        StoreNotFound: no such path.
        StoreError: not a test set, or written by an incompatible toolkit version or format.
    """
    path = Path(path)
    reader = open_shard(path)
    info = reader.attrs.get("evaluation")
    if not isinstance(info, dict) or "testset_format" not in info:
        raise StoreError(f"{path}: not an evaluation test set (no 'evaluation' attributes); write one with `mmtrain evaluate sets`")
    version = str(info.get("toolkit_version", "?"))
    if info["testset_format"] != TESTSET_FORMAT or _release(version) != _release(__version__):
        raise StoreError(
            f"{path}: test set written by toolkit {version} (test-set format {info['testset_format']}); this is "
            f"{__version__} (format {TESTSET_FORMAT}), which cannot read it; regenerate it with `mmtrain evaluate sets`"
        )
    return OpenedTestSet(path, reader, info)
