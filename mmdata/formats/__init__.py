"""Other dataset layouts: the authors' released folder layout (``frameA/``, ``frameB/``, ``frameC/``,
``amplified/``, ``meta/``), exported from and imported into our store.
"""

from __future__ import annotations

from mmdata.lazy import lazy_exports

#: Where each public name is defined; imported on first use (PEP 562): the store (zarr, dask) and the
#: image files load only when a layout is exported or imported.
_EXPORTS = {
    "mmdata.formats.official": ["FOLDERS", "export_official", "import_official"],
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = [
    "FOLDERS",
    "export_official",
    "import_official",
]
