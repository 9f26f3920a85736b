"""SHA-256 of bytes and of files: the one streamed file hasher that footage, rasters, case
files, context layers and ``verify`` share (:func:`sha256_file`).

A caller that wants its own typed, file-naming error passes ``error`` (e.g.
``VideoOpenError``, ``RasterOpenError``); without it an unreadable file raises ``OSError``.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

from workbench.errors import WorkbenchError
from workbench.progress import CancelToken, ProgressCallback, check_cancel, report


def sha256_bytes(data: bytes) -> str:
    """SHA-256 hex digest of ``data``."""
    return hashlib.sha256(data).hexdigest()


def sha256_reader(read: Callable[[int], bytes], *, chunk_size: int = 1 << 20) -> str:
    """SHA-256 hex digest of everything ``read(n)`` returns until it returns ``b""`` (a
    file object's or an SQLite blob's ``read``), in constant memory."""
    h = hashlib.sha256()
    while chunk := read(chunk_size):
        h.update(chunk)
    return h.hexdigest()


def sha256_file(
    path: str | os.PathLike[str],
    *,
    chunk_size: int = 1 << 20,
    progress: ProgressCallback | None = None,
    stage: str = "hashing",
    cancel: CancelToken | None = None,
    error: Callable[[str, Path], WorkbenchError] | None = None,
) -> tuple[str, int]:
    """Stream a file's SHA-256 in ``chunk_size`` pieces (constant memory); the value
    matches ``sha256sum FILE``.

    ``progress(stage, fraction)`` is called after each piece; ``cancel`` is checked
    before each.

    Returns:
        ``(hex digest, bytes read)``.

    Raises:
        OSError: the file cannot be read (``error("cannot read file (...)", path)``
            instead when ``error`` is given).
        Cancelled: ``cancel`` was set.
    """
    p = Path(path)
    digest = hashlib.sha256()
    done = 0
    buf = bytearray(max(4096, int(chunk_size)))
    view = memoryview(buf)
    try:
        total = max(1, os.path.getsize(p))
        with open(p, "rb", buffering=0) as fh:
            while True:
                check_cancel(cancel)
                n = fh.readinto(buf)
                if not n:
                    break
                digest.update(view[:n])
                done += n
                report(progress, stage, done / total)
    except OSError as exc:
        if error is None:
            raise
        raise error(f"cannot read file ({exc.strerror or exc})", p) from exc
    return digest.hexdigest(), done

