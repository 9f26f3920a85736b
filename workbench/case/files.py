"""A case file on disk: the one ``.wbcase`` naming rule and what may be replaced.

``workbench case new X`` creates ``X.wbcase`` (:func:`suffixed`); every command that
takes an existing case (``case *``, ``verify``, ``report``, the desktop app's opener)
finds it with :func:`resolve_case_path`: ``X`` as given if it exists, else
``X.wbcase``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from workbench.errors import (
    CaseCorruptError,
    CaseError,
    CaseOpenError,
    OutputError,
    WorkbenchError,
    one_line,
)

CASE_SUFFIX = ".wbcase"
SQLITE_MAGIC = b"SQLite format 3\x00"


def suffixed(path: str | os.PathLike[str]) -> Path:
    """``path`` with the ``.wbcase`` suffix appended unless it has it (``strike.mp4`` ->
    ``strike.mp4.wbcase``: a swapped argument must never name the footage).  An existing
    folder is refused (``OutputError``), not turned into ``folder.wbcase`` beside it."""
    p = Path(path)
    if p.is_dir():
        raise OutputError("is a folder, not a case file name", p)
    return p if p.suffix.lower() == CASE_SUFFIX else p.with_name(p.name + CASE_SUFFIX)


def resolve_case_path(arg: str | os.PathLike[str]) -> Path:
    """The existing case file a CASE argument names: ``arg`` as given if that file exists,
    else ``arg`` + ``.wbcase`` (what ``workbench case new arg`` created) if that does.

    A folder named ``arg`` does not hide ``arg.wbcase`` beside it (``report X --out X``
    makes one); with no ``arg.wbcase`` it is returned, for the opener to refuse.

    Raises:
        CaseOpenError: neither exists (one line naming what was given).
    """
    p = Path(arg)
    if p.is_file():
        return p
    alt = p.with_name(p.name + CASE_SUFFIX) if p.name and p.suffix.lower() != CASE_SUFFIX \
        else None
    if alt is not None and alt.is_file():
        return alt
    if p.exists():
        return p
    also = f" (nor {alt.name})" if alt is not None else ""
    raise CaseOpenError(f"case file not found{also}", p)


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
    if head != SQLITE_MAGIC:
        raise CaseError("exists and is not a case file; not replaced", target)


def unlink_quietly(*paths: Path) -> None:
    for p in paths:
        with contextlib.suppress(OSError):
            p.unlink()


# what malformed case content raises while being read (wrong JSON types, nesting too deep,
# text that does not decode); ``extra``: a caller's own (e.g. shapely's geometry errors)
CONTENT_ERRORS: tuple[type[BaseException], ...] = (
    TypeError, ValueError, KeyError, AttributeError, IndexError, RecursionError)


@contextlib.contextmanager
def content_errors(case_path: Path, doing: str,
                   extra: tuple[type[BaseException], ...] = ()) -> Iterator[None]:
    """The case file is untrusted input: content that does not decode or has the wrong
    types (non-UTF-8 text, a string where a number belongs, nesting too deep) is a
    damaged case, said in one line naming it (``CaseCorruptError``, exit 2), not an
    internal error.  ``doing``: what was being done ("gathering the report")."""
    try:
        yield
    except Exception as exc:
        # the store's database driver errors too (a text column that is not UTF-8...)
        content = isinstance(exc, CONTENT_ERRORS + extra) or any(
            c.__module__.startswith("sqlite") for c in type(exc).__mro__)
        if isinstance(exc, WorkbenchError) or not content:
            raise
        raise CaseCorruptError(f"malformed content in the case ({one_line(exc, 120)} while"
                               f" {doing}); nothing was written", case_path) from exc
