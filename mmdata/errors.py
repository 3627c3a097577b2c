"""One error hierarchy for the whole toolkit.

Every class also inherits the matching built-in exception, so callers can catch either
(``except ConfigError`` or ``except ValueError``). Messages name the path or key involved and
what was expected. The CLIs turn any :class:`MotionMagError` into one line on stderr and exit 2.
"""

from __future__ import annotations

__all__ = [
    "MotionMagError",
    "ConfigError",
    "SourceError",
    "SourceNotFound",
    "SourceTooLarge",
    "StoreError",
    "StoreNotFound",
    "IntegrityError",
    "CheckpointError",
    "VideoError",
    "DownloadError",
]


class MotionMagError(Exception):
    """Base class of every error this toolkit raises on purpose."""


class ConfigError(MotionMagError, ValueError):
    """A configuration value is missing, of the wrong type or out of range (the key is named)."""


class SourceError(MotionMagError, ValueError):
    """A source dataset (COCO, VOC, built-in) is malformed."""


class SourceNotFound(SourceError, FileNotFoundError):
    """A source folder or file does not exist."""


class SourceTooLarge(SourceError):
    """A source image or annotation declares more pixels than the configured bound (checked before decoding)."""


class StoreError(MotionMagError, ValueError):
    """A Zarr store is malformed, foreign or from an incompatible version."""


class StoreNotFound(StoreError, FileNotFoundError):
    """A store or shard that should exist does not."""


class IntegrityError(StoreError):
    """Stored bytes do not match their checksum or their re-rendered provenance."""


class CheckpointError(MotionMagError, ValueError):
    """A checkpoint is corrupt, foreign or incompatible with the requested model."""


class VideoError(MotionMagError, ValueError):
    """A video cannot be read or written (not a video, no frames, unsupported codec, ...)."""


class DownloadError(MotionMagError, ConnectionError):
    """A download failed: the server cannot be reached, answered with an error, or sent the wrong bytes."""
