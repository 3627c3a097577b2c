"""The paper's quantitative evaluation (section 4.1, Fig. 8, Table A.2).

* :mod:`~mmtrain.evaluate.cases` — the tests, their levels and scenes (:class:`EvalSpec`, :func:`build_cases`);
* :mod:`~mmtrain.evaluate.sets` — test sets rendered into the store (pairs, ground truth, clips);
* :mod:`~mmtrain.evaluate.baselines` — the phase-based (Wadhwa et al. 2013) and linear Eulerian methods;
* :mod:`~mmtrain.evaluate.methods` — every scored method behind one interface (oracle, do-nothing, baselines, networks);
* :mod:`~mmtrain.evaluate.layers` — the layer masks the magnification accuracy is measured in;
* :mod:`~mmtrain.evaluate.metrics` — SSIM variants, PSNR, RMSE, magnification accuracy;
* :mod:`~mmtrain.evaluate.scoring` — every metric per case and per level (:class:`Results`), shards merged;
* :mod:`~mmtrain.evaluate.claims` — the paper's claims decided on the measured table;
* :mod:`~mmtrain.evaluate.report` — CSV/JSON tables, ``summary.md`` and Fig. 8-style plots;
* :mod:`~mmtrain.evaluate.cli` — ``mmtrain evaluate sets`` and ``mmtrain evaluate run``.
"""

from __future__ import annotations

from mmtrain.evaluate.cases import (
    TEST_NAMES,
    VideoSpec,
    EvalSpec,
    Case,
    NOISE_SCALES,
    noise_std_of_factor,
    build_cases,
)
from mmtrain.evaluate.sets import (
    TESTSET_FORMAT,
    PAIR_FIELDS,
    MASK_FIELD,
    shard_name,
    shard_cases,
    video_fields,
    render_video,
    write_test_set,
    open_test_set,
    OpenedTestSet,
)
from mmtrain.evaluate.baselines import (
    PhaseBasedConfig,
    fir_bandpass,
    fir_transfer,
    phase_based_magnify,
    linear_magnify,
)
from mmtrain.evaluate.methods import (
    Method,
    Oracle,
    DoNothing,
    ClipMethod,
    PhaseBased,
    LinearEulerian,
    NetworkMethod,
    BUILTIN_METHODS,
    BACKENDS,
    make_builtin,
    load_network,
    to_uint8,
)
from mmtrain.evaluate.layers import LAYERS, CoverageCatalogue, layer_masks
from mmtrain.evaluate.metrics import (
    SSIM_VARIANTS,
    IMAGE_METRICS,
    ssim_gaussian11,
    ssim_uniform7,
    psnr,
    rmse,
    image_metrics,
    magnification_ratio,
)
from mmtrain.evaluate.claims import Claim, check_claims
from mmtrain.evaluate.scoring import (
    ssim,
    METRICS,
    score_case,
    CaseScore,
    Results,
    evaluate_test_sets,
)
from mmtrain.evaluate.report import (
    write_results,
    plot_results,
    group_label,
)

__all__ = [
    "TEST_NAMES",
    "VideoSpec",
    "EvalSpec",
    "Case",
    "NOISE_SCALES",
    "noise_std_of_factor",
    "build_cases",
    "TESTSET_FORMAT",
    "PAIR_FIELDS",
    "MASK_FIELD",
    "shard_name",
    "shard_cases",
    "LAYERS",
    "CoverageCatalogue",
    "layer_masks",
    "SSIM_VARIANTS",
    "IMAGE_METRICS",
    "ssim_gaussian11",
    "ssim_uniform7",
    "psnr",
    "rmse",
    "image_metrics",
    "magnification_ratio",
    "Claim",
    "check_claims",
    "METRICS",
    "score_case",
    "video_fields",
    "render_video",
    "write_test_set",
    "open_test_set",
    "OpenedTestSet",
    "PhaseBasedConfig",
    "fir_bandpass",
    "fir_transfer",
    "phase_based_magnify",
    "linear_magnify",
    "Method",
    "Oracle",
    "DoNothing",
    "ClipMethod",
    "PhaseBased",
    "LinearEulerian",
    "NetworkMethod",
    "BUILTIN_METHODS",
    "BACKENDS",
    "make_builtin",
    "load_network",
    "to_uint8",
    "ssim",
    "CaseScore",
    "Results",
    "evaluate_test_sets",
    "write_results",
    "plot_results",
    "group_label",
]
