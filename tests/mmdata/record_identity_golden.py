"""Record the content digests of a tiny dataset as golden values (tests/mmdata/data/identity_golden.json).

Run once, at the commit whose digests are to be pinned:

    python tests/mmdata/record_identity_golden.py WORKDIR

It builds the built-in catalogue, renders two 4-sample shards of 32 px frames (parts 1 and 2) and
indexes them, then stores what every digest was computed from (shard attributes, the string arrays,
the manifest, the catalogue document) together with the digests the code of that commit wrote.
``test_identity.py`` recomputes them with the current code: a digest that changes would make every
existing dataset fail its audit.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import yaml

from mmdata.cli import main
from mmdata.store.integrity import ATTRS_KEY

CONFIG = {
    "seed": 3,
    "dataset": {
        "image_size": 32,
        "shard_size": 4,
        "parts": {"fg_bg": 4, "bg_only": 4, "blur_bg": 0, "static": 0, "fg_only": 0},
        "objects": {"count_min": 1, "count_max": 2},
    },
    "store": {"zarr_shard_samples": 2, "pool": "threads"},
}
OUT = Path(__file__).parent / "data" / "identity_golden.json"


def record(work: Path) -> dict:
    work.mkdir(parents=True, exist_ok=True)
    cfg, cat, root = work / "config.yaml", work / "catalogue", work / "dataset"
    cfg.write_text(yaml.safe_dump(CONFIG))
    assert main(["-q", "sources", "build", "--kind", "builtin", "-o", str(cat), "--workers", "2"]) == 0
    for part in ("1", "2"):
        assert main(["-q", "generate", "--config", str(cfg), "--catalogue", str(cat), "--part", part, "--shard", "0",
                     "--root", str(root)]) == 0
    assert main(["-q", "index", "--root", str(root)]) == 0
    import zarr

    shards = []
    for store in sorted(root.glob("part*/shard-*.zarr")):
        attrs = json.loads((store / "zarr.json").read_text())["attributes"]
        group = zarr.open_group(store, mode="r")
        strings = {name: [str(v) for v in np.asarray(group[name][:]).ravel()]
                   for name in attrs["checksums"] if np.asarray(group[name][:1]).dtype.kind in "OUT"}
        shards.append({"path": str(store.relative_to(root)), "attrs": attrs, "string_arrays": strings,
                       "attrs_sha256": attrs[ATTRS_KEY], "shard_checksum": attrs["shard_checksum"]})
    manifest = json.loads((root / "manifest.json").read_text())
    catalogue = json.loads((cat / "catalogue.json").read_text())
    return {"config": CONFIG, "shards": shards, "manifest": manifest, "catalogue": catalogue,
            "catalogue_content_sha256": manifest["catalogue_content_sha256"]}


if __name__ == "__main__":
    OUT.write_text(json.dumps(record(Path(sys.argv[1])), indent=1, sort_keys=True) + "\n")
    print(OUT)
