"""Jobs the GUI runs in the background (worker thread or child process).

Qt-free on purpose: the job server of :class:`workbench_ui.workers.ProcessTask` imports
this module before it forks each job's child process, where Qt must not be loaded.  Each job takes
and returns picklable values (paths, plain data).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from workbench.case.casefile import Case, new_case
from workbench.imagery.catalog import TileCatalog
from workbench.keyframes.model import KeyframeSet, make_keyframe
from workbench.locate.assemble import shots_of_result
from workbench.locate.model import ImageryAccuracy, LocateConfig
from workbench.locate.pipeline import locate, write_locate_json
from workbench.progress import CancelToken, ProgressCallback, check_cancel, report
from workbench.report import write_reports
from workbench.results import KeyframeRef
from workbench.video.reader import Frame, VideoInfo, probe
from workbench_ui.models import KeyframeEntry


def stored_keyframes(
    case: Case,
) -> Iterator[tuple[KeyframeRef, np.ndarray, np.ndarray | None, bool]]:
    """Each keyframe stored in ``case``, in its order:
    ``(ref, image, mask, manual)``; ``image`` ``(H, W, 3) uint8`` BGR, ``mask``
    ``(H, W) uint8`` or None, ``manual`` for keyframes added by hand (ids ``m…``)."""
    for ref in case.keyframes:
        yield (ref, case.keyframe_image(ref.id), case.keyframe_mask(ref.id),
               ref.id.startswith("m"))


def keyframe_entries(case: Case, cancel: CancelToken | None = None) -> list[KeyframeEntry]:
    """The keyframes stored in ``case`` as the entries the app shows (PNGs decoded);
    ``cancel`` is checked before each one."""
    out = []
    for ref, image, mask, manual in stored_keyframes(case):
        check_cancel(cancel)
        out.append(KeyframeEntry(id=ref.id, frame_index=ref.frame_index, time_s=ref.time_s,
                                 sharpness=ref.sharpness, image=image, mask=mask,
                                 manual=manual))
    return out


def read_case_keyframes(case_path: Path, *, progress: ProgressCallback | None = None,
                        cancel: CancelToken | None = None) -> list[KeyframeEntry]:
    """Worker job: decode every keyframe of the case at ``case_path`` (opened read-only
    in the calling thread and closed again) so the GUI thread does not have to.
    Raises ``Cancelled`` between two keyframes once ``cancel`` is set."""
    report(progress, "reading the case", -1.0)
    with Case.open(case_path, readonly=True) as case:
        return keyframe_entries(case, cancel)


def thumbnail(image: np.ndarray, width: int) -> np.ndarray:
    """``image`` ``(H, W, 3) uint8`` BGR scaled to ``width`` px wide (area-averaged;
    aspect ratio kept): the small BGR array a strip thumbnail is made from."""
    h, w = image.shape[:2]
    width = max(8, int(width))
    if w <= width:
        return np.ascontiguousarray(image)
    size = (width, max(1, round(h * width / w)))
    return np.ascontiguousarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA))


def app_locate_config(imagery_accuracy_m: ImageryAccuracy, source: str) -> LocateConfig:
    """The app's locate settings: the defaults, with the imagery's stated accuracy
    (metres, 68 % radius, one value or per raster; ``None``: not stated) and where that
    figure comes from (the Locate panel's field or the case's earlier run)."""
    return LocateConfig(imagery_accuracy_m=imagery_accuracy_m, imagery_accuracy_source=source)


def locate_into_case(
    case_path: Path,
    video: Path,
    tiles: list[Path],
    imagery_accuracy_m: ImageryAccuracy = None,
    accuracy_source: str = "",
    *,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> Path:
    """Worker job: run the engine and store everything in a new case at ``case_path``
    (``imagery_accuracy_m``: :func:`app_locate_config`).

    Returns the case path (the case is closed again: it is reopened on the GUI thread).
    """
    case = new_case(case_path, video, tiles, progress=progress, cancel=cancel,
                    config=app_locate_config(imagery_accuracy_m, accuracy_source))
    case.close()
    return case_path


def probe_footage(path: Path) -> VideoInfo:
    """Worker job: probe footage, SHA-256 included (a manual keyframe is only accepted
    from the case's own footage, compared by hash: see ``Session.add_keyframe``)."""
    return probe(path)


def catalog_imagery(
    paths: list[Path],
    *,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> TileCatalog:
    """Worker job: catalogue reference rasters (files or folders) -> ``TileCatalog``."""
    return TileCatalog.from_paths(paths, progress=progress, cancel=cancel)


def export_job(
    case_path: Path,
    formats: list[str],
    out_dir: Path,
    redact_paths: bool = True,
    force: bool = False,
    *,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> list[Path]:
    """Open the case read-only in this process and write the reports; returns their paths.
    ``redact_paths``/``force``: as :func:`workbench.report.write_reports`."""
    check_cancel(cancel)
    report(progress, "writing the report", -1)
    with Case.open(case_path, readonly=True) as case:
        return [Path(p) for p in write_reports(case, formats, out_dir,
                                               redact_paths=redact_paths, force=force)]


def demo_job(
    out_dir: Path,
    *,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> tuple[Path, list[Path]]:
    """Make the demo set in ``out_dir`` (idempotent); returns ``(video, [tile, ...])``."""
    # Function-level on purpose: the test-data generators (an optional part of the
    # installation, see ``demo.demo_available``) are loaded only for Help ▸ Open demo,
    # and only in this job's child process, never by the app itself.
    from workbench_fixtures.cli import make_demo

    check_cancel(cancel)
    report(progress, "preparing the demo town and footage", -1)
    paths = make_demo(out_dir, progress=progress, cancel=cancel)
    report(progress, "demo ready", 1.0)
    return Path(paths["video"]), [Path(paths["town"]), Path(paths["other_town"])]


def relocate_job(
    case_path: Path,
    video: Path,
    tiles: list[Path],
    out_dir: Path,
    imagery_accuracy_m: ImageryAccuracy = None,
    accuracy_source: str = "",
    *,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> Path:
    """Locate again with the case's keyframes, manual ones included (read-only on the case;
    ``imagery_accuracy_m``: :func:`app_locate_config`).

    Writes ``out_dir/locate.json`` and ``out_dir/keyframes/``; returns ``out_dir``.  The
    GUI then stores the run in the case (``Case.add_locate_run``) on its own thread.
    """
    check_cancel(cancel)
    report(progress, "reading the case's keyframes", -1)
    with Case.open(case_path, readonly=True) as case:
        kfs = [make_keyframe(Frame(index=ref.frame_index, pts_s=ref.time_s, image=image),
                             mask, id=ref.id, manual=manual, sharpness=ref.sharpness)
               for ref, image, mask, manual in stored_keyframes(case)]
        shots = shots_of_result(case.result)  # locate gives each keyframe its frame's shot
    kset = KeyframeSet(video=probe(video, compute_hash=False), keyframes=kfs, shots=shots)
    result = locate(video, tiles, out_dir=out_dir, keyframes=kset, progress=progress,
                    cancel=cancel, config=app_locate_config(imagery_accuracy_m, accuracy_source))
    write_locate_json(result, out_dir)
    return out_dir
