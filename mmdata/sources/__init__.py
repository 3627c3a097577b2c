"""Source catalogues: COCO backgrounds, a PASCAL VOC object bank, and the built-in demo source.

Build a catalogue folder once with :func:`build_catalogue` (or ``mmdata sources build``), then open
it anywhere (worker processes included) with :func:`open_catalogue`; the renderer reads it through
the :class:`Catalogue` protocol.
"""

from __future__ import annotations

from mmdata.lazy import lazy_exports

#: Where each public name is defined; imported on first use (PEP 562): the catalogue's arrays (zarr)
#: and the source builders load only for the command that uses them.
_EXPORTS = {
    "mmdata.sources.base": ["Catalogue", "InMemoryCatalogue", "background_shape", "object_shape"],
    "mmdata.sources.build": ["build_catalogue", "resolve_sources_config"],
    "mmdata.sources.catalogue": ["StoredCatalogue", "open_catalogue"],
    "mmdata.sources.paths": ["contained_file"],
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = [
    "Catalogue",
    "InMemoryCatalogue",
    "StoredCatalogue",
    "background_shape",
    "build_catalogue",
    "contained_file",
    "object_shape",
    "open_catalogue",
    "resolve_sources_config",
]
