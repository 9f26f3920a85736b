"""SHA-256 of bytes and of files: the one streamed file hasher that footage
(:mod:`workbench.video`), rasters (:mod:`workbench.imagery`), case files
(:mod:`workbench.case`) and context layers (:mod:`workbench.claim`) share.  Callers wrap
``OSError`` in their own typed, file-naming error."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable

from workbench.progress import CancelToken, check_cancel


def sha256_bytes(data: bytes) -> str:
    """SHA-256 hex digest of ``data``."""
    return hashlib.sha256(data).hexdigest()


def sha256_stream(
    path: str | os.PathLike[str],
    *,
    chunk_size: int = 1 << 20,
    progress: Callable[[float], None] | None = None,
    cancel: CancelToken | None = None,
) -> tuple[str, int]:
    """Stream a file's SHA-256 in ``chunk_size`` pieces (constant memory).

    ``progress(fraction)`` is called after each piece; ``cancel`` is checked before each.

    Returns:
        ``(hex digest, bytes read)``.

    Raises:
        OSError: the file cannot be read.  Cancelled: ``cancel`` was set.
    """
    digest = hashlib.sha256()
    total = max(1, os.path.getsize(path))
    done = 0
    buf = bytearray(max(4096, int(chunk_size)))
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as fh:
        while True:
            check_cancel(cancel)
            n = fh.readinto(buf)
            if not n:
                break
            digest.update(view[:n])
            done += n
            if progress is not None:
                progress(done / total)
    return digest.hexdigest(), done


def sha256_file(
    path: str | os.PathLike[str],
    *,
    progress: Callable[[float], None] | None = None,
    cancel: CancelToken | None = None,
) -> str:
    """A file's SHA-256 hex digest, streamed (see :func:`sha256_stream`).

    Raises:
        OSError: the file cannot be read.  Cancelled: ``cancel`` was set.
    """
    return sha256_stream(path, progress=progress, cancel=cancel)[0]
