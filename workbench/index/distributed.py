"""Index builds on a Dask cluster (the optional ``scale`` extra: ``pip install -e ".[scale]"``).

:class:`DaskExecutor` runs the builder's pure block tasks
(:mod:`workbench.index.tasks`) on Dask workers: a ``LocalCluster`` of ``workers``
processes on this machine by default, or an existing cluster given as
``tcp://HOST:PORT``.  Each task opens its own dataset by path, so every worker must
see the rasters at the same paths (a shared file system).  The builder gathers
results chunk by chunk and journals each chunk itself: a worker killed mid-build
only loses tasks in flight, which Dask runs again elsewhere; a killed builder resumes
from its journal.  No job system of our own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from workbench.errors import UsageError
from workbench.index.grid import BlockSpec
from workbench.index.groups import BlockGroup


def require() -> None:
    """Raise :class:`UsageError` naming the extra when Dask's distributed is missing."""
    try:
        import distributed  # noqa: F401  (optional heavy dependency: the "scale" extra)
    except ImportError as exc:
        raise UsageError("distributed indexing needs the 'scale' extra"
                         ' (pip install -e ".[scale]")') from exc


@dataclass
class _Gathered:
    client: Any
    futures: list[Any]

    def result(self) -> list[Any]:
        return list(self.client.gather(self.futures))


class DaskExecutor:
    """A :class:`~workbench.index.tasks.BlockExecutor` on Dask (use as a context manager).

    ``scheduler``: ``tcp://HOST:PORT`` of a running scheduler, or ``None`` for a
    ``LocalCluster`` of ``workers`` single-threaded worker processes on this machine.
    """

    def __init__(self, scheduler: str | None = None, workers: int = 2) -> None:
        require()
        # optional heavy dependency (the "scale" extra): imported only when used
        from distributed import Client, LocalCluster

        self._cluster: Any = None
        try:
            if scheduler:
                self.client = Client(scheduler, timeout="20s")
            else:
                self._cluster = LocalCluster(n_workers=max(1, workers), threads_per_worker=1,
                                             processes=True, dashboard_address=None)
                self.client = Client(self._cluster)
        except OSError as exc:
            raise UsageError(f"cannot reach the Dask scheduler {scheduler!r} ({exc})") from exc

    def submit(
        self, fn: Callable[..., Any], specs: Sequence[BlockSpec | BlockGroup], *args: Any
    ) -> _Gathered:
        """One task per spec (pure: the same spec and arguments share a key)."""
        n = len(specs)
        futures = self.client.map(fn, list(specs), *[[a] * n for a in args], pure=True)
        return _Gathered(self.client, futures)

    def broadcast(self, value: Any) -> Any:
        """Scatter ``value`` to every worker once; tasks receive it by reference."""
        return self.client.scatter(value, broadcast=True, hash=True)

    def close(self) -> None:
        """Disconnect (and stop the local cluster, if this executor started one)."""
        self.client.close()
        if self._cluster is not None:
            self._cluster.close()

    def __enter__(self) -> DaskExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
