"""Case files: one portable SQLite file (``.wbcase``) holding a whole investigation.

A case holds the footage reference (path, SHA-256, probe metadata, optionally a
copy), the keyframes as lossless PNG blobs with their hashes and presentation
times, the reference rasters used (path, hash, CRS, footprint, acquisition date,
attribution), every locate run (the ``locate.json`` document), the current
candidates (with analyst-added tie points), the analyst's decisions, notes,
points of interest, the claim being tested with its context layers, and an
append-only, hash-chained audit log.

Crash safety: the database uses a rollback journal with ``synchronous=FULL``;
each mutation (confirm, note, ...) is one transaction, so killing the process at
any moment leaves the previous or the new state.  A case is created in a
temporary sibling file and renamed into place, so a half-created case never
appears under the final name.

Conventions: images are ``(H, W, 3) uint8`` **BGR**; masks ``(H, W) uint8``
with 255 on burned-in overlay; keyframe pixels ``(x, y)`` = (col, row) with the
centre of the top-left pixel at ``(0, 0)``; tile pixels the same in the raster's
level-0 grid; positions are WGS84 lon/lat.  Times are UTC ISO 8601
(``2026-11-24T23:40:00.123456Z``).

Typical use::

    with Case.open("strike.wbcase") as case:
        case.confirm(1, "matches the water tower and the road fork")
        print(case.decisions()[1].status)
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from workbench.atomic import check_writable_dir
from workbench.case import audit
from workbench.case.actions import CaseActions, _insert_run
from workbench.case.audit import AuditEntry
from workbench.case.files import CASE_SUFFIX
from workbench.case.files import check_target as _check_target
from workbench.case.files import first_problem as _first_problem
from workbench.case.files import open_error as _open_error
from workbench.case.files import recover as _recover
from workbench.case.files import suffixed as _suffixed
from workbench.case.files import unlink_quietly as _unlink_quietly
from workbench.case.ingest import (
    copy_footage,
    hash_footage,
    insert_keyframe_blobs,
    load_keyframe_blobs,
    raster_records,
)
from workbench.case.model import (
    Claim,
    ContextLayer,
    Decision,
    DecisionStatus,
    FootageRecord,
    Note,
    PointOfInterest,
    RasterRecord,
    TiePoint,
)
from workbench.case.schema import (
    SCHEMA_VERSION,
    SQLITE_MAGIC,
    canonical_json,
    connect,
    create_schema,
    migrate,
    read_version,
    utc_now,
)
from workbench.errors import (
    CaseCorruptError,
    CaseError,
    CaseOpenError,
    CaseVersionError,
    OutputError,
)
from workbench.progress import CancelToken, ProgressCallback, check_cancel, report, scaled
from workbench.results import LocateResult
from workbench.version import __version__

if TYPE_CHECKING:
    from workbench.verify.check import VerifyReport

__all__ = [
    "CASE_SUFFIX", "AuditEntry", "Case", "Claim", "ContextLayer", "Decision", "DecisionStatus",
    "FootageRecord", "Note", "PointOfInterest", "RasterRecord", "TiePoint", "new_case",
    "verify_case",
]

SOFTWARE = f"osint-geolocation-workbench {__version__}"


class Case(CaseActions):
    """An open case file.  Use :meth:`create` / :meth:`open`, then :meth:`close` (or ``with``).

    Every mutating method is one SQLite transaction and appends one audit entry.
    Not thread-safe: use one ``Case`` per thread (the UI opens it on its worker).
    Read access (``result``, ``keyframes``, ``decisions()``, ...) is documented in
    :class:`workbench.case_store.CaseStore`.
    """

    def __init__(self, path: Path, conn: sqlite3.Connection, readonly: bool) -> None:
        self.path = path
        self._conn = conn
        self.readonly = readonly

    # ---- lifecycle ---------------------------------------------------------

    @classmethod
    def create(
        cls,
        path: str | os.PathLike[str],
        *,
        video_path: str | os.PathLike[str],
        tiles: Sequence[str | os.PathLike[str]],
        result: LocateResult,
        keyframes_dir: str | os.PathLike[str],
        user: str | None = None,
        copy_video: bool = False,
        overwrite: bool = False,
        progress: ProgressCallback | None = None,
    ) -> Case:
        """Create a new case file from a locate result; returns it open.

        Args:
            path: the ``.wbcase`` file to create (``.wbcase`` appended if it has another
                or no suffix; an existing folder or non-case file is refused).
            video_path: the original footage; hashed (SHA-256, must match
                ``result.video.sha256`` when set) and its probed facts stored.
            tiles: the reference rasters; each is hashed and its metadata recorded
                (from ``result.tiles`` when catalogued there).
            result: the locate result to store as the first locate run.
            keyframes_dir: the folder ``KeyframeRef.image``/``mask`` are relative to
                (``locate(out_dir=...)``'s ``out_dir``); the PNGs are stored as blobs.
            user: the analyst name for the audit log (default ``$WORKBENCH_USER`` or
                ``getpass.getuser()``).
            copy_video: also store a byte copy of the footage inside the case.
            overwrite: replace an existing file at ``path`` (else ``CaseError``).

        The file is built under a temporary sibling name and renamed into place, so
        ``path`` never holds a half-written case.

        Raises:
            OutputError: the folder is not writable.  CaseError: ``path`` exists, the
            footage/raster changed since locate ran, a keyframe PNG is missing.
            VideoOpenError / RasterOpenError: footage or raster missing.
        """
        target = _suffixed(path)
        _check_target(target, overwrite)
        check_writable_dir(target.parent)
        copy: bytes | None = None
        if copy_video:  # read once: the stored copy is exactly the data hashed
            copy, digest, size = copy_footage(video_path, result.video.sha256)
        else:
            digest, size = hash_footage(video_path, result.video.sha256,
                                        scaled(progress, 0, 0.5))
        blobs = load_keyframe_blobs(result, keyframes_dir)
        rasters = raster_records(list(tiles), result, scaled(progress, 0.5, 0.9))
        now = utc_now()
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        _unlink_quietly(tmp, Path(f"{tmp}-journal"))
        try:
            conn = connect(tmp)
            try:
                conn.execute("BEGIN IMMEDIATE")
                create_schema(conn, created=now, software=SOFTWARE)
                video_doc = {k: v for k, v in json.loads(canonical_json(
                    result.to_json()["video"])).items() if k not in ("path", "sha256")}
                conn.execute(
                    "INSERT INTO footage (id, path, name, sha256, size_bytes, video_json, copy) "
                    "VALUES (1, ?, ?, ?, ?, ?, ?)",
                    (str(Path(video_path).resolve()), Path(video_path).name, digest, size,
                     canonical_json(video_doc), copy))
                insert_keyframe_blobs(conn, blobs, now)
                for r in rasters:
                    conn.execute("INSERT INTO rasters (path, sha256, size_bytes, meta_json) "
                                 "VALUES (?, ?, ?, ?)",
                                 (r["path"], r["sha256"], r["size_bytes"], canonical_json(
                                     {k: v for k, v in r.items()
                                      if k not in ("path", "sha256", "size_bytes")})))
                audit.append(conn, "create", {
                    "footage": Path(video_path).name, "footage_sha256": digest,
                    "footage_copy": copy is not None, "software": SOFTWARE,
                    "schema_version": SCHEMA_VERSION,
                    "rasters": [{"path": r["path"], "sha256": r["sha256"]} for r in rasters],
                }, user, time=now)
                _insert_run(conn, result, {b.ref.id: b.sha256 for b in blobs}, user, now)
                conn.execute("COMMIT")
            finally:
                conn.close()
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
            if target.exists() and not overwrite:
                raise CaseError("a case file already exists here (choose another name)", target)
            os.replace(tmp, target)
        except sqlite3.Error as exc:
            raise OutputError(f"cannot write case file ({exc})", target) from exc
        except OSError as exc:
            raise OutputError(f"cannot write case file ({exc.strerror or exc})", target) from exc
        finally:
            _unlink_quietly(tmp, Path(f"{tmp}-journal"))
        report(progress, "case created", 1.0)
        return cls.open(target)

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, readonly: bool | None = None) -> Case:
        """Open an existing case; migrates an older schema (one atomic transaction).

        ``readonly=None`` opens read-only automatically when the file or its folder is
        not writable (mutations then raise ``OutputError``).  A read-only open of an
        older schema migrates an in-memory copy and leaves the file as it is.

        Raises:
            CaseOpenError: missing/unreadable file or not a workbench case.
            CaseCorruptError: damaged database (the file is left untouched).
            CaseVersionError: written by a newer schema version (names both versions).
        """
        p = Path(path)
        if not p.exists():
            raise CaseOpenError("case file not found", p)
        if not p.is_file():
            raise CaseOpenError("not a case file (it is a folder)", p)
        try:
            with open(p, "rb") as fh:
                head = fh.read(100)
        except OSError as exc:
            raise CaseOpenError(f"cannot read case file ({exc.strerror or exc})", p) from exc
        if len(head) < 100 or not head.startswith(SQLITE_MAGIC):
            raise CaseCorruptError("damaged or not a case file (no SQLite header)", p)
        writable = os.access(p, os.W_OK) and os.access(p.parent, os.W_OK)
        if readonly is None:
            readonly = not writable
        journal = Path(f"{p}-journal")
        if readonly and writable and journal.is_file() and journal.stat().st_size > 0:
            _recover(p)  # a crash left a hot journal: roll back to the last committed state
        try:
            conn = connect(p, readonly=readonly)
        except sqlite3.Error as exc:
            raise _open_error(exc, p) from exc
        try:
            check = conn.execute("PRAGMA quick_check").fetchone()[0]
            if check != "ok":
                raise CaseCorruptError(f"damaged case database ({_first_problem(check)}); "
                                       "nothing was changed", p)
            version = read_version(conn)
            if version is None:
                raise CaseOpenError("not a workbench case file (no case metadata)", p)
            if version > SCHEMA_VERSION:
                raise CaseVersionError(
                    f"case schema version {version} is newer than this software supports "
                    f"(version {SCHEMA_VERSION}); update the workbench to open it", p)
            if version < SCHEMA_VERSION:
                if readonly:
                    mem = sqlite3.connect(":memory:", isolation_level=None)
                    conn.backup(mem)
                    conn.close()
                    conn = mem
                    conn.row_factory = sqlite3.Row
                conn.execute("BEGIN IMMEDIATE")
                try:
                    steps = migrate(conn, version)
                    audit.append(conn, "migrate", {"from_version": version,
                                                   "to_version": SCHEMA_VERSION,
                                                   "steps": steps, "software": SOFTWARE})
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
        except sqlite3.Error as exc:
            conn.close()
            raise _open_error(exc, p) from exc
        except BaseException:
            conn.close()
            raise
        return cls(p, conn, readonly)

    def close(self) -> None:
        """Close the database connection (idempotent)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> Case:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def new_case(
    path: str | os.PathLike[str],
    video: str | os.PathLike[str],
    tiles: Sequence[str | os.PathLike[str]],
    *,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    user: str | None = None,
    target_xy: tuple[float, float] | None = None,
    config: Any = None,
    copy_video: bool = False,
    overwrite: bool = False,
) -> Case:
    """Run ``workbench.locate.locate`` on ``video`` against ``tiles`` and store it all in a
    new case at ``path``; returns the open case.

    Nothing is left at ``path`` on error or cancel (``Cancelled``).  Raises
    ``OutputError`` before any work if the folder is not writable and ``CaseError``
    if a case already exists there (unless ``overwrite``).
    """
    import tempfile

    from workbench.locate.pipeline import locate

    target = _suffixed(path)
    _check_target(target, overwrite)
    check_writable_dir(target.parent)
    with tempfile.TemporaryDirectory(prefix=".wbcase-", dir=target.parent) as work:
        result = locate(video, list(tiles), out_dir=work, target_xy=target_xy, config=config,
                        progress=scaled(progress, 0.0, 0.85), cancel=cancel)
        check_cancel(cancel)
        return Case.create(target, video_path=video, tiles=tiles, result=result,
                           keyframes_dir=work, user=user, copy_video=copy_video,
                           overwrite=overwrite, progress=scaled(progress, 0.85, 1.0))


def verify_case(path: str | os.PathLike[str]) -> VerifyReport:
    """Re-hash footage, keyframes and rasters and recompute confirmed locations.

    Returns a :class:`workbench.verify.VerifyReport` (``ok`` flag + precise findings).
    See :mod:`workbench.verify`.
    """
    from workbench.verify.check import verify_case as _verify

    return _verify(path)
