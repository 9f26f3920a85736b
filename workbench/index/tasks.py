"""The work units of an index build and where they run.

A task is a pure function of one block (:class:`~workbench.index.grid.BlockSpec`) or
of a few neighbouring blocks described together
(:class:`~workbench.index.groups.BlockGroup`): it opens its own dataset (rasterio
handles cannot be shared between threads or processes), reads the blocks' window,
describes it and returns small arrays (a vocabulary sample block may also return its
full features, to be quantised later instead of described again); the same spec
always gives the same result.
:class:`LocalExecutor` runs tasks on threads of this process;
:mod:`workbench.index.distributed` runs the same tasks on a Dask cluster.  Either
way the builder writes and journals chunks itself, in order, so whatever finished
survives a killed worker or builder.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from workbench.index.grid import BlockFeatures, BlockSpec, describe_block
from workbench.index.groups import BlockGroup, describe_group
from workbench.index.vocab import quantise


@dataclass
class BlockResult:
    """A described, quantised block: ``words`` ``(N,) uint16`` visual words, ``xy``
    ``(N, 2) uint16`` rounded working-pixel positions, ``scale`` level-0 px per
    working px."""

    words: np.ndarray
    xy: np.ndarray
    scale: float


def quantised_block(
    described: BlockFeatures, centres: np.ndarray, branch: int, depth: int
) -> BlockResult:
    """Quantise one block described already (by :func:`sample_block`): the result
    :func:`quantised_group` gives for a group of that block alone."""
    desc = described.feats.desc
    words = quantise(desc, centres, branch, depth).astype(np.uint16) if len(desc) \
        else np.zeros(0, np.uint16)
    return BlockResult(words, _xy16(described), described.scale)


def _xy16(described: BlockFeatures) -> np.ndarray:
    """A block's feature positions as stored: ``(N, 2) uint16`` rounded working px."""
    return np.clip(np.rint(described.feats.xy), 0, 65535).astype(np.uint16).reshape(-1, 2)


def quantised_group(
    group: BlockGroup, centres: np.ndarray, branch: int, depth: int
) -> list[BlockResult]:
    """Describe ``group``'s blocks together (one read, one detection; see
    :mod:`workbench.index.groups`) and quantise them: one result per block, in order
    (a pure task).  A descriptor kept by two overlapping blocks is quantised once."""
    described = describe_group(group)
    parts = [bf.feats.desc for bf in described]
    words = quantise(np.concatenate(parts), centres, branch, depth).astype(np.uint16) \
        if any(len(p) for p in parts) else np.zeros(0, np.uint16)
    out, at = [], 0
    for bf, part in zip(described, parts, strict=True):
        out.append(BlockResult(words[at:at + len(part)], _xy16(bf), bf.scale))
        at += len(part)
    return out


@dataclass
class SampledBlock:
    """A block described for the vocabulary: ``sample``, at most ``per_block`` of its
    RootSIFT descriptors ``(N, 128) float32``, and ``described``, all its features when
    asked for (the builder quantises them once the vocabulary exists instead of
    describing the block again), else ``None``."""

    sample: np.ndarray
    described: BlockFeatures | None


def sample_block(spec: BlockSpec, per_block: int, keep: bool) -> SampledBlock:
    """Describe the block; its sample is a random subset of the descriptors seeded by
    the raster's file name and the block's window (not the folder: the same imagery
    gives the same index wherever it is kept); ``keep``: return all its features too
    (a pure task)."""
    described = describe_block(spec)
    desc = described.feats.desc
    if len(desc) > per_block:
        seed = zlib.crc32(repr((Path(spec.tile.path).name, spec.window, spec.level_m)).encode())
        desc = desc[np.sort(np.random.default_rng(seed).choice(len(desc), per_block,
                                                                replace=False))]
    return SampledBlock(desc, described if keep else None)


@dataclass
class Finished:
    """A :class:`Pending` with nothing left to run (no task was needed)."""

    results: list[Any]

    def result(self) -> list[Any]:
        return self.results


class Pending(Protocol):
    """Tasks submitted together; :meth:`result` waits for all, in submission order."""

    def result(self) -> list[Any]: ...


class BlockExecutor(Protocol):
    """Where tasks run: ``submit(fn, specs, *args)`` calls ``fn(spec, *args)`` per spec
    (a :class:`BlockSpec` or a :class:`BlockGroup`)."""

    def submit(
        self, fn: Callable[..., Any], specs: Sequence[BlockSpec | BlockGroup], *args: Any
    ) -> Pending:
        ...

    def broadcast(self, value: Any) -> Any:
        """``value`` made available to every task cheaply (e.g. the vocabulary)."""
        ...


@dataclass
class _Lazy:
    fn: Callable[..., Any]
    specs: Sequence[BlockSpec | BlockGroup]
    args: tuple[Any, ...]

    def result(self) -> list[Any]:
        return [self.fn(s, *self.args) for s in self.specs]


@dataclass
class _Futures:
    futures: list[Future[Any]]

    def result(self) -> list[Any]:
        return [f.result() for f in self.futures]


class LocalExecutor:
    """Tasks on ``workers`` threads of this process (1 = in the calling thread, lazily)."""

    def __init__(self, workers: int = 1) -> None:
        self.workers = max(1, int(workers))
        self._pool = ThreadPoolExecutor(self.workers) if self.workers > 1 else None

    def submit(
        self, fn: Callable[..., Any], specs: Sequence[BlockSpec | BlockGroup], *args: Any
    ) -> Pending:
        """Start the tasks (threads) or defer them to :meth:`Pending.result` (one worker)."""
        if self._pool is None:
            return _Lazy(fn, specs, args)
        return _Futures([self._pool.submit(fn, s, *args) for s in specs])

    def broadcast(self, value: Any) -> Any:
        """Threads share memory: the value itself."""
        return value

    def close(self) -> None:
        """Stop the threads (pending tasks finish first)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
