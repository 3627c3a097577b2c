"""Generating through an existing dask.distributed cluster (scheduler + 2 worker processes)."""

from __future__ import annotations

import os

import pytest
from store_helpers import assert_same, shard_arrays, small_config

from mmdata.generate import generate_shard

distributed = pytest.importorskip("distributed")


def test_distributed_cluster_gives_the_single_process_bytes(tmp_path, catalogue):
    cfg = small_config()
    single = shard_arrays(generate_shard(cfg, catalogue, tmp_path / "single", 1, 1, workers=1))
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            pids = set(client.run(os.getpid).values())
        assert len(pids) == 2 and os.getpid() not in pids  # two worker processes besides this one
        path = generate_shard(cfg, catalogue, tmp_path / "cluster", 1, 1, scheduler=cluster.scheduler_address)
        assert {"render", "write"} <= set(cluster.scheduler.task_prefixes)  # the work went through the scheduler
    assert_same(shard_arrays(path), single, 0, 8)


def test_unreachable_scheduler_is_refused_before_anything_is_written(tmp_path, catalogue):
    import dask

    from mmdata.errors import ConfigError

    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        with pytest.raises(ConfigError, match="scheduler: cannot connect to the dask.distributed scheduler at tcp://127.0.0.1:1"):
            generate_shard(small_config(), catalogue, tmp_path / "ds", 1, 0, scheduler="tcp://127.0.0.1:1")
    assert not (tmp_path / "ds").exists()
