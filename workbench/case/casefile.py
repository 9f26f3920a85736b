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

    with Case.open("strike.wbcase", analyst="Dana") as case:
        case.confirm(1, "matches the water tower and the road fork")
        print(case.decisions()[1].status)

The analyst is bound once, when the case is opened or created: every audit entry
written through that ``Case`` names them.  Every SQL statement lives in
:mod:`workbench.case.store`; this module holds the lifecycle (create, open, close).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from workbench.atomic import check_writable_dir, scratch_dir
from workbench.case.actions import CaseActions, record_run
from workbench.case.audit import current_user, normalised, utc_now
from workbench.case.files import (
    CASE_SUFFIX,
    check_target,
    resolve_case_path,
    suffixed,
    unlink_quietly,
)
from workbench.case.ingest import (
    copy_footage,
    hash_footage,
    load_keyframe_blobs,
    raster_records,
    read_locate_json,
)
from workbench.case.signing import CaseSigning
from workbench.case.store import SCHEMA_VERSION, SQLITE_MAGIC, CaseDB, recover
from workbench.case.tiepoints import TiePointActions
from workbench.errors import CaseCorruptError, CaseError, CaseOpenError, OutputError, UsageError
from workbench.locate.pipeline import locate
from workbench.progress import CancelToken, ProgressCallback, check_cancel, report, scaled
from workbench.results import LocateResult
from workbench.version import __version__

__all__ = ["CASE_SUFFIX", "Case", "new_case", "resolve_case_path"]

SOFTWARE = f"osint-geolocation-workbench {__version__}"


class Case(CaseActions, TiePointActions, CaseSigning):
    """An open case file.  Use :meth:`create` / :meth:`open`, then :meth:`close` (or ``with``).

    Every mutating method is one SQLite transaction and appends one audit entry in the
    name of :attr:`analyst`.  Not thread-safe: use one ``Case`` per thread (the UI opens
    it on its worker).  Read access (``result``, ``keyframes``, ``decisions()``, ...) is
    documented in :class:`workbench.case.view.CaseView`, the actions in
    :class:`workbench.case.actions.CaseActions`.
    """

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
        analyst: str | None = None,
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
            analyst: the analyst name for the audit log, bound to the returned case
                (default ``$WORKBENCH_USER`` or ``getpass.getuser()``).
            copy_video: also store a byte copy of the footage inside the case.
            overwrite: replace an existing file at ``path`` (else ``CaseError``).

        The file is built under a temporary sibling name and renamed into place, so
        ``path`` never holds a half-written case.

        Raises:
            OutputError: the folder is not writable.  CaseError: ``path`` exists, the
            footage/raster changed since locate ran, a keyframe PNG is missing.
            VideoOpenError / RasterOpenError: footage or raster missing.
        """
        target = suffixed(path)
        check_target(target, overwrite)
        check_writable_dir(target.parent)
        who = current_user(analyst)
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
        unlink_quietly(tmp, Path(f"{tmp}-journal"))
        try:
            db = CaseDB.create(tmp)
            try:
                with db.tx():  # one transaction: schema and content
                    db.create_schema(created=now, software=SOFTWARE)
                    video_doc = {k: v for k, v in normalised(result.to_json()["video"]).items()
                                 if k not in ("path", "sha256")}
                    db.insert_footage(str(Path(video_path).resolve()), Path(video_path).name,
                                      digest, size, video_doc, copy)
                    db.insert_keyframes(blobs, now)
                    raster_keys = [db.insert_raster(r) for r in rasters]
                    db.append_audit("create", {
                        "footage": Path(video_path).name, "footage_sha256": digest,
                        "footage_copy": copy is not None, "software": SOFTWARE,
                        "schema_version": SCHEMA_VERSION,
                        "rasters": [{"path": r["path"], "sha256": r["sha256"]} for r in rasters],
                        "case_id": db.meta("case_id"),
                    }, who, time=now, rows=[*db.meta_keys(), "footage/1", *raster_keys,
                                            *(f"keyframes/{b.ref.id}" for b in blobs)])
                    record_run(db, result, {b.ref.id: b.sha256 for b in blobs}, who, now)
            finally:
                db.close()
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
            if target.exists() and not overwrite:
                raise CaseError("a case file already exists here (choose another name)", target)
            os.replace(tmp, target)
        except OutputError as exc:
            raise OutputError(exc.message, target) from exc
        except OSError as exc:
            raise OutputError(f"cannot write case file ({exc.strerror or exc})", target) from exc
        finally:
            unlink_quietly(tmp, Path(f"{tmp}-journal"))
        report(progress, "case created", 1.0)
        return cls.open(target, analyst=who)

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, readonly: bool | None = None,
             analyst: str | None = None) -> Case:
        """Open an existing case; migrates an older schema (one atomic transaction).

        ``path`` is resolved like every CASE argument (:func:`resolve_case_path`: as
        given if it exists, else with ``.wbcase`` appended).  ``analyst`` names who
        acts through the returned case in the audit log (default ``$WORKBENCH_USER``
        or the login name).  ``readonly=None`` opens read-only automatically when the
        file or its folder is not writable (mutations then raise ``OutputError``).  A
        read-only open of an older schema migrates an in-memory copy and leaves the
        file as it is.

        Raises:
            CaseOpenError: missing/unreadable file or not a workbench case.
            CaseCorruptError: damaged database (the file is left untouched).
            CaseVersionError: written by a newer schema version (names both versions).
        """
        p = resolve_case_path(path)
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
            recover(p)  # a crash left a hot journal: roll back to the last committed state
        who = current_user(analyst)

        def log_migration(db: CaseDB, from_version: int, steps: list[int]) -> None:
            db.append_audit("migrate", {"from_version": from_version,
                                        "to_version": SCHEMA_VERSION, "steps": steps,
                                        "software": SOFTWARE, "case_id": db.meta("case_id")},
                            who, rows=[k for k in db.meta_keys()
                                       if k in ("meta/schema_version", "meta/case_id")])

        db = CaseDB.open(p, readonly=readonly, on_migrate=log_migration)
        return cls(p, db, readonly, who)

    def close(self) -> None:
        """Close the database connection (idempotent)."""
        self._db.close()

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
    analyst: str | None = None,
    target_xy: tuple[float, float] | None = None,
    config: Any = None,
    copy_video: bool = False,
    overwrite: bool = False,
    locate_json: str | os.PathLike[str] | None = None,
) -> Case:
    """Store ``video``'s geolocation against ``tiles`` in a new case at ``path``; returns
    the open case.

    Without ``locate_json``, :func:`workbench.locate.locate` runs first.  With it, an
    existing ``locate.json`` (as ``workbench locate --out DIR`` wrote it, its
    ``keyframes/`` folder beside it) is stored instead: its recorded footage SHA-256
    must be ``video``'s, and ``tiles`` may be empty (the rasters it names are used).

    Nothing is left at ``path`` on error or cancel (``Cancelled``).  Raises
    ``OutputError`` before any work if the folder is not writable, ``CaseError`` if a
    case already exists there (unless ``overwrite``) or the footage is not the one the
    ``locate.json`` was made from, ``UsageError`` for ``target_xy``/``config`` with
    ``locate_json`` (they are settings of a locate run).
    """
    target = suffixed(path)
    check_target(target, overwrite)
    check_writable_dir(target.parent)
    if locate_json is not None:
        if target_xy is not None or config is not None:
            raise UsageError("a target pixel or locate settings apply when locate runs; "
                             "the given locate.json was already made with its own")
        result = read_locate_json(locate_json)
        if not result.video.sha256:
            raise CaseError("records no footage SHA-256, so it cannot be checked against "
                            "the footage; re-run workbench locate", locate_json)
        check_cancel(cancel)
        return Case.create(target, video_path=video, tiles=tiles, result=result,
                           keyframes_dir=Path(locate_json).parent, analyst=analyst,
                           copy_video=copy_video, overwrite=overwrite, progress=progress)
    # cleaned up after a kill by the next run (workbench.atomic.scratch_dir)
    with scratch_dir(target) as work:
        result = locate(video, list(tiles), out_dir=work, target_xy=target_xy, config=config,
                        progress=scaled(progress, 0.0, 0.85), cancel=cancel)
        check_cancel(cancel)
        return Case.create(target, video_path=video, tiles=tiles, result=result,
                           keyframes_dir=work, analyst=analyst, copy_video=copy_video,
                           overwrite=overwrite, progress=scaled(progress, 0.85, 1.0))
