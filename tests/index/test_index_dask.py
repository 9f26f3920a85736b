"""Distributed index builds on Dask (the optional ``scale`` extra): a 2-worker
LocalCluster, a scheduler started as a separate process on loopback, and a worker
killed mid-build.  Each must give the same chunks as a build in one process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("distributed")

from procs import stop
from runshare import once_per_run

from workbench.cli import main
from workbench.index import IndexConfig, IndexStore, Retriever, build_index
from workbench.index.distributed import DaskExecutor

CFG = IndexConfig(block_px=128, max_features=300, vocab_branch=8, vocab_depth=3, chunk_blocks=4)


@pytest.fixture(scope="session")
def town(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from workbench_fixtures.town import make_town_geotiff

    return once_per_run(tmp_path_factory, "dask_town", lambda d: make_town_geotiff(
        d / "town.tif", seed=5, width=1024, height=1024))


@pytest.fixture(scope="session")
def reference(town: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same index built in one process (threads), to compare against."""

    def build(folder: Path) -> Path:
        build_index([town], folder / "idx", config=CFG)
        return folder / "idx"

    return once_per_run(tmp_path_factory, "dask_reference", build)


def _same_chunks(a: Path, b: Path) -> None:
    sa, sb = IndexStore.open(a), IndexStore.open(b)
    assert sorted(c.name for c in sa.chunks) == sorted(c.name for c in sb.chunks)
    for rec in sb.chunks:
        other = next(c for c in sa.chunks if c.name == rec.name)
        mine, theirs = sa.load_chunk(other)[1], sb.load_chunk(rec)[1]
        assert np.array_equal(np.asarray(mine), np.asarray(theirs))
    assert Retriever.load(a).n_blocks == Retriever.load(b).n_blocks


def test_local_cluster_of_two_workers(town: Path, reference: Path, tmp_path: Path):
    with DaskExecutor(None, workers=2) as ex:
        assert len(ex.client.scheduler_info()["workers"]) == 2
        stats = build_index([town], tmp_path / "idx", config=CFG, executor=ex)
    assert stats.blocks_described > 0
    _same_chunks(tmp_path / "idx", reference)


def _scheduler_address(info: Path, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> str:
    """The address a scheduler started with ``--port 0 --scheduler-file info`` listens on
    (it picks a free port itself, so parallel test workers never race for one)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the scheduler exited ({proc.returncode})")
        try:
            return str(json.loads(info.read_text())["address"])
        except (OSError, ValueError, KeyError):
            time.sleep(0.2)
    raise AssertionError("the scheduler never wrote its address")


def test_separate_scheduler_process_and_a_killed_worker(town: Path, reference: Path,
                                                        tmp_path: Path):
    info = tmp_path / "scheduler.json"
    procs = [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler",
                               "--host", "127.0.0.1", "--port", "0",
                               "--scheduler-file", str(info), "--dashboard-address", ":0"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        addr = _scheduler_address(info, procs[0])
        for _ in range(2):
            procs.append(subprocess.Popen(
                # no nanny: the killed worker must stay dead (and two fewer processes start)
                [sys.executable, "-m", "distributed.cli.dask_worker", addr, "--nworkers", "1",
                 "--nthreads", "1", "--no-dashboard", "--no-nanny"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        idx = tmp_path / "idx"
        with DaskExecutor(addr) as ex:
            ex.client.wait_for_workers(2, timeout=60)
            pids = list(ex.client.run(os.getpid).values())
            victim = pids[0]

            def kill_one(stage: str, fraction: float) -> None:
                # once the first chunks are journalled, kill a worker process
                nonlocal victim
                if victim and stage.startswith("indexing") and fraction > 0.2:
                    os.kill(victim, signal.SIGKILL)
                    victim = 0

            stats = build_index([town], idx, config=CFG, executor=ex, progress=kill_one)
        assert victim == 0, "the worker was never killed"
        assert stats.blocks_described > 0
        _same_chunks(idx, reference)
        # the CLI reaches the same scheduler: adding the same raster again does nothing
        assert main(["-q", "index", str(town), "--out", str(idx), "--scheduler", addr]) == 0
    finally:
        # the workers first, while the scheduler still answers: a worker whose scheduler is
        # already gone retries it on its way out (about 20 s instead of a fraction of one)
        stop(procs[1:], timeout=20)
        stop(procs[:1], timeout=20)
