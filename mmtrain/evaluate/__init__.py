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

from mmdata.lazy import lazy_exports

#: Where each public name is defined; imported on first use (PEP 562), so that importing one
#: module of this package does not import all the others and their dependencies.
_EXPORTS = {
    "mmtrain.evaluate.cases": [
        "TEST_NAMES", "VideoSpec", "EvalSpec", "Case", "NOISE_SCALES", "noise_std_of_factor", "build_cases",
    ],
    "mmtrain.evaluate.sets": [
        "TESTSET_FORMAT", "PAIR_FIELDS", "MASK_FIELD", "shard_name", "shard_cases", "video_fields",
        "render_video", "write_test_set", "open_test_set", "OpenedTestSet",
    ],
    "mmtrain.evaluate.baselines": [
        "PhaseBasedConfig", "fir_bandpass", "fir_transfer", "phase_based_magnify", "linear_magnify",
    ],
    "mmtrain.evaluate.methods": [
        "Method", "Oracle", "DoNothing", "ClipMethod", "PhaseBased", "LinearEulerian", "NetworkMethod",
        "BUILTIN_METHODS", "BACKENDS", "make_builtin", "load_network", "to_uint8",
    ],
    "mmtrain.evaluate.layers": ["LAYERS", "CoverageCatalogue", "layer_masks"],
    "mmtrain.evaluate.metrics": [
        "SSIM_VARIANTS", "IMAGE_METRICS", "ssim_gaussian11", "ssim_uniform7", "psnr", "rmse", "image_metrics",
        "magnification_ratio",
    ],
    "mmtrain.evaluate.claims": ["Claim", "check_claims"],
    "mmtrain.evaluate.scoring": ["ssim", "METRICS", "score_case", "CaseScore", "Results", "evaluate_test_sets"],
    "mmtrain.evaluate.report": ["write_results", "plot_results", "group_label"],
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = [name for names in _EXPORTS.values() for name in names]
