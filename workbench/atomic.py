"""Atomic file and folder writes: readers see the old state or the new, never half.

Everything is written to a temporary sibling in the same folder (same file
system), flushed and fsync'd, then moved into place with :func:`os.replace`.
Temporary names carry the writer's process id (``.NAME.wb<kind>-<pid>-<rand>``), so
what a killed run left behind is recognised and removed by the next write to the
same place (:func:`clean_stale`).  Output folders that commands share with the user
(``--out DIR``) go through :func:`workbench.outputs.output_set`, built on these.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from workbench.errors import OutputError

# mkstemp creates 0600 files; give written files the usual mode (0666 less the umask).
# The umask is read once at import (os.umask has no read-only form).
UMASK = os.umask(0o022)
os.umask(UMASK)
_FILE_MODE = 0o666 & ~UMASK


def fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


STALE_NAME = re.compile(r"^\.(?P<name>.*)\.wb(?P<kind>tmp|old|new)-(?P<pid>\d+)-\w+?(\.tmp)?$")


def temp_name(target: Path, kind: str) -> str:
    return f".{target.name}.wb{kind}-{os.getpid()}-{secrets.token_hex(4)}"


def pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True


def clean_stale(target: str | os.PathLike[str]) -> list[Path]:
    """Remove what killed writers of ``target`` left beside it; returns what was removed.

    Only names this module makes for ``target`` (``.NAME.wbtmp-PID-*`` being built,
    ``.NAME.wbnew-PID-*`` complete but not yet swapped in, ``.NAME.wbold-PID-*`` the
    previous content being swapped out) whose process is gone are touched.  A swap
    killed half-way (``target`` missing) is finished: the complete new folder is moved
    into place, else the old one is put back, so no content is lost.
    """
    t = Path(target)
    parent = t.parent if str(t.parent) else Path(".")
    try:
        names = os.listdir(parent)
    except OSError:
        return []
    found: dict[str, list[Path]] = {"tmp": [], "old": [], "new": []}
    for n in names:
        m = STALE_NAME.match(n)
        if m and m["name"] == t.name and not pid_alive(int(m["pid"])):
            found[m["kind"]].append(parent / n)
    if not any(found.values()):
        return []
    if not os.path.lexists(t):
        for cand in (*sorted(found["new"]), *sorted(found["old"])):
            with contextlib.suppress(OSError):
                os.replace(cand, t)
                found["new" if cand in found["new"] else "old"].remove(cand)
                break
    removed = []
    for p in (*found["tmp"], *found["new"], *found["old"]):
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                p.unlink()
        removed.append(p)
    return removed


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes, *,
                       private: bool = False) -> Path:
    """Write ``data`` to ``path`` atomically; raise :class:`OutputError` on failure.
    ``private``: the file is mode 0600 from its creation on (a private key), else the
    usual readable mode (0666 less the umask)."""
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        # (no clean_stale here: it lists the folder, and caches write thousands of files)
        fd, tmp = tempfile.mkstemp(prefix=temp_name(target, "tmp"), suffix=".tmp",
                                   dir=target.parent)
    except OSError as exc:
        raise OutputError(f"cannot write here ({exc.strerror or exc})", target.parent) from exc
    try:
        with os.fdopen(fd, "wb") as fh:
            if not private:  # mkstemp creates the file 0600
                os.fchmod(fh.fileno(), _FILE_MODE)
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise OutputError(f"cannot write file ({exc.strerror or exc})", target) from exc
    fsync_dir(target.parent)
    return target


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically (see :func:`atomic_write_bytes`)."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def clean_stale_in(folder: str | os.PathLike[str]) -> list[Path]:
    """Remove every temporary file or folder this module made in ``folder`` for any
    target, whose writer was killed (see :func:`clean_stale`); returns what was removed.
    For a writer resuming in a folder of its own (e.g. a region index's chunks)."""
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    removed: list[Path] = []
    for target in sorted({m["name"] for n in names if (m := STALE_NAME.match(n))}):
        removed += clean_stale(Path(folder) / target)
    return removed


@contextlib.contextmanager
def scratch_dir(target: str | os.PathLike[str]) -> Iterator[Path]:
    """A scratch folder beside ``target`` for work that ends in ``target`` (e.g. the locate
    run inside ``workbench case new``), removed afterwards; named so that
    :func:`clean_stale` removes it after a kill, and stale ones of killed runs for the
    same ``target`` are removed first."""
    t = Path(target)
    clean_stale(t)
    try:
        ctx = tempfile.TemporaryDirectory(prefix=temp_name(t, "tmp"), dir=t.parent or ".")
    except OSError as exc:
        raise OutputError(f"cannot write here ({exc.strerror or exc})", t.parent) from exc
    with ctx as d:
        yield Path(d)


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Build a folder's content in a temporary sibling, then swap it into place.

    Yields the temporary folder to fill.  On normal exit an existing ``path`` is
    replaced as a whole (old moved aside, new renamed in, old removed); on an
    exception the temporary folder is removed and ``path`` is untouched.
    """
    target = Path(path)
    if not target.name or target.name in (".", ".."):
        raise OutputError("cannot replace this folder as a whole (name it, not '.')", target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        clean_stale(target)
        tmp = target.with_name(temp_name(target, "tmp"))
        tmp.mkdir()
    except OSError as exc:
        raise OutputError(f"cannot write here ({exc.strerror or exc})", target.parent) from exc
    with contextlib.suppress(OSError):
        tmp.chmod(0o777 & ~UMASK)
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    swap_in(tmp, target)


def swap_in(tmp: Path, target: Path) -> None:
    """Move the complete folder ``tmp`` to ``target``, replacing it whole.  A kill at any
    point leaves either state, or names :func:`clean_stale` finishes the swap from."""
    old: Path | None = None
    try:
        new = target.with_name(temp_name(target, "new"))
        os.replace(tmp, new)  # complete: from here on the next run rolls it forward
        tmp = new
        if os.path.lexists(target):
            old = target.with_name(temp_name(target, "old"))
            os.replace(target, old)
        os.replace(tmp, target)
    except OSError as exc:
        if old is not None and not os.path.lexists(target):
            os.replace(old, target)
            old = None
        shutil.rmtree(tmp, ignore_errors=True)
        raise OutputError(f"cannot replace folder ({exc.strerror or exc})", target) from exc
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    fsync_dir(target.parent)


def check_writable_dir(path: str | os.PathLike[str]) -> Path:
    """Create ``path`` if needed and check we may write in it, before long work starts.

    Raises:
        OutputError: naming ``path`` if it is a file, or cannot be created or written.
    """
    target = Path(path)
    if target.exists() and not target.is_dir():
        raise OutputError("exists and is not a folder", target)
    try:
        target.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".write-test.", dir=target)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise OutputError(f"cannot write to this folder ({exc.strerror or exc})", target) from exc
    return target


# --- output sets: --out folders shared with the user ----------------------------------
