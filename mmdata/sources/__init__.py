"""Source catalogues: COCO backgrounds, a PASCAL VOC object bank, and the built-in demo source.

Build a catalogue folder once with :func:`build_catalogue` (or ``mmdata sources build``), then open
it anywhere (worker processes included) with :func:`open_catalogue`; the renderer reads it through
the :class:`Catalogue` protocol.
"""

from mmdata.sources.base import Catalogue, InMemoryCatalogue, background_shape, object_shape
from mmdata.sources.build import build_catalogue, resolve_sources_config
from mmdata.sources.catalogue import StoredCatalogue, open_catalogue
from mmdata.sources.paths import contained_file

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
