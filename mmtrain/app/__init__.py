"""``mmtrain app``: a local web page to find the motion in your own video and magnify it.

Open a video of a folder, draw a region, see its displacement waveform and amplitude spectrum
(:mod:`mmtrain.analysis`), click a peak to set the temporal band, preview magnified frames beside the
input and export the clip (:mod:`mmtrain.magnify`). Served on loopback by default.

* :mod:`~mmtrain.app.server` — the Flask application: the page and its JSON API;
* :mod:`~mmtrain.app.cli` — ``mmtrain app``.
"""

from __future__ import annotations

from mmdata.lazy import lazy_exports

#: Where each public name is defined; imported on first use (PEP 562): Flask loads only for the app.
_EXPORTS = {
    "mmtrain.app.server": ["AppError", "MAX_PREVIEW_FRAMES", "create_app"],
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = [name for names in _EXPORTS.values() for name in names]
