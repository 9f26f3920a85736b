"""A case file on disk: its name, what may be replaced, open-error mapping, crash recovery.

Helpers of :mod:`workbench.case` (kept apart for module size).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path

from workbench.case.schema import connect
from workbench.errors import CaseCorruptError, CaseError, CaseOpenError, OutputError

CASE_SUFFIX = ".wbcase"


def suffixed(path: str | os.PathLike[str]) -> Path:
    """``path`` with the ``.wbcase`` suffix appended unless it has it (``strike.mp4`` ->
    ``strike.mp4.wbcase``: a swapped argument must never name the footage).  An existing
    folder is refused (``OutputError``), not turned into ``folder.wbcase`` beside it."""
    p = Path(path)
    if p.is_dir():
        raise OutputError("is a folder, not a case file name", p)
    return p if p.suffix.lower() == CASE_SUFFIX else p.with_name(p.name + CASE_SUFFIX)


def check_target(target: Path, overwrite: bool) -> None:
    """Refuse a case path that is a folder, exists (unless ``overwrite``), or exists and
    is not an SQLite file (``overwrite`` replaces case files only, never evidence)."""
    if target.is_dir():
        raise OutputError("is a folder, not a case file name", target)
    if not target.exists():
        return
    if not overwrite:
        raise CaseError("a case file already exists here (choose another name)", target)
    try:
        with open(target, "rb") as fh:
            head = fh.read(16)
    except OSError as exc:
        raise OutputError(f"cannot read the existing file ({exc.strerror or exc})",
                          target) from exc
    if head != b"SQLite format 3\x00":
        raise CaseError("exists and is not a case file; not replaced", target)


def unlink_quietly(*paths: Path) -> None:
    for p in paths:
        with contextlib.suppress(OSError):
            p.unlink()


def recover(path: Path) -> None:
    """Let SQLite roll back a hot journal (a read-only connection cannot)."""
    with contextlib.suppress(sqlite3.Error):
        conn = connect(path)
        try:
            conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        finally:
            conn.close()


def first_problem(check: str, limit: int = 120) -> str:
    """The first finding of ``PRAGMA quick_check`` (which can list hundreds), shortened."""
    lines = [ln.strip() for ln in str(check).splitlines()
             if ln.strip() and not ln.strip().startswith("***")]
    first = lines[0] if lines else " ".join(str(check).split())
    first = first if len(first) <= limit else first[: limit - 3] + "..."
    more = len(lines) - 1
    return f"{first}; {more} more problem(s)" if more > 0 else first


def open_error(exc: sqlite3.Error, path: Path) -> CaseError:
    """Map an SQLite error while opening to a typed, one-line case error."""
    text = str(exc)
    if isinstance(exc, sqlite3.OperationalError) and any(
            w in text for w in ("locked", "busy", "unable to open", "readonly", "read-only")):
        return CaseOpenError(f"cannot open case file ({text})", path)
    if isinstance(exc, sqlite3.DatabaseError):
        return CaseCorruptError(f"damaged case database ({text}); nothing was changed", path)
    return CaseOpenError(f"cannot open case file ({text})", path)
