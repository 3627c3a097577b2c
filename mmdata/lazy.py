"""Lazy package exports (PEP 562): a package's public names are imported when first used.

A package ``__init__`` that re-exports the names of all its modules would otherwise import every one
of them, and their dependencies, as soon as any single module is imported: ``mmtrain magnify`` then
paid for plotting, image-metric and pyramid libraries it never calls (about 100 MiB of resident
memory and seconds of start-up).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from typing import Any, Callable


def lazy_exports(package: str, exports: dict[str, list[str]]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The module-level ``__getattr__`` and ``__dir__`` of ``package``.

    Args:
        package: the package's ``__name__``.
        exports: module name -> the public names it defines; a name whose module is the package's
            own submodule of that name (``{"mmtrain.magnify.api": ["api"]}`` in ``mmtrain.magnify``) is
            that submodule itself.

    Returns:
        ``(__getattr__, __dir__)``: the first imports a name's module on first access and caches the
        name in the package; any other name that is a submodule of the package is that submodule
        (``mmtrain.video.io`` after ``import mmtrain``), as when the package imported it eagerly;
        an unknown name raises :class:`AttributeError` as usual.
    """
    owner = {name: module for module, names in exports.items() for name in names}

    def __getattr__(name: str) -> Any:
        module = owner.get(name)
        if module is None:
            if name.startswith("__") or importlib.util.find_spec(f"{package}.{name}") is None:
                raise AttributeError(f"module {package!r} has no attribute {name!r}")
            module = f"{package}.{name}"
        imported = importlib.import_module(module)
        value = imported if module == f"{package}.{name}" else getattr(imported, name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(owner))

    return __getattr__, __dir__


__all__ = ["lazy_exports"]
