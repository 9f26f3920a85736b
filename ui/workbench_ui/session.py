"""The analyst's session: footage, imagery, the open case and its locate result.

A QObject (no widgets) wrapping the core's state and emitting signals the views
listen to.  The case file (:class:`workbench.case.Case`, SQLite) *is* the saved
state: every decision, note or point is one committed transaction, so nothing
the analyst does is ever only in memory.  A case created by Locate starts life in
the autosave folder ("untitled"); *Save as* moves it to a place of the
analyst's choosing.  Closing an untitled case asks first (see the main window).

Threading: ``Case`` objects are not thread-safe, so long jobs (``new_case``) run
in a worker that closes its own case and hands back the *path*; the session
then opens the case on the GUI thread.  Decoding the keyframe PNGs is the slow part
of opening a case: the controller can do it in a worker
(:func:`workbench_ui.jobs.read_case_keyframes`) and hand the entries to
:meth:`Session.open_case`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import time
from pathlib import Path

import numpy as np
from PyQt6.QtCore import QObject, QStandardPaths, pyqtSignal

from workbench.case.audit import AuditEntry
from workbench.case.casefile import Case
from workbench.case.files import CASE_SUFFIX, suffixed
from workbench.case.model import PointOfInterest, RasterRecord
from workbench.errors import CaseOpenError, OutputError, UsageError
from workbench.imagery.catalog import Tile, TileCatalog
from workbench.results import Candidate, LocateResult, TileRef
from workbench.video.reader import VideoInfo
from workbench_ui.jobs import keyframe_entries
from workbench_ui.models import KeyframeEntry

log = logging.getLogger(__name__)



def app_data_dir() -> Path:
    """The app's per-user data folder (autosaved cases, the demo data)."""
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppLocalDataLocation)
    return Path(base or Path.home() / ".local/share/workbench")


def default_autosave_dir() -> Path:
    """Per-user folder where untitled cases live until saved."""
    return app_data_dir() / "autosave"


def _tile_ref_from_record(rec: RasterRecord) -> TileRef:
    return TileRef(
        path=str(rec.path), sha256=str(rec.sha256), crs=str(rec.crs),
        transform=tuple(float(v) for v in rec.transform)[:6],  # type: ignore[arg-type]
        width=int(rec.width), height=int(rec.height), gsd_m=float(rec.gsd_m),
        footprint=list(rec.footprint), acquired=rec.acquired, attribution=rec.attribution,
    )


class Session(QObject):
    """State of one analyst session.

    Signals:
        footageChanged(): ``video_path`` / ``video_info`` changed.
        imageryChanged(): ``tile_paths`` changed.
        caseChanged(): a case was opened, created, saved elsewhere or closed.
        decisionsChanged(): a decision, note or point was recorded.
        keyframesChanged(): keyframes (automatic or manual) changed.
    """

    footageChanged = pyqtSignal()
    imageryChanged = pyqtSignal()
    caseChanged = pyqtSignal()
    decisionsChanged = pyqtSignal()
    keyframesChanged = pyqtSignal()

    def __init__(self, autosave_dir: Path | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.autosave_dir = autosave_dir or default_autosave_dir()
        self.video_path: Path | None = None
        self.video_info: VideoInfo | None = None
        self.tile_paths: list[Path] = []
        self.tiles: list[Tile] = []  # the loaded imagery
        self.imagery_warnings: list[str] = []
        self.case: Case | None = None
        self.case_path: Path | None = None
        self.untitled = False
        self.result: LocateResult | None = None
        self.keyframes: list[KeyframeEntry] = []
        self._tiles: dict[str, TileRef] = {}

    # --- inputs --------------------------------------------------------------------
    def set_footage(self, path: Path, info: VideoInfo) -> None:
        """Use ``path`` (probed as ``info``, a ``VideoInfo``) as the footage to locate."""
        self.video_path, self.video_info = Path(path), info
        self.footageChanged.emit()

    def set_imagery(self, paths: list[Path], catalog: TileCatalog) -> None:
        """Use the rasters of ``catalog`` (a ``TileCatalog`` built from ``paths``)."""
        self.tiles = list(catalog.tiles)
        self.tile_paths = [Path(t.path) for t in self.tiles]
        self.imagery_warnings = list(catalog.warnings)
        self.imageryChanged.emit()

    def remove_imagery(self, paths: list[Path]) -> None:
        """Stop using the rasters at ``paths`` (the files and the case are untouched)."""
        drop = {Path(p).resolve() for p in paths}
        self.tiles = [t for t in self.tiles if Path(t.path).resolve() not in drop]
        self.tile_paths = [Path(t.path) for t in self.tiles]
        self.imageryChanged.emit()

    def can_locate(self) -> bool:
        return self.video_path is not None and bool(self.tile_paths)

    def new_autosave_path(self) -> Path:
        """A fresh path in the autosave folder for a case about to be created."""
        self.autosave_dir.mkdir(parents=True, exist_ok=True)
        stem = self.video_path.stem if self.video_path else "case"
        stamp = time.strftime("%Y%m%d-%H%M%S")
        path = self.autosave_dir / f"{stem}-{stamp}{CASE_SUFFIX}"
        n = 1
        while path.exists():
            n += 1
            path = self.autosave_dir / f"{stem}-{stamp}-{n}{CASE_SUFFIX}"
        return path

    # --- case lifecycle --------------------------------------------------------------
    def open_case(self, path: Path, *, untitled: bool = False,
                  keyframes: list[KeyframeEntry] | None = None,
                  discard_previous: bool = False) -> None:
        """Open the case at ``path`` (closing the current one) and load its content.

        ``keyframes``: the case's keyframes already decoded off the GUI thread
        (:func:`workbench_ui.jobs.read_case_keyframes` on the same file); without them
        they are decoded here.  ``discard_previous``: once the new case is open, delete
        the current case's autosave file if it is untitled (the analyst chose Discard).
        Raises the core's ``CaseError`` subclasses (newer version, corrupt, not a case);
        the current case stays open, and kept, when opening fails.
        """
        case = Case.open(Path(path))
        try:
            result = case.result
            if keyframes is None or [k.id for k in keyframes] != [r.id for r in case.keyframes]:
                keyframes = self._load_keyframes(case)  # (none given, or not this file's)
        except BaseException:
            case.close()
            raise
        previous = self.case_path if self.untitled else None
        self._close_case()
        self.case, self.case_path, self.untitled = case, Path(path), untitled
        if discard_previous and previous is not None and previous != self.case_path:
            with contextlib.suppress(OSError):
                previous.unlink()
        self.result = result
        self.keyframes = keyframes
        self._tiles = {t.path: t for t in result.tiles}
        with contextlib.suppress(Exception):
            for rec in case.rasters:
                self._tiles.setdefault(str(rec.path), _tile_ref_from_record(rec))
        with contextlib.suppress(Exception):
            video = Path(case.video.path)
            if self.video_path is None or video.resolve() != self.video_path.resolve():
                self.video_info = None  # it described other footage: probed again
            self.video_path = video
        self.caseChanged.emit()
        self.keyframesChanged.emit()
        self.decisionsChanged.emit()

    @staticmethod
    def _load_keyframes(case: Case) -> list[KeyframeEntry]:
        return keyframe_entries(case)

    def _close_case(self) -> None:
        if self.case is not None:
            with contextlib.suppress(Exception):
                self.case.close()
        self.case = None

    def close_case(self, *, discard_untitled: bool = False) -> None:
        """Close the case; ``discard_untitled`` deletes an untitled case's autosave file."""
        path, untitled = self.case_path, self.untitled
        self._close_case()
        self.case_path, self.untitled, self.result = None, False, None
        self.keyframes, self._tiles = [], {}
        if discard_untitled and untitled and path is not None:
            with contextlib.suppress(OSError):
                path.unlink()
        self.caseChanged.emit()
        self.keyframesChanged.emit()
        self.decisionsChanged.emit()

    def save_as(self, target: Path) -> Path:
        """Write the case to ``target`` (``.wbcase`` added) and continue working there.

        The copy is made from a closed database into a temporary sibling and renamed
        into place, so ``target`` is either the old file or the complete new one.
        An untitled case's autosave file is removed afterwards.
        """
        if self.case is None or self.case_path is None:
            raise UsageError("no case is open")
        target = Path(target)
        target = suffixed(target)  # the core's one .wbcase rule
        if target.resolve() == self.case_path.resolve():
            return target
        src, untitled = self.case_path, self.untitled
        self._close_case()
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        try:
            shutil.copyfile(src, tmp)
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink()
            self.open_case(src, untitled=untitled)  # keep working where we were
            raise OutputError(f"cannot save the case ({exc.strerror or exc})", target) from exc
        self.open_case(target, untitled=False)
        if untitled:
            with contextlib.suppress(OSError):
                src.unlink()
        return target

    # --- lookups -------------------------------------------------------------------
    def candidate(self, rank: int) -> Candidate | None:
        if self.result is None:
            return None
        return next((c for c in self.result.candidates if c.rank == rank), None)

    def tile_ref(self, path: str) -> TileRef | None:
        return self._tiles.get(path)

    def keyframe(self, keyframe_id: str) -> KeyframeEntry | None:
        return next((k for k in self.keyframes if k.id == keyframe_id), None)

    def decisions(self) -> dict[int, str]:
        """``{rank: "confirmed" | "rejected"}`` from the case (empty without one)."""
        if self.case is None:
            return {}
        return {rank: d.status for rank, d in self.case.decisions().items()}

    def decision_notes(self) -> dict[int, str]:
        if self.case is None:
            return {}
        return {rank: d.note for rank, d in self.case.decisions().items()}

    def audit_log(self) -> list[AuditEntry]:
        return [] if self.case is None else list(self.case.audit_log())

    # --- analyst actions (each is one committed transaction in the case) ------------
    def _need_case(self) -> Case:
        if self.case is None:
            raise CaseOpenError("no case is open: run Locate or open a case first")
        return self.case

    def decide(self, rank: int, confirmed: bool, note: str) -> None:
        """Confirm or reject candidate ``rank`` with a note (audit-logged)."""
        case = self._need_case()
        if confirmed:
            case.confirm(rank, note)
        else:
            case.reject(rank, note)
        self.decisionsChanged.emit()

    def reload_result(self) -> None:
        """Read the current result again (after a refit by a tie point); tells the audit
        panel through ``decisionsChanged``."""
        self.result = self._need_case().result
        self.decisionsChanged.emit()

    def add_note(self, text: str) -> None:
        self._need_case().add_note(text)
        self.decisionsChanged.emit()

    def record_point(self, rank: int, x: float, y: float, label: str) -> PointOfInterest:
        """Record a geolocated keyframe pixel of candidate ``rank`` in the case."""
        poi = self._need_case().set_point_of_interest(rank, x, y, label)
        self.decisionsChanged.emit()
        return poi

    def relocate_inputs(self) -> tuple[Path, list[Path]] | None:
        """Footage and imagery for locating again: the loaded ones, else the case's own."""
        if self.case is None or self.video_path is None or not self.video_path.is_file():
            return None
        tiles = list(self.tile_paths) or [Path(r.path) for r in self.case.rasters
                                          if Path(r.path).exists()]
        return (self.video_path, tiles) if tiles else None

    def add_locate_run(self, out_dir: Path) -> None:
        """Store the run written in ``out_dir`` (``locate.json`` + keyframes) in the case
        and make it the current result."""
        case = self._need_case()
        path = Path(out_dir) / "locate.json"
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CaseOpenError(f"cannot read the new locate result ({exc})", path) from exc
        case.add_locate_run(LocateResult.from_json(doc), out_dir)
        self.result = case.result
        self.keyframes = self._load_keyframes(case)
        self._tiles.update({t.path: t for t in self.result.tiles})
        self.caseChanged.emit()
        self.keyframesChanged.emit()
        self.decisionsChanged.emit()

    def add_keyframe(self, frame_index: int, time_s: float, image: np.ndarray,
                     mask: np.ndarray | None) -> KeyframeEntry:
        """Store a frame picked by hand as a manual keyframe of the case.

        Refused (:class:`UsageError`) when the footage open in the app is not the
        case's footage (SHA-256 differs): a frame of another video is not evidence.
        """
        case = self._need_case()
        open_sha = self.video_info.sha256 if self.video_info is not None else ""
        case_sha = case.video.sha256
        if open_sha and case_sha and open_sha != case_sha:
            raise UsageError(
                "the footage open in the app is not this case's footage (SHA-256 differs): "
                "open the case's footage to add keyframes",
                self.video_path,
            )
        ref = case.add_keyframe(frame_index, time_s, image, mask)
        entry = KeyframeEntry(id=ref.id, frame_index=ref.frame_index, time_s=ref.time_s,
                              sharpness=ref.sharpness, image=image, mask=mask, manual=True)
        self.keyframes.append(entry)
        self.keyframes.sort(key=lambda k: k.time_s)
        self.keyframesChanged.emit()
        return entry
