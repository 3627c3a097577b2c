"""Other dataset layouts: the authors' released folder layout (``frameA/``, ``frameB/``, ``frameC/``,
``amplified/``, ``meta/``), exported from and imported into our store.
"""

from __future__ import annotations

from mmdata.formats.official import (
    FOLDERS,
    export_official,
    import_official,
)

__all__ = [
    "FOLDERS",
    "export_official",
    "import_official",
]
