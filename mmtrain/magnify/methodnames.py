"""The one spelling of each magnification method, shared by ``mmtrain magnify``, ``mmtrain evaluate``,
the config and the Python API (a light module: no torch).

``phase_based`` is canonical (the config's ``evaluate.phase_based`` section, result tables, Python names);
``phase-based``, the spelling ``mmtrain magnify`` used before, is accepted with a deprecation warning.
"""

from __future__ import annotations

import logging

__all__ = ["METHODS", "DEPRECATED_METHODS", "canonical_method"]

log = logging.getLogger(__name__)

#: The network, and the classical methods (:mod:`mmtrain.classical.phase`, :mod:`mmtrain.classical.linear`).
METHODS: tuple[str, ...] = ("network", "phase_based", "linear")
#: Old spellings still accepted (with a deprecation warning), old -> canonical.
DEPRECATED_METHODS: dict[str, str] = {"phase-based": "phase_based"}


def canonical_method(name: str) -> str:
    """The canonical spelling of a method name (``phase-based`` -> ``phase_based``, with a deprecation warning).

    One spelling serves ``mmtrain magnify --method``, ``mmtrain evaluate``, the config and the Python API;
    an unknown name is returned as it is (the caller names the choices).
    """
    if name in DEPRECATED_METHODS:
        log.warning("method %r is deprecated; use %r", name, DEPRECATED_METHODS[name])
        return DEPRECATED_METHODS[name]
    return name
