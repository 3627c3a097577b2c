"""Generating through an existing dask.distributed cluster: a scheduler and 2 workers, each its own process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from store_helpers import assert_same, builtin_catalogue_dir, shard_arrays, small_config, write_config

from mmdata.cli import main
from mmdata.errors import ConfigError
from mmdata.store.generate import GenerateSpec, generate_shard
from mmdata.sources import open_catalogue
from mmdata.store import shard_path

distributed = pytest.importorskip("distributed")
DASK = str(Path(sys.executable).with_name("dask"))


def _stop(procs: list[subprocess.Popen]) -> None:
    for proc in reversed(procs):  # workers first, then the scheduler
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _start_cluster(tmp_path: Path, procs: list[subprocess.Popen]) -> str:
    """`dask scheduler` + `dask worker --nworkers 2` as subprocesses (as on a cluster); the scheduler's address."""
    sched_file = tmp_path / "scheduler.json"
    log = open(tmp_path / "dask.log", "w")
    procs.append(subprocess.Popen([DASK, "scheduler", "--scheduler-file", str(sched_file), "--host", "127.0.0.1", "--port", "0", "--no-dashboard"], stdout=log, stderr=log))
    deadline = time.monotonic() + 120
    while not sched_file.is_file():
        assert procs[0].poll() is None and time.monotonic() < deadline, (tmp_path / "dask.log").read_text()
        time.sleep(0.1)
    procs.append(
        subprocess.Popen(
            [DASK, "worker", "--scheduler-file", str(sched_file), "--nworkers", "2", "--nthreads", "1", "--no-dashboard", "--local-directory", str(tmp_path / "workers")],
            stdout=log, stderr=log,
        )
    )
    time.sleep(0.5)  # the file may be visible before its content is complete
    return json.loads(sched_file.read_text())["address"]


def test_cli_generate_through_a_scheduler_gives_the_single_process_bytes(tmp_path, tmp_path_factory):
    catalogue_dir = builtin_catalogue_dir(tmp_path_factory)
    cfg = small_config(dataset={"shard_size": 4})
    single = shard_arrays(generate_shard(GenerateSpec.from_config(cfg), open_catalogue(catalogue_dir), tmp_path / "single", 1, 1, workers=1))
    procs: list[subprocess.Popen] = []
    try:
        address = _start_cluster(tmp_path, procs)
        with distributed.Client(address) as client:
            client.wait_for_workers(2, timeout=120)
            pids = set(client.run(os.getpid).values())
            scheduler_pid = client.run_on_scheduler(os.getpid)
        assert len(pids) == 2 and not pids & {os.getpid(), scheduler_pid}  # three processes besides this one
        root = tmp_path / "cluster"
        args = ["-q", "generate", "--config", str(write_config(tmp_path / "c.yaml", cfg)), "--catalogue", str(catalogue_dir),
                "--part", "1", "--shard", "1", "--root", str(root), "--scheduler", address]
        assert main(args) == 0
    finally:
        _stop(procs)
    assert_same(shard_arrays(shard_path(root, 1, 1)), single, 0, 4)


def test_unreachable_scheduler_is_refused_before_anything_is_written(tmp_path, catalogue):
    import dask

    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        with pytest.raises(ConfigError, match="scheduler: cannot connect to the dask.distributed scheduler at tcp://127.0.0.1:1"):
            generate_shard(GenerateSpec.from_config(small_config()), catalogue, tmp_path / "ds", 1, 0, scheduler="tcp://127.0.0.1:1")
    assert not (tmp_path / "ds").exists()
