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

import logging
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import numpy as np
from av.video.reformatter import VideoReformatter

from workbench.errors import UsageError, VideoDecodeError, VideoOpenError
from workbench.hashing import sha256_file
from workbench.progress import CancelToken, ProgressCallback, check_cancel, report
from workbench.video.io import (
    _FFMPEG_ERRORS,
    PathLike,
    _check_file,
    _open,
    _pts_table,
    _rotation_cw,
    _start_pts,
    _video_stream,
    frame_to_analysis,
    frame_to_bgr,
    frame_to_gray,
)
from workbench.video.model import Frame, RawFrame, VideoInfo

__all__ = [
    "Frame",
    "RawFrame",
    "VideoInfo",
    "frame_to_analysis",
    "frame_to_bgr",
    "frame_to_gray",
    "iter_frames",
    "iter_raw_frames",
    "probe",
    "read_frame",
]

log = logging.getLogger(__name__)


# --- probing --------------------------------------------------------------------------


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
    digest = sha256_file(p, progress=progress, cancel=cancel,
                         error=VideoOpenError)[0] if compute_hash else ""
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
        tb_num, tb_den = int(tb.numerator), int(tb.denominator)
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
            # int * int / int is correctly rounded: the same float as float(Fraction), faster
            last_s = ((frame.pts - start) * tb_num / tb_den if frame.pts is not None
                      else index / rate)
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
