"""Low-level footage I/O helpers behind :mod:`workbench.video` (PyAV).

Opening untrusted files with one-line typed errors, streaming SHA-256, the
packet timestamp table, display rotation and frame conversion to numpy
(``(H, W, 3) uint8`` BGR or ``(H, W) uint8`` grey, display orientation).
"""

from __future__ import annotations

import logging
import math
import os
import struct
import threading
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
from av.video.reformatter import VideoReformatter

from workbench.budget import frame_pixel_cap
from workbench.errors import VideoOpenError
from workbench.progress import CancelToken, check_cancel

log = logging.getLogger(__name__)

PathLike = str | os.PathLike[str]
_FFMPEG_ERRORS: tuple[type[BaseException], ...] = (av.FFmpegError,)
_Y_PLANE_FORMATS = frozenset(
    {"yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p", "nv12", "nv21"}
)

# --- opening --------------------------------------------------------------------------


def _check_file(p: Path, *, allow_empty: bool = False) -> int:
    """Size of ``p``; raise :class:`VideoOpenError` if it is not a readable regular file."""
    try:
        st = p.stat()
    except FileNotFoundError as exc:
        raise VideoOpenError("no such file", p) from exc
    except OSError as exc:
        raise VideoOpenError(f"cannot access file ({exc.strerror or exc})", p) from exc
    if p.is_dir():
        raise VideoOpenError("is a folder, not a video file", p)
    if not p.is_file():
        raise VideoOpenError("is not a regular file", p)
    if not os.access(p, os.R_OK):
        raise VideoOpenError("permission denied (cannot read)", p)
    if st.st_size == 0 and not allow_empty:
        raise VideoOpenError("is empty (0 bytes), not a video", p)
    return int(st.st_size)


def _mp4_missing_moov(p: Path) -> bool:
    """True when ``p`` looks like an ISO-BMFF/MP4 file whose index (``moov`` box) is absent."""
    try:
        with p.open("rb") as fh:
            head = fh.read(12)
            if len(head) < 12 or head[4:8] != b"ftyp":
                return False
            size = p.stat().st_size
            pos = 0
            for _ in range(10_000):
                if pos + 8 > size:
                    return True
                fh.seek(pos)
                hdr = fh.read(8)
                if len(hdr) < 8:
                    return True
                box_size, box_type = struct.unpack(">I4s", hdr)
                if box_type == b"moov":
                    return False
                if box_size == 1:
                    ext = fh.read(8)
                    if len(ext) < 8:
                        return True
                    box_size = struct.unpack(">Q", ext)[0]
                elif box_size == 0:  # box runs to the end of the file
                    return True
                if box_size < 8:
                    return True
                pos += box_size
    except OSError:
        return False
    return True


def _open(p: Path) -> Any:
    """Open ``p`` with PyAV and return the input container (caller closes it)."""
    _check_file(p)
    try:
        container = av.open(str(p), mode="r", metadata_errors="replace")
    except _FFMPEG_ERRORS as exc:
        if _mp4_missing_moov(p):
            raise VideoOpenError(
                "MP4 without its index (moov box missing): truncated or still being written",
                p,
            ) from exc
        why = getattr(exc, "strerror", None) or str(exc)
        raise VideoOpenError(f"not a video FFmpeg can read ({why})", p) from exc
    except OSError as exc:
        raise VideoOpenError(f"cannot open file ({exc.strerror or exc})", p) from exc
    if not container.streams.video:
        container.close()
        raise VideoOpenError("has no video stream", p)
    return container


def _video_stream(container: Any, *, threads: bool = True) -> Any:
    stream = container.streams.video[0]
    if threads:
        stream.thread_type = "AUTO"
    return stream


def _start_pts(stream: Any) -> int:
    return int(stream.start_time) if stream.start_time is not None else 0


def _rotate(image: np.ndarray, rotation_cw: int) -> np.ndarray:
    if rotation_cw == 90:
        return cv2.rotate(image, cv2.ROTATE_90_CLOCKWISE)
    if rotation_cw == 180:
        return cv2.rotate(image, cv2.ROTATE_180)
    if rotation_cw == 270:
        return cv2.rotate(image, cv2.ROTATE_90_COUNTERCLOCKWISE)
    return image


def _rotation_cw(frame: Any) -> int:
    """Clockwise display rotation (0/90/180/270) from a frame's display matrix."""
    try:
        ccw = float(frame.rotation or 0)
    except (AttributeError, TypeError, ValueError):
        return 0
    return round(-ccw / 90.0) % 4 * 90


# Packet timestamp tables (sorted presentation timestamps) per (path, size, mtime).
_TABLE_CACHE: dict[tuple[str, int, int], tuple[np.ndarray, list[str]]] = {}
_TABLE_LOCK = threading.Lock()


def _pts_table(p: Path, cancel: CancelToken | None = None) -> tuple[np.ndarray, list[str]]:
    """Sorted presentation timestamps (stream time base) of every video packet."""
    st = p.stat()
    key = (str(p.resolve()), int(st.st_size), int(st.st_mtime_ns))
    with _TABLE_LOCK:
        if key in _TABLE_CACHE:
            return _TABLE_CACHE[key]
    warnings: list[str] = []
    container = _open(p)
    try:
        stream = _video_stream(container, threads=False)
        pts: list[int] = []
        try:
            for i, packet in enumerate(container.demux(stream)):
                if i % 512 == 0:
                    check_cancel(cancel)
                if packet.size == 0:
                    continue
                ts = packet.pts if packet.pts is not None else packet.dts
                if ts is None:
                    ts = pts[-1] + 1 if pts else 0
                pts.append(int(ts))
        except _FFMPEG_ERRORS as exc:
            warnings.append(f"{p}: reading stopped after {len(pts)} packets ({exc}); truncated?")
        expected = int(stream.frames or 0)
        if expected and len(pts) < expected:
            warnings.append(
                f"{p}: header lists {expected} frames but only {len(pts)} are present; truncated?"
            )
    finally:
        container.close()
    table = np.unique(np.asarray(pts, dtype=np.int64))
    with _TABLE_LOCK:
        if len(_TABLE_CACHE) > 32:
            _TABLE_CACHE.clear()
        _TABLE_CACHE[key] = (table, warnings)
    return table, warnings


def frame_to_analysis(frame: Any, rotation: int, width: int,
                      reformatter: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """Small analysis views of a frame: ``(gray, bgr160)``.

    ``gray``: ``(h, width) uint8``; ``bgr160``: ``(h', 160, 3) uint8`` BGR thumbnail;
    both in display orientation.  One FFmpeg area downscale to ``width`` (measured
    faster than OpenCV's area filter on the Y plane at non-integer ratios), then
    OpenCV for grey and the thumbnail.
    """
    small = frame_to_bgr(frame, rotation, width, reformatter)
    gray = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
    th = max(2, round(small.shape[0] * 160 / small.shape[1]))
    return gray, cv2.resize(small, (160, th), interpolation=cv2.INTER_AREA)


def working_width(width: int, height: int, max_width: int | None = None) -> int | None:
    """The width a ``width`` x ``height`` (display) frame is converted at: ``max_width``
    if given, lowered so the frame has at most :func:`workbench.budget.frame_pixel_cap`
    pixels; ``None`` when the frame is used at its own size."""
    cap = frame_pixel_cap()
    limit = max_width if max_width is not None and max_width > 0 else None
    if width * height > cap:
        by_cap = max(2, int(width * math.sqrt(cap / (width * height))))
        limit = by_cap if limit is None else min(limit, by_cap)
    return limit


def frame_to_gray(frame: Any, rotation: int, max_width: int | None = None,
                  reformatter: Any = None) -> np.ndarray:
    """Convert an ``av.VideoFrame`` to ``(H, W) uint8`` grey (luma), rotated for display.

    8-bit planar YUV frames are read straight from their Y plane (no colour
    conversion; limited-range luma) and downscaled with OpenCV's area filter.  Never
    larger than the memory budget's working frame size (:func:`working_width`).
    """
    cw, ch = int(frame.width), int(frame.height)
    disp_w = ch if rotation in (90, 270) else cw
    max_width = working_width(disp_w, cw * ch // max(1, disp_w), max_width)
    if frame.format.name in _Y_PLANE_FORMATS:
        plane = frame.planes[0]
        y: np.ndarray = np.frombuffer(plane, np.uint8).reshape(ch, plane.line_size)[:, :cw]
        if max_width is not None and 0 < max_width < disp_w:
            scale = max_width / disp_w
            size = (max(2, round(cw * scale)), max(2, round(ch * scale)))
            y = cv2.resize(y, size, interpolation=cv2.INTER_AREA)
        return np.ascontiguousarray(_rotate(y, rotation))
    ref = reformatter if reformatter is not None else VideoReformatter()
    if max_width is not None and 0 < max_width < disp_w:
        scale = max_width / disp_w
        img = ref.reformat(frame, width=max(2, round(cw * scale)),
                           height=max(2, round(ch * scale)), format="gray",
                           interpolation="AREA")
    else:
        img = ref.reformat(frame, format="gray")
    return np.ascontiguousarray(_rotate(img.to_ndarray(), rotation))


def frame_to_bgr(frame: Any, rotation: int, max_width: int | None = None,
                 reformatter: Any = None) -> np.ndarray:
    """Convert an ``av.VideoFrame`` to ``(H, W, 3) uint8`` BGR, rotated for display.

    ``max_width`` bounds the *displayed* width; downscaling uses FFmpeg's area filter.
    Frames above the memory budget's working size (:func:`working_width`, about 1080p
    by default) are always downscaled: 4K/8K footage is analysed at that size.
    Pass a reused ``av.video.reformatter.VideoReformatter`` when converting many
    frames (it caches the scaler: ~10x faster than a fresh one per frame).
    """
    ref = reformatter if reformatter is not None else VideoReformatter()
    cw, ch = int(frame.width), int(frame.height)
    disp_w = ch if rotation in (90, 270) else cw
    max_width = working_width(disp_w, cw * ch // max(1, disp_w), max_width)
    if max_width is not None and 0 < max_width < disp_w:
        scale = max_width / disp_w
        tw = max(2, round(cw * scale))
        th = max(2, round(ch * scale))
        img = ref.reformat(frame, width=tw, height=th, format="bgr24", interpolation="AREA")
    else:
        img = ref.reformat(frame, format="bgr24")
    arr = img.to_ndarray()
    return np.ascontiguousarray(_rotate(arr, rotation))
