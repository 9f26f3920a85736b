"""Terminal progress for CLI commands: a tqdm bar on a TTY, nothing otherwise."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import Any

from workbench.progress import ProgressCallback


class _StageBars:
    """One tqdm bar per stage name; a new stage closes the previous bar."""

    def __init__(self) -> None:
        self.stage: str | None = None
        self.bar: Any = None

    def __call__(self, stage: str, fraction: float) -> None:
        from tqdm import tqdm

        if self.bar is None or stage != self.stage:
            self.close()
            self.stage = stage
            self.bar = tqdm(
                total=1000, desc=stage, file=sys.stderr, leave=False,
                bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed}<{remaining}",
            )
        if fraction >= 0:
            self.bar.n = int(fraction * 1000)
            self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


@contextlib.contextmanager
def terminal_progress(quiet: bool = False) -> Iterator[ProgressCallback | None]:
    """Yield a progress callback drawing tqdm bars on stderr.

    Yields ``None`` (no progress output) when ``quiet`` or stderr is not a terminal.
    """
    if quiet or not sys.stderr.isatty():
        yield None
        return
    bars = _StageBars()
    try:
        yield bars
    finally:
        bars.close()
