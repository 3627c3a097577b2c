"""Source catalogues: COCO backgrounds, a PASCAL VOC object bank, and the built-in demo source."""

from mmdata.sources.base import Catalogue, InMemoryCatalogue

__all__ = ["Catalogue", "InMemoryCatalogue"]
