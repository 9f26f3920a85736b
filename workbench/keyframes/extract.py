"""The keyframe pass: :func:`extract_keyframes`.

It walks the video once at low resolution, splits it into shots (hard cuts, fades)
and sub-shots (fast zoom, pan, rotation: the view shows new ground), keeps the
sharpest usable frame of each sub-shot at full resolution, rejects black, blank
and text-dominated frames (title cards), removes near-duplicates (perceptual
hash) and estimates one burned-in overlay mask per shot
(:mod:`workbench.keyframes.overlay`).

One streaming decode (PyAV, threaded).  The decode and the per-frame measurements,
which depend on no state of the pass, run on a thread of their own up to 8 frames
ahead (:func:`~workbench.keyframes.resources.read_ahead`); cuts, tracking, the
overlay statistics and the choice of frames follow on the calling thread, in frame
order, so the result does not depend on the threads.  Per frame, only a small analysis image
(``analysis_width`` wide, ``(h, w, 3) uint8`` BGR) is made; the full-resolution
frame is converted only when it becomes the sharpest usable frame of its
sub-shot's end.  Memory stays flat in video length: per-shot running sums for
the overlay mask, one held decoder frame per sub-shot, and the selected
full-resolution candidates (spilled to a temporary folder beyond 8 MB).

Selection: the sharpest usable frame of each sub-shot -> near-duplicates removed
(perceptual hash, the sharper kept) -> at most ``max_per_shot`` per shot ->
at most ``max_keyframes``, covering as many shots as possible first.
Deterministic: same file and config, same keyframes and bytes.
"""

from __future__ import annotations

import logging
import os
import time
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from workbench.errors import KeyframeError, VideoDecodeError
from workbench.keyframes.model import (
    Keyframe,
    KeyframeConfig,
    KeyframeSet,
    Shot,
    SubShot,
    make_keyframe,
)
from workbench.keyframes.overlay import (
    OverlayAccumulator,
    combine_evidence,
    empty_mask,
    upscale_mask,
)
from workbench.keyframes.resources import CandidateStore, opencv_one_thread, read_ahead
from workbench.keyframes.shots import CutDetector, FrameStats, MotionTracker, measure
from workbench.keyframes.views import analysis_views, phash64
from workbench.progress import CancelToken, ProgressCallback, check_cancel, report
from workbench.video.model import Frame, RawFrame
from workbench.video.reader import iter_raw_frames, probe

log = logging.getLogger(__name__)


_ENCODERS = 2  # threads encoding the chosen keyframes' PNGs


@dataclass
class _Candidate:
    frame_index: int
    pts_s: float
    sharpness: float
    shot_index: int
    phash: np.ndarray  # (64,) bool, views.phash64
    slot: int


class _Pass:
    """State of the streaming pass (one instance per extraction)."""

    def __init__(self, config: KeyframeConfig, fps: float) -> None:
        self.cfg = config
        self.fps = fps if fps > 0 else 25.0
        self.cuts = CutDetector(threshold=config.cut_threshold, ratio=config.cut_ratio,
                                min_gap=max(1, round(config.min_shot_s * self.fps)))
        self.tracker = MotionTracker(zoom_step=config.zoom_step, pan_step=config.pan_step,
                                     max_angle=config.max_angle)
        self.min_sub = max(1, round(config.min_subshot_s * self.fps))
        self.store = CandidateStore()
        self.shots: list[Shot] = []
        self.shot_evidence: list[tuple[tuple[int, ...], bytes]] = []
        self.video_acc: OverlayAccumulator | None = None
        self.cands: list[_Candidate] = []
        self.kinds: dict[str, int] = {"ok": 0, "black": 0, "blank": 0, "text": 0}
        self.acc: OverlayAccumulator | None = None
        self.shot_kinds: dict[str, int] = {}
        self.shot_motion = 0.0  # summed content change inside the shot
        self.shot_contrast = 0.0  # summed grey std
        self.sub_start = 0
        self.sub_reason = "shot"
        self.best: tuple[RawFrame, FrameStats, np.ndarray] | None = None
        self.last_index = -1
        self.prev_usable = False
        self.since_track = 0
        self.last_pts = 0.0
        self.analysis_shape: tuple[int, int] | None = None
        self.tgray = np.zeros((2, 2), np.uint8)
        self.ov_shape: tuple[int, ...] = (2, 2)
        self.to_ov: np.ndarray = np.eye(3)
        self.from_ov: np.ndarray = np.eye(3)
        self._scaled = False

    # -- boundaries ------------------------------------------------------------------

    def start_shot(self, index: int, pts_s: float, boundary: str, gray: np.ndarray) -> None:
        self.shots.append(Shot(len(self.shots), index, index, pts_s, pts_s, boundary))
        if self.acc is None:
            self.acc = OverlayAccumulator(self.ov_shape, self.cfg.overlay)
        else:
            self.acc.reset()  # same arrays for every shot: memory flat in the number of shots
        if self.video_acc is None:
            self.video_acc = OverlayAccumulator(self.ov_shape, self.cfg.overlay)
        self.shot_kinds = {}
        self.shot_motion = 0.0
        self.shot_contrast = 0.0
        self.start_subshot(index, "shot")

    def start_subshot(self, index: int, reason: str) -> None:
        self.sub_start = index
        self.sub_reason = reason
        self.best = None
        self.since_track = 0
        self.tracker.reset(self.tgray)

    def _scale_tracker(self, tgray: np.ndarray) -> None:
        """Sets ``self.to_ov`` (tracker -> overlay px) from the first tracker image."""
        if not self._scaled:
            self._scaled = True
            th, tw = tgray.shape
            oh, ow = self.ov_shape
            self.to_ov = np.diag([ow / tw, oh / th, 1.0])
            self.from_ov = np.linalg.inv(self.to_ov)

    def end_subshot(self, end: int) -> None:
        shot = self.shots[-1]
        shot.subshots.append(SubShot(self.sub_start, end, self.sub_reason))
        if self.best is None:
            return
        raw, stats, gray = self.best
        self.best = None
        image = raw.to_bgr()
        phash = phash64(gray)
        slot = self.store.put(image)
        self.cands.append(_Candidate(raw.index, raw.pts_s, stats.sharpness, shot.index, phash,
                                     slot))

    def end_shot(self, end: int, end_s: float) -> None:
        if not self.shots:
            return
        self.end_subshot(end)
        shot = self.shots[-1]
        shot.end_frame, shot.end_s = end, end_s
        if self.shot_kinds:
            top = max(self.shot_kinds.items(), key=lambda kv: (kv[1], kv[0]))[0]
            shot.kind = {"ok": "scene", "text": "title"}.get(top, top)
            n = max(1, sum(self.shot_kinds.values()))
            card = (self.shot_motion / n < 1.0 and end_s - shot.start_s >= 0.5
                    and self.shot_contrast / n >= 2 * self.cfg.quality.blank_contrast)
            if shot.kind in ("black", "blank") and card:
                shot.kind = "title"  # a static dark card with text (title, caption slate)
        if self.acc is not None:
            ev = self.acc.evidence()  # stored compressed: one small blob per shot
            self.shot_evidence.append((ev.shape, zlib.compress(ev.tobytes(), 1)))
            if self.video_acc is not None:
                self.video_acc.merge(self.acc)
            shot.overlay = "estimated" if self.acc.samples else "borrowed"

    # -- per frame -------------------------------------------------------------------

    def feed(self, seen: _Seen) -> None:
        raw, gray, stats = seen.raw, seen.gray, seen.stats
        if self.analysis_shape is None:
            self.analysis_shape = gray.shape
            self.ov_shape = raw.to_gray(self.cfg.overlay.max_width).shape
        self.tgray = seen.tgray
        self._scale_tracker(seen.tgray)
        self.kinds[stats.kind] = self.kinds.get(stats.kind, 0) + 1
        event = self.cuts.update(stats)
        step, step_px = np.eye(3), 0.0
        if not self.shots:
            self.start_shot(raw.index, raw.pts_s, "start", gray)
        elif event is not None:
            self.end_shot(raw.index, raw.pts_s)
            self.start_shot(raw.index, raw.pts_s, event, gray)
        elif stats.usable and not self.prev_usable:
            self.tracker.reset(self.tgray)  # re-anchor after black/text frames
            self.since_track = 0
        elif (self.since_track + 1) % max(1, self.cfg.track_every) == 0:
            self.since_track = 0
            change = self.tracker.update(self.tgray)
            step, step_px = self.tracker.step, self.tracker.step_px  # before a re-anchor
            if change is not None and raw.index - self.sub_start >= self.min_sub:
                self.end_subshot(raw.index)
                self.start_subshot(raw.index, change)
        else:
            self.since_track += 1  # the next tracked frame covers this one's motion
        self.shot_kinds[stats.kind] = self.shot_kinds.get(stats.kind, 0) + 1
        if event is None:
            self.shot_motion += stats.content
        self.shot_contrast += stats.contrast
        if self.acc is not None:
            if stats.usable:
                step = self.to_ov @ step @ self.from_ov
                if self.acc.wants(step, step_px * float(self.to_ov[0, 0])):
                    self.acc.sample(raw.to_gray(self.cfg.overlay.max_width))
            else:
                self.acc.break_sequence()
        if stats.usable and (self.best is None or stats.sharpness > self.best[1].sharpness):
            self.best = (raw, stats, gray)
        self.last_index, self.last_pts = raw.index, raw.pts_s
        self.prev_usable = stats.usable


@dataclass
class _Seen:
    """One decoded frame and what the per-frame analysis measured of it."""

    raw: RawFrame
    gray: np.ndarray  # (h, analysis_width) uint8
    tgray: np.ndarray  # (h / 2, analysis_width / 2) uint8: the motion tracker's image
    stats: FrameStats


def _analysed(p: Path, cfg: KeyframeConfig, progress: ProgressCallback | None,
              cancel: CancelToken | None, warnings: list[str],
              expected: int) -> Iterator[_Seen]:
    """Decode ``p`` and measure every frame: the pass's stateless part, which
    :func:`read_ahead` runs on a thread of its own."""
    prev_hsv: np.ndarray | None = None
    for raw in iter_raw_frames(p, progress=progress, cancel=cancel, warnings=warnings,
                               expected_frames=expected):
        gray, thumb = analysis_views(raw, cfg.analysis_width)
        stats, prev_hsv = measure(raw.index, raw.pts_s, thumb, gray, prev_hsv, cfg.quality)
        h, w = gray.shape
        tw = max(64, w // 2)
        tgray = cv2.resize(gray, (tw, max(2, round(h * tw / w))), interpolation=cv2.INTER_AREA)
        yield _Seen(raw, gray, tgray, stats)


def _shot_masks(st: _Pass, keep: set[int]) -> dict[int, np.ndarray]:
    """Analysis-size overlay masks of the shots in ``keep`` (shot evidence, gaps filled
    from the video's); sets every shot's ``overlay_fraction``.  Only the kept masks are
    held: memory does not grow with the number of shots."""
    if st.video_acc is None:
        return {}
    video = st.video_acc.evidence()
    masks = {}
    for shot, (shape, blob) in zip(st.shots, st.shot_evidence, strict=True):
        ev = np.frombuffer(zlib.decompress(blob), np.uint8).reshape(shape)
        mask = combine_evidence(ev, video, st.cfg.overlay)
        shot.overlay_fraction = round(float(np.count_nonzero(mask)) / mask.size, 6)
        if shot.index in keep:
            masks[shot.index] = mask
    return masks


def _select(cands: list[_Candidate], cfg: KeyframeConfig, shots: list[Shot]) -> list[_Candidate]:
    """Near-duplicate removal, per-shot cap, total cap (shots covered first); time order."""
    kept: list[_Candidate] = []
    for c in sorted(cands, key=lambda c: (-c.sharpness, c.frame_index)):
        if all(np.count_nonzero(c.phash != k.phash) > cfg.dup_hamming for k in kept):
            kept.append(c)
    per_shot: dict[int, list[_Candidate]] = {}
    for c in kept:  # already sharpest first
        lst = per_shot.setdefault(c.shot_index, [])
        if len(lst) < max(1, cfg.max_per_shot):
            lst.append(c)
    firsts = [lst[0] for lst in per_shot.values()]
    dur = {s.index: s.end_frame - s.start_frame for s in shots}
    firsts.sort(key=lambda c: (-dur.get(c.shot_index, 0), c.frame_index))
    rest = sorted((c for lst in per_shot.values() for c in lst[1:]),
                  key=lambda c: (-c.sharpness, c.frame_index))
    ranked = firsts + rest
    if cfg.max_keyframes is not None:
        ranked = ranked[: max(1, cfg.max_keyframes)]
    return sorted(ranked, key=lambda c: c.frame_index)


def extract_keyframes(
    path: str | os.PathLike[str],
    config: KeyframeConfig | None = None,
    *,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> KeyframeSet:
    """Select keyframes of a video (see the module docs).

    Raises:
        VideoOpenError / VideoDecodeError: unreadable footage.
        KeyframeError: too few frames, or no usable (non-black, non-text) frame.
        Cancelled: ``cancel`` was set.
    """
    with opencv_one_thread():
        return _extract(Path(path), config or KeyframeConfig(), progress, cancel)


def _extract(p: Path, config: KeyframeConfig, progress: ProgressCallback | None,
             cancel: CancelToken | None) -> KeyframeSet:
    t0 = time.perf_counter()
    info = probe(p, progress=progress, cancel=cancel)
    warnings: list[str] = list(info.warnings)
    if info.frame_count < config.min_frames:
        raise KeyframeError(
            f"only {info.frame_count} frame(s): too short for keyframe extraction "
            f"(need at least {config.min_frames})", p)
    t_probe = time.perf_counter()
    st = _Pass(config, info.fps)
    try:
        def analyse(relay: ProgressCallback) -> Iterator[_Seen]:
            return _analysed(p, config, relay, cancel, warnings, info.frame_count)

        for seen in read_ahead(analyse, progress):
            st.feed(seen)
        if not st.shots:
            raise VideoDecodeError("no frame decodes", p)
        if st.last_index + 1 < config.min_frames:
            raise KeyframeError(
                f"only {st.last_index + 1} frame(s) decode: too short for keyframe extraction "
                f"(need at least {config.min_frames})", p)
        st.end_shot(st.last_index + 1, st.last_pts + 1.0 / st.fps)
        t_pass = time.perf_counter()
        check_cancel(cancel)
        report(progress, "selecting keyframes", 0.0)
        if st.video_acc is not None and st.video_acc.samples < 3 and st.cands:
            warnings.append(f"{p}: the scene barely moves: burned-in overlays cannot be told "
                            "from scene; keyframe masks may miss them")
        if not st.cands:
            raise KeyframeError("no usable frame: every frame is black, blank or a text card", p)
        chosen = _select(st.cands, config, st.shots)
        masks = _shot_masks(st, {c.shot_index for c in chosen})
        total = len(chosen)

        def build(n: int, c: _Candidate) -> Keyframe:
            check_cancel(cancel)
            image = st.store.get(c.slot)
            h, w = image.shape[:2]
            mask = (upscale_mask(masks[c.shot_index], w, h, config.overlay.dilate_px)
                    if c.shot_index in masks else empty_mask(w, h))
            return make_keyframe(Frame(c.frame_index, c.pts_s, image), mask,
                                 id=f"kf{n:04d}", shot_index=c.shot_index, manual=False,
                                 sharpness=c.sharpness, keep_png=False)

        # two at a time: a keyframe's hash needs its PNG, and PNG encoding releases the GIL
        with ThreadPoolExecutor(_ENCODERS) as pool:
            built = [pool.submit(build, n, c) for n, c in enumerate(chosen, start=1)]
            keyframes: list[Keyframe] = []
            for n, future in enumerate(built, start=1):
                keyframes.append(future.result())
                report(progress, "selecting keyframes", n / total)
    finally:
        st.store.close()
        st.best = None
    t_end = time.perf_counter()
    frames = st.last_index + 1
    stats = {
        "frames_decoded": frames,
        "frame_kinds": dict(st.kinds),
        "shots": len(st.shots),
        "subshots": sum(len(s.subshots) for s in st.shots),
        "candidates": len(st.cands),
        "overlay_samples": st.video_acc.samples if st.video_acc is not None else 0,
        "analysis_size": list(reversed(st.analysis_shape)) if st.analysis_shape else None,
        "overlay_size": list(reversed(st.ov_shape)),
        "seconds": {"probe_hash": round(t_probe - t0, 3), "pass": round(t_pass - t_probe, 3),
                    "select": round(t_end - t_pass, 3)},
    }
    log.info("%s: %d frames, %d shots, %d keyframes in %.1f s", p, frames, len(st.shots),
             len(keyframes), t_end - t0)
    return KeyframeSet(video=info, keyframes=keyframes, shots=st.shots, warnings=warnings,
                       config=config, stats=stats)
