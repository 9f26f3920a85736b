"""Shared synthetic data for the UI tests: a small GeoTIFF, a keyframe cut out of it
through a known homography, and a LocateResult whose candidate 1 is that homography.

(No tests here; the ``test_ui_*`` modules import these helpers.)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import rasterio
from rasterio.transform import Affine

from workbench.geo import apply_homography, keyframe_px_to_lonlat, tile_px_to_lonlat
from workbench.results import Candidate, KeyframeRef, LocateResult, TileRef, VideoRef

CRS = "EPSG:32636"  # UTM 36N (metres)
ORIGIN = (300_000.0, 5_600_000.0)  # upper-left corner, metres
GSD = 0.5
TILE_SIZE = 600
KF_W, KF_H = 320, 240


@dataclass
class Synthetic:
    tile_path: Path
    tile_ref: TileRef
    keyframe: np.ndarray  # (KF_H, KF_W, 3) uint8 BGR
    mask: np.ndarray  # (KF_H, KF_W) uint8
    homography: np.ndarray  # keyframe px -> tile px
    result: LocateResult
    out_dir: Path


def _texture(size: int, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = cv2.GaussianBlur(rng.integers(0, 255, (size, size, 3), dtype=np.uint8), (0, 0), 3)
    for _ in range(220):
        x, y = rng.integers(0, size, 2)
        w, h = rng.integers(6, 40, 2)
        color = tuple(int(c) for c in rng.integers(0, 255, 3))
        cv2.rectangle(img, (int(x), int(y)), (int(x + w), int(y + h)), color, -1)
    return img


def make_synthetic(tmp: Path) -> Synthetic:
    """Write the tile, keyframe PNGs and a LocateResult under ``tmp``."""
    tmp.mkdir(parents=True, exist_ok=True)
    bgr = _texture(TILE_SIZE)
    transform = Affine(GSD, 0, ORIGIN[0], 0, -GSD, ORIGIN[1])
    tile_path = tmp / "tile.tif"
    with rasterio.open(
        tile_path, "w", driver="GTiff", width=TILE_SIZE, height=TILE_SIZE, count=3,
        dtype="uint8", crs=CRS, transform=transform,
    ) as ds:
        ds.write(np.transpose(bgr[:, :, ::-1], (2, 0, 1)))
    # keyframe px -> tile px: scale 0.9, rotation 10 deg, shift, mild perspective
    a = np.deg2rad(10)
    hm = np.array(
        [[0.9 * np.cos(a), -0.9 * np.sin(a), 180.0],
         [0.9 * np.sin(a), 0.9 * np.cos(a), 150.0],
         [0.0002, 0.0001, 1.0]]
    )
    keyframe = cv2.warpPerspective(bgr, np.linalg.inv(hm), (KF_W, KF_H))
    mask = np.zeros((KF_H, KF_W), np.uint8)
    mask[:18, :] = 255  # a HUD strip
    keyframe[:18, :] = 255
    kf_dir = tmp / "keyframes"
    kf_dir.mkdir(exist_ok=True)
    cv2.imwrite(str(kf_dir / "kf0001.png"), keyframe)
    cv2.imwrite(str(kf_dir / "kf0001_mask.png"), mask)
    gx, gy = np.meshgrid(np.linspace(20, KF_W - 20, 6), np.linspace(30, KF_H - 20, 5))
    kxy = np.stack([gx.ravel(), gy.ravel()], 1)
    txy = apply_homography(hm, kxy)
    tile_ref = TileRef(
        path=str(tile_path), sha256="0" * 64, crs=CRS, transform=tuple(transform)[:6],
        width=TILE_SIZE, height=TILE_SIZE, gsd_m=GSD,
        footprint=[],
    )
    edge = [[-0.5, -0.5], [TILE_SIZE - 0.5, -0.5], [TILE_SIZE - 0.5, TILE_SIZE - 0.5],
            [-0.5, TILE_SIZE - 0.5], [-0.5, -0.5]]
    tile_ref.footprint[:] = tile_px_to_lonlat(tile_ref.transform, CRS, edge).tolist()
    lon, lat = keyframe_px_to_lonlat(hm, tile_ref.transform, CRS, np.array([[160, 120]]))[0]
    best = Candidate(
        rank=1, lat=float(lat), lon=float(lon), confidence=0.87, uncertainty_m=6.0,
        keyframe_id="kf0001", tile=str(tile_path), inliers=len(kxy), footprint=[],
        homography=hm.tolist(), keyframe_xy=kxy.tolist(), tile_xy=txy.tolist(),
    )
    other_h = hm.copy()
    other_h[0, 2] += 200
    second = Candidate(
        rank=2, lat=float(lat) + 0.001, lon=float(lon) - 0.002, confidence=0.12,
        uncertainty_m=40.0, keyframe_id="kf0001", tile=str(tile_path), inliers=9,
        footprint=[], homography=other_h.tolist(), keyframe_xy=kxy[:9].tolist(),
        tile_xy=apply_homography(other_h, kxy[:9]).tolist(),
    )
    result = LocateResult(
        verdict="located",
        video=VideoRef(path=str(tmp / "clip.mp4"), sha256="1" * 64, fps=25.0, width=KF_W,
                       height=KF_H, duration_s=4.0, frame_count=100),
        keyframes=[KeyframeRef(id="kf0001", frame_index=42, time_s=1.68, sha256="2" * 64,
                               sharpness=153.2, image="keyframes/kf0001.png",
                               mask="keyframes/kf0001_mask.png")],
        candidates=[best, second],
        tiles=[tile_ref],
        reason="candidate 1 is supported by 30 landmarks",
    )
    return Synthetic(tile_path, tile_ref, keyframe, mask, hm, result, tmp)


def make_tiny_video(path: Path, frames: int = 12, size: tuple[int, int] = (KF_W, KF_H)) -> Path:
    """A small H.264 MP4 (moving gradient) written with PyAV: ``frames`` frames at 10 fps."""
    from ingest_clips import encode

    w, h = size
    images = []
    for i in range(frames):
        img = np.zeros((h, w, 3), np.uint8)
        img[:, :, 1] = (np.arange(w)[None, :] + 8 * i) % 256
        img[:, :, 2] = (np.arange(h)[:, None] * 2) % 256
        cv2.putText(img, str(i), (20, 60), cv2.FONT_HERSHEY_SIMPLEX, 2, (255, 255, 255), 3)
        images.append(img)
    encode(path, images, 10)
    return path


def make_case(syn: Synthetic, video: Path, path: Path) -> Path:
    """A real case file from the synthetic result (no locate run: fast)."""
    import dataclasses
    import hashlib

    from workbench.case.casefile import Case
    from workbench.hashing import sha256_file
    from workbench.video.reader import probe

    res = syn.result
    kfs = [dataclasses.replace(k, sha256=hashlib.sha256(
        (syn.out_dir / str(k.image)).read_bytes()).hexdigest()) for k in res.keyframes]
    tiles = [dataclasses.replace(t, sha256=sha256_file(t.path)[0]) for t in res.tiles]
    result = dataclasses.replace(res, video=probe(video).to_ref(), keyframes=kfs, tiles=tiles)
    case = Case.create(path, video_path=video, tiles=[syn.tile_path], result=result,
                       keyframes_dir=syn.out_dir, analyst="tester")
    case.close()
    return path




def make_case_data(root: Path) -> dict[str, Any]:
    """Under ``root``: :func:`make_synthetic`, a tiny video and a case made of them.

    ``{"syn": Synthetic, "video": Path, "case": Path, "tile": Path, "root": Path}``.
    """
    syn = make_synthetic(root / "syn")
    video = make_tiny_video(root / "tiny.mp4")
    return {"syn": syn, "video": video, "case": make_case(syn, video, root / "case.wbcase"),
            "tile": syn.tile_path, "root": root}

def open_window(qtbot, tmp_path: Path, settings_path: Path | None = None):  # type: ignore[no-untyped-def]
    """A shown ``MainWindow`` with its own autosave folder (``tmp_path/autosave``) and
    QSettings ini (``settings_path``, default ``tmp_path/settings.ini``).  The caller
    calls ``win.controller.shutdown()`` when done."""
    from PyQt6.QtCore import QSettings
    from workbench_ui.main_window import MainWindow
    from workbench_ui.session import Session

    settings = QSettings(str(settings_path or tmp_path / "settings.ini"),
                         QSettings.Format.IniFormat)
    win = MainWindow(session=Session(autosave_dir=tmp_path / "autosave"), settings=settings)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    return win

# --- jobs for the worker tests (module-level: a job's child process imports them) ----------


def job_ok(n: int, *, progress=None, cancel=None) -> int:  # type: ignore[no-untyped-def]
    for i in range(n):
        if progress:
            progress(f"step {i}", (i + 1) / n)
    return n * 2


def job_fail(path: str, *, progress=None, cancel=None) -> None:  # type: ignore[no-untyped-def]
    from workbench.errors import VideoOpenError

    raise VideoOpenError("not a video FFmpeg can open", path)


def job_crash(*, progress=None, cancel=None) -> None:  # type: ignore[no-untyped-def]
    import os

    os._exit(7)  # like a native crash: no Python exception, no result


def job_until_cancelled(*, progress=None, cancel=None) -> None:  # type: ignore[no-untyped-def]
    import time

    from workbench.progress import check_cancel

    for _ in range(3000):
        check_cancel(cancel)
        time.sleep(0.01)


def job_loaded_qt(*, progress=None, cancel=None) -> list[str]:  # type: ignore[no-untyped-def]
    import sys

    return sorted(m for m in sys.modules if m.split(".")[0] == "PyQt6")


def job_surroundings(name: str, *, progress=None, cancel=None):  # type: ignore[no-untyped-def]
    """The child's view of the variable ``name``; whether the job server's modules were
    already imported when the job began (this module does not import them); and whether
    the child's open ``proj.db`` (PROJ's SQLite database) is still the server's: moving
    the child's file offset moves the parent's only for a descriptor inherited across
    the fork (SQLite reads with ``pread``, so the offset is free to move)."""
    import os
    import sys

    shared = None
    for fd in os.listdir("/proc/self/fd"):
        try:
            if not os.readlink(f"/proc/self/fd/{fd}").endswith("proj.db"):
                continue
        except OSError:
            continue
        os.lseek(int(fd), 4242, os.SEEK_SET)
        with open(f"/proc/{os.getppid()}/fdinfo/{fd}") as info:
            pos = [line.split()[1] for line in info if line.startswith("pos:")]
        os.lseek(int(fd), 0, os.SEEK_SET)
        shared = bool(shared) or pos == ["4242"]
    return {"mark": os.environ.get(name), "pid": os.getpid(),
            "preloaded": "workbench_ui.index_jobs" in sys.modules,
            "proj_db_shared_with_server": shared}
