"""A shard store opens in xarray with named dimensions (zarr v3 ``dimension_names``)."""

from __future__ import annotations

import numpy as np
import pytest
from store_helpers import builtin_catalogue_dir, small_config

from mmdata.sources import open_catalogue
from mmdata.store import open_shard
from mmdata.store.generate import GenerateSpec, generate_shard

xr = pytest.importorskip("xarray")


def test_open_zarr_reads_a_shard_with_named_dimensions(tmp_path, tmp_path_factory) -> None:
    catalogue = open_catalogue(builtin_catalogue_dir(tmp_path_factory))
    path = generate_shard(GenerateSpec.from_config(small_config(dataset={"shard_size": 4})), catalogue, tmp_path, 1, 0, workers=1)
    ds = xr.open_zarr(path, consolidated=False)
    assert ds["frame_a"].dims == ("sample", "y", "x", "channel")
    assert ds["motion"].dims == ("sample", "layer", "axis")
    assert ds["alpha"].dims == ("sample",)
    assert ds.sizes["sample"] == 4 and ds.sizes["y"] == ds.sizes["x"] == 32
    stored = open_shard(path).read(0, 4)
    for name in ("frame_a", "frame_y_perturbed", "alpha", "motion"):
        np.testing.assert_array_equal(ds[name].values, stored[name], err_msg=name)
