"""Stopping the helper processes a test started (an X server, a Dask scheduler and its
workers): TERM to all of them at once, then a KILL for any that has not ended in time."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence


def stop(procs: Sequence[subprocess.Popen[bytes]], timeout: float = 10.0) -> None:
    """End every process of ``procs``: TERM to each, then wait up to ``timeout`` seconds
    for each and KILL it if it is still running."""
    for p in procs:
        p.terminate()
    for p in procs:
        try:
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
