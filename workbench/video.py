"""Footage ingest with PyAV: hashing, probing and frame-accurate decoding.

Everything here treats the video file as untrusted input.  Problems become
:class:`~workbench.errors.VideoOpenError` (cannot open: missing, folder, empty,
not a video, MP4 without its index) or :class:`~workbench.errors.VideoDecodeError`
(opens but no frame decodes), each a one-line message naming the file.

Timestamps
    ``Frame.pts_s`` is the container's *presentation timestamp* of the frame, in
    seconds from the video stream's start time (what a player's clock shows). It
    comes straight from PyAV, so it is exact on variable-frame-rate files.  OpenCV
    was measured against PyAV on a VFR clip (``benchmarks/keyframes/vfr_timestamps.py``):
    its per-frame ``CAP_PROP_POS_MSEC`` matched, but its frame count, frame rate
    and frame-index seeking were wrong on VFR files, so the workbench uses PyAV only.

Frame indices
    ``Frame.index`` counts decoded frames in presentation order from 0 (the
    "decode index" a scrubber shows).  :func:`read_frame` seeks with the packet
    timestamp table and falls back to decoding from the start when the table and
    the decoder disagree, so the index is always the one :func:`iter_frames` gives.

Truncated or damaged files
    :func:`iter_frames` yields what decodes, then stops; it logs a warning and,
    when given a ``warnings`` list, appends the same one-line message to it.

Images are ``np.ndarray (H, W, 3) uint8`` in **BGR** order, already rotated to
the display orientation (the stream's display matrix is applied).
"""

from __future__ import annotations

import hashlib
import logging
import os
import struct
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
from av.video.reformatter import VideoReformatter

from .errors import UsageError, VideoDecodeError, VideoOpenError
from .progress import CancelToken, ProgressCallback, check_cancel, report
from .results import VideoRef

log = logging.getLogger(__name__)

PathLike = str | os.PathLike[str]
_FFMPEG_ERRORS: tuple[type[BaseException], ...] = (av.FFmpegError,)


# --- hashing --------------------------------------------------------------------------


def sha256_file(
    path: PathLike,
    *,
    chunk_size: int = 1 << 20,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> str:
    """Hex SHA-256 of a file's bytes, streamed in ``chunk_size`` pieces (constant memory).

    Raises:
        VideoOpenError: the file is missing, a folder, or unreadable.
        Cancelled: ``cancel`` was set.
    """
    p = Path(path)
    _check_file(p, allow_empty=True)
    total = max(1, p.stat().st_size)
    digest = hashlib.sha256()
    done = 0
    buf = bytearray(max(4096, int(chunk_size)))
    view = memoryview(buf)
    try:
        with p.open("rb", buffering=0) as fh:
            while True:
                check_cancel(cancel)
                n = fh.readinto(buf)
                if not n:
                    break
                digest.update(view[:n])
                done += n
                report(progress, "hashing", done / total)
    except OSError as exc:
        raise VideoOpenError(f"cannot read file ({exc.strerror or exc})", p) from exc
    return digest.hexdigest()


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


# --- probing --------------------------------------------------------------------------


@dataclass(frozen=True)
class VideoInfo:
    """What :func:`probe` learns about a video file.

    ``width``/``height`` are the *displayed* size (after ``rotation``); ``rotation``
    is the clockwise rotation in degrees (0/90/180/270) the display matrix asks for,
    like the legacy ``rotate`` tag.  ``fps`` is the average rate
    (``frame_count / duration_s``); ``variable_frame_rate`` is True when frame
    durations differ by more than 5 %.  ``frame_count`` counts the video packets
    (exact for all common codecs, no decoding); ``duration_s`` spans the first
    frame's start to the last frame's end.  ``sha256`` is of the original file's
    bytes ("" when probed with ``compute_hash=False``).
    """

    path: Path
    size_bytes: int
    sha256: str
    container: str
    codec: str
    width: int
    height: int
    fps: float
    frame_count: int
    duration_s: float
    rotation: int
    variable_frame_rate: bool
    coded_width: int = 0
    coded_height: int = 0
    pix_fmt: str = ""
    bit_rate: int = 0
    start_time_s: float = 0.0
    time_base: str = ""
    warnings: tuple[str, ...] = field(default_factory=tuple)

    def to_ref(self) -> VideoRef:
        """The :class:`~workbench.results.VideoRef` recorded in ``locate.json``."""
        return VideoRef(
            path=str(self.path),
            sha256=self.sha256,
            fps=float(self.fps),
            width=int(self.width),
            height=int(self.height),
            duration_s=float(self.duration_s),
            frame_count=int(self.frame_count),
            codec=self.codec,
        )

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict of every field (``path`` as a string)."""
        return {
            "path": str(self.path),
            "size_bytes": self.size_bytes,
            "sha256": self.sha256,
            "container": self.container,
            "codec": self.codec,
            "width": self.width,
            "height": self.height,
            "fps": round(float(self.fps), 6),
            "frame_count": self.frame_count,
            "duration_s": round(float(self.duration_s), 6),
            "rotation": self.rotation,
            "variable_frame_rate": self.variable_frame_rate,
            "coded_width": self.coded_width,
            "coded_height": self.coded_height,
            "pix_fmt": self.pix_fmt,
            "bit_rate": self.bit_rate,
            "start_time_s": round(float(self.start_time_s), 6),
            "time_base": self.time_base,
            "warnings": list(self.warnings),
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> VideoInfo:
        """Inverse of :meth:`to_json` (raises ``KeyError``/``TypeError`` if malformed)."""
        kw = dict(doc)
        kw["path"] = Path(kw["path"])
        kw["warnings"] = tuple(kw.get("warnings", ()))
        names = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in kw.items() if k in names})


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


def probe(
    path: PathLike,
    *,
    compute_hash: bool = True,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> VideoInfo:
    """Metadata of a video file, and the SHA-256 of its bytes.

    Reads every video packet (no decoding) for an exact frame count, duration and
    frame-rate variability, and decodes the first frame to prove the file decodes
    and to read its display rotation.

    Raises:
        VideoOpenError: missing, folder, empty, not a video, no video stream.
        VideoDecodeError: the stream opens but no frame decodes.
    """
    p = Path(path)
    size = _check_file(p)
    digest = sha256_file(p, progress=progress, cancel=cancel) if compute_hash else ""
    table, warnings = _pts_table(p, cancel)
    container = _open(p)
    try:
        stream = _video_stream(container, threads=False)
        cc = stream.codec_context
        tb = stream.time_base or Fraction(1, 90000)
        first = None
        try:
            for frame in container.decode(stream):
                first = frame
                break
        except _FFMPEG_ERRORS as exc:
            raise VideoDecodeError(f"no frame decodes ({exc})", p) from exc
        if first is None:
            raise VideoDecodeError("no frame decodes (empty or damaged video stream)", p)
        rotation = _rotation_cw(first)
        coded_w, coded_h = int(first.width), int(first.height)
        fmt = container.format.name or ""
        codec = cc.name or ""
        pix_fmt = cc.pix_fmt or ""
        bit_rate = int(container.bit_rate or 0)
        start_s = float(_start_pts(stream) * tb)
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    finally:
        container.close()

    n = max(1, int(table.size))
    if table.size >= 2:
        diffs = np.diff(table).astype(np.float64)
        step = float(np.median(diffs))
        tol = max(2.0, 0.05 * step)
        vfr = bool(np.any(np.abs(diffs - step) > tol))
        duration = float((table[-1] - table[0] + step) * tb)
        fps = n / duration if duration > 0 else float(rate or 0)
    else:
        vfr = False
        fps = float(rate) if rate else 0.0
        duration = 1.0 / fps if fps > 0 else 0.0
    w, h = (coded_h, coded_w) if rotation in (90, 270) else (coded_w, coded_h)
    for msg in warnings:
        log.warning("%s", msg)
    return VideoInfo(
        path=p,
        size_bytes=size,
        sha256=digest,
        container=fmt,
        codec=codec,
        width=w,
        height=h,
        fps=float(fps),
        frame_count=n,
        duration_s=duration,
        rotation=rotation,
        variable_frame_rate=vfr,
        coded_width=coded_w,
        coded_height=coded_h,
        pix_fmt=pix_fmt,
        bit_rate=bit_rate,
        start_time_s=start_s,
        time_base=f"{tb.numerator}/{tb.denominator}",
        warnings=tuple(warnings),
    )


# --- decoding -------------------------------------------------------------------------


@dataclass
class Frame:
    """One decoded frame.

    ``index``: decode index (presentation order, from 0); ``pts_s``: presentation
    time in seconds from the stream start; ``image``: ``(H, W, 3) uint8`` BGR in
    display orientation (possibly downscaled by ``max_width``).
    """

    index: int
    pts_s: float
    image: np.ndarray


@dataclass
class RawFrame:
    """A decoded PyAV frame before conversion (internal building block for keyframes).

    ``frame`` is an ``av.VideoFrame`` (YUV, coded orientation); ``rotation`` the
    clockwise display rotation to apply (see :func:`to_bgr`).
    """

    index: int
    pts_s: float
    frame: Any
    rotation: int
    reformatter: Any = None

    def to_bgr(self, max_width: int | None = None) -> np.ndarray:
        """``(H, W, 3) uint8`` BGR in display orientation, at most ``max_width`` wide."""
        return frame_to_bgr(self.frame, self.rotation, max_width, self.reformatter)

    def to_gray(self, max_width: int | None = None) -> np.ndarray:
        """``(H, W) uint8`` luma in display orientation, at most ``max_width`` wide."""
        return frame_to_gray(self.frame, self.rotation, max_width, self.reformatter)


def frame_to_gray(frame: Any, rotation: int, max_width: int | None = None,
                  reformatter: Any = None) -> np.ndarray:
    """Convert an ``av.VideoFrame`` to ``(H, W) uint8`` grey (luma), rotated for display."""
    ref = reformatter if reformatter is not None else VideoReformatter()
    cw, ch = int(frame.width), int(frame.height)
    disp_w = ch if rotation in (90, 270) else cw
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
    Pass a reused ``av.video.reformatter.VideoReformatter`` when converting many
    frames (it caches the scaler: ~10x faster than a fresh one per frame).
    """
    ref = reformatter if reformatter is not None else VideoReformatter()
    cw, ch = int(frame.width), int(frame.height)
    disp_w = ch if rotation in (90, 270) else cw
    if max_width is not None and 0 < max_width < disp_w:
        scale = max_width / disp_w
        tw = max(2, round(cw * scale))
        th = max(2, round(ch * scale))
        img = ref.reformat(frame, width=tw, height=th, format="bgr24", interpolation="AREA")
    else:
        img = ref.reformat(frame, format="bgr24")
    arr = img.to_ndarray()
    return np.ascontiguousarray(_rotate(arr, rotation))


def iter_raw_frames(
    path: PathLike,
    *,
    start_index: int = 0,
    stop_index: int | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    warnings: list[str] | None = None,
    expected_frames: int | None = None,
) -> Iterator[RawFrame]:
    """Decode ``path`` with threading and yield unconverted frames (see :class:`RawFrame`).

    Same semantics as :func:`iter_frames`; converting only the frames you need
    (``RawFrame.to_bgr``) is what makes the keyframe pass fast.
    """
    p = Path(path)
    if start_index < 0 or (stop_index is not None and stop_index < start_index):
        raise UsageError(f"bad frame range {start_index}..{stop_index}", p)
    container = _open(p)
    index = -1
    last_s = 0.0
    try:
        stream = _video_stream(container)
        tb = stream.time_base or Fraction(1, 90000)
        start = _start_pts(stream)
        total = expected_frames or int(stream.frames or 0)
        if not total and stream.duration and stream.average_rate:
            total = int(float(stream.duration * tb) * float(stream.average_rate))
        every = max(1, total // 200) if total else 25
        rate = float(stream.average_rate or 25)
        reformatter = VideoReformatter()
        decoded = container.decode(stream)
        while True:
            try:
                frame = next(decoded)
            except StopIteration:
                break
            except _FFMPEG_ERRORS as exc:
                _warn(
                    warnings,
                    f"{p}: decoding stopped after {index + 1} frames at {last_s:.3f} s "
                    f"({exc}); the file may be truncated or damaged",
                )
                break
            index += 1
            if index % every == 0:
                check_cancel(cancel)
                if total:
                    report(progress, "decoding", min(1.0, index / total))
                else:
                    report(progress, "decoding", -1.0)
            if index < start_index:
                continue
            if stop_index is not None and index >= stop_index:
                break
            last_s = float((frame.pts - start) * tb) if frame.pts is not None else index / rate
            yield RawFrame(index, last_s, frame, _rotation_cw(frame), reformatter)
        if stop_index is None:
            declared = container.duration / 1e6 if container.duration else 0.0
            if index < 0:
                raise VideoDecodeError("no frame decodes (empty or damaged video stream)", p)
            if declared > 1.0 and last_s + 2.0 / rate < 0.95 * declared - 0.5:
                _warn(
                    warnings,
                    f"{p}: only {last_s:.2f} s of {declared:.2f} s decode; truncated?",
                )
        report(progress, "decoding", 1.0)
    finally:
        container.close()


def _warn(warnings: list[str] | None, message: str) -> None:
    log.warning("%s", message)
    if warnings is not None and message not in warnings:
        warnings.append(message)


def iter_frames(
    path: PathLike,
    *,
    start_index: int = 0,
    stop_index: int | None = None,
    max_width: int | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    warnings: list[str] | None = None,
) -> Iterator[Frame]:
    """Decode ``path`` and yield :class:`Frame` objects ``start_index <= index < stop_index``.

    Images are ``(H, W, 3) uint8`` BGR in display orientation, downscaled to at most
    ``max_width`` pixels wide when given.  A truncated or damaged file yields what
    decodes, then logs a warning and appends it to ``warnings`` (if a list is given).

    Raises:
        VideoOpenError / VideoDecodeError: see module docs.  Cancelled: if ``cancel`` is set.
    """
    for raw in iter_raw_frames(
        path,
        start_index=start_index,
        stop_index=stop_index,
        progress=progress,
        cancel=cancel,
        warnings=warnings,
    ):
        yield Frame(raw.index, raw.pts_s, raw.to_bgr(max_width))


def read_frame(path: PathLike, index: int, *, max_width: int | None = None) -> Frame:
    """The frame with decode index ``index`` (exact, also on VFR files), for a scrubber.

    Seeks to the key frame before the target using the packet timestamp table and
    decodes forward; falls back to decoding from the start if they disagree.

    Raises:
        UsageError: ``index`` is out of range.  VideoOpenError / VideoDecodeError.
    """
    p = Path(path)
    table, _ = _pts_table(p)
    if not 0 <= int(index) < int(table.size):
        raise UsageError(f"frame index {index} out of range (0..{int(table.size) - 1})", p)
    target = int(table[int(index)])
    container = _open(p)
    try:
        stream = _video_stream(container)
        tb = stream.time_base or Fraction(1, 90000)
        start = _start_pts(stream)
        try:
            container.seek(target, backward=True, any_frame=False, stream=stream)
            for frame in container.decode(stream):
                if frame.pts is None or frame.pts > target:
                    break
                if frame.pts == target:
                    image = frame_to_bgr(frame, _rotation_cw(frame), max_width)
                    return Frame(int(index), float((frame.pts - start) * tb), image)
        except _FFMPEG_ERRORS as exc:
            log.debug("seek in %s failed (%s); decoding from the start", p, exc)
    finally:
        container.close()
    for fr in iter_frames(p, start_index=int(index), stop_index=int(index) + 1,
                          max_width=max_width):
        return fr
    raise VideoDecodeError(f"frame {index} does not decode", p)
