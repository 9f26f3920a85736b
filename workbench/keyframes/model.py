"""Keyframes' types: the frames an investigator would pick, with their overlay masks.

A :class:`KeyframeSet` holds the footage's :class:`~workbench.video.model.VideoInfo`,
its :class:`Shot` list (each with its :class:`SubShot` views) and the selected
:class:`Keyframe` images; :class:`KeyframeConfig` tunes the pass.  The pass itself is
:func:`workbench.keyframes.extract.extract_keyframes`; files are written and read by
:mod:`workbench.keyframes.store`.

Conventions: images ``(H, W, 3) uint8`` BGR, full resolution, display
orientation; masks ``(H, W) uint8``, 255 = burned-in overlay to ignore.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import cv2
import numpy as np

from workbench.errors import KeyframeError
from workbench.hashing import sha256_bytes
from workbench.results import KeyframeRef
from workbench.video.model import Frame, VideoInfo

# fast, still lossless: zlib level 1, the "up" row filter on every row and run-length
# matching (libpng's adaptive filter choice costs ~2.5x the time for a larger file on
# footage: 1920x1080, 36 vs 101 ms, 1050 vs 1202 KB)
_PNG_PARAMS = [cv2.IMWRITE_PNG_COMPRESSION, 1, cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_FILTER_UP,
               cv2.IMWRITE_PNG_STRATEGY, cv2.IMWRITE_PNG_STRATEGY_RLE]


@dataclass
class QualityThresholds:
    """When a frame is black, blank or text-dominated (title card, caption slate)."""

    black_luma: float = 22.0
    black_fraction: float = 0.8  # this share of pixels darker than black_luma: black (HUD aside)
    blank_contrast: float = 6.0
    text_flat_fraction: float = 0.6
    text_dominant_fraction: float = 0.55
    card_dominant_fraction: float = 0.75  # one background level covers this much: a card


@dataclass
class OverlayConfig:
    """Thresholds of the overlay detector (grey levels 0-255, pixels at the overlay size).

    ``sample_px``: measured scene motion (median over tracked points, summed over
    frames) since the last sample needed to take another; ``min_gap``: frames
    between samples; ``max_width``: width of the overlay analysis (full resolution
    up to this, so thin HUD strokes stay resolved); ``cap_px``: displacement at
    which the first-order change prediction saturates; ``min_predicted``: summed
    predicted change for a pixel to be decidable; ``max_ratio``: actual / predicted
    change below which a decidable pixel is overlay; ``scene_ratio``: ratio above
    which it is clearly scene; ``coherence``: minimum |mean gradient| / mean
    |gradient| of an overlay pixel; ``static_std``: temporal std of a constant
    pixel; ``grow``: steps the mask grows into constant pixels (0 = off: it leaks
    into flat scene); ``max_hole``: enclosed holes up to this many pixels are
    filled (letter counters, outlined boxes); ``close_px``: gaps up to twice this
    along rows/columns are bridged (HUD lines, text rows); ``dilate_px``: dilation
    at full resolution.  ``check_every``, ``saturated_gain``, ``saturated_stride``: every
    ``check_every`` samples of a shot, when its overlay decision changed on less than
    ``saturated_gain`` of the pixels, the shot is sampled ``saturated_stride`` times less
    often (1 = never).
    """

    sample_px: float = 3.0
    min_gap: int = 3
    max_width: int = 960
    cap_px: float = 2.0
    min_predicted: float = 120.0
    max_ratio: float = 0.35
    scene_ratio: float = 0.7
    coherence: float = 0.5
    static_std: float = 5.0
    grow: int = 0
    max_hole: int = 150
    close_px: int = 2
    dilate_px: int = 1
    check_every: int = 4
    saturated_gain: float = 0.002
    saturated_stride: int = 4


@dataclass
class KeyframeConfig:
    """Tuning of :func:`extract_keyframes` (defaults suit 10 s - 5 min strike footage).

    Caps: ``max_keyframes`` (``None`` = no cap; shots are covered first, then the
    sharpest sub-shot keyframes), ``max_per_shot``.  ``analysis_width``: width of the
    low-resolution analysis frames.  Cuts: ``cut_threshold``/``cut_ratio`` (see
    :class:`~workbench.keyframes.shots.CutDetector`), ``min_shot_s``.  Sub-shots: ``zoom_step``
    (scale factor), ``pan_step`` (frame widths), ``max_angle`` (degrees),
    ``min_subshot_s``, ``track_every`` (run the motion tracker on every n-th frame;
    it follows the motion of the frames between).  ``dup_hamming``: perceptual-hash
    distance (of 64 bits) at or below which two keyframes are near-duplicates (the
    sharper is kept).  ``min_frames``: shorter videos are refused.
    """

    max_keyframes: int | None = 12
    max_per_shot: int = 4
    analysis_width: int = 320
    cut_threshold: float = 27.0
    cut_ratio: float = 3.0
    min_shot_s: float = 0.25
    zoom_step: float = 1.6
    pan_step: float = 0.5
    max_angle: float = 30.0
    min_subshot_s: float = 0.5
    track_every: int = 4
    dup_hamming: int = 8
    min_frames: int = 2
    quality: QualityThresholds = field(default_factory=QualityThresholds)
    overlay: OverlayConfig = field(default_factory=OverlayConfig)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict of every setting."""
        return asdict(self)

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> KeyframeConfig:
        """Inverse of :meth:`to_json`; unknown keys are ignored."""
        kw = {k: v for k, v in doc.items() if k in cls.__dataclass_fields__}
        if isinstance(kw.get("quality"), dict):
            kw["quality"] = QualityThresholds(**kw["quality"])
        if isinstance(kw.get("overlay"), dict):
            kw["overlay"] = OverlayConfig(**kw["overlay"])
        return cls(**kw)


@dataclass
class SubShot:
    """Frames ``[start_frame, end_frame)`` of one view; ``reason`` it started."""

    start_frame: int
    end_frame: int
    reason: str  # "shot", "zoom", "pan", "rotate", "lost"


@dataclass
class Shot:
    """Frames ``[start_frame, end_frame)`` between two boundaries.

    ``boundary``: what started it ("start", "cut", "fade"); ``kind``: "scene",
    "title" (text card), "black" or "blank" by the majority of its frames;
    ``overlay``: how its mask was obtained ("estimated", "borrowed" from the nearest
    shot with motion, "none"); ``overlay_fraction``: share of masked pixels.
    """

    index: int
    start_frame: int
    end_frame: int
    start_s: float
    end_s: float
    boundary: str
    kind: str = "scene"
    subshots: list[SubShot] = field(default_factory=list)
    overlay: str = "none"
    overlay_fraction: float = 0.0


def encode_png(image: np.ndarray) -> bytes:
    """Lossless PNG bytes of an image/mask (deterministic for a given OpenCV build).

    Raises:
        KeyframeError: OpenCV cannot encode it.
    """
    ok, buf = cv2.imencode(".png", image, _PNG_PARAMS)
    if not ok:
        raise KeyframeError(f"cannot encode a {image.shape} {image.dtype} image as PNG")
    return buf.tobytes()


@dataclass
class Keyframe:
    """A frame selected for matching.

    ``image``: ``(H, W, 3) uint8`` BGR, full resolution; ``overlay_mask``:
    ``(H, W) uint8``, 255 = burned-in overlay; ``sha256``: of the lossless PNG that
    :func:`save_keyframes` writes; ``time_s``: presentation time (exact PTS).
    """

    id: str
    frame_index: int
    time_s: float
    image: np.ndarray
    overlay_mask: np.ndarray
    sharpness: float
    shot_index: int
    sha256: str
    manual: bool = False
    _png: bytes | None = field(default=None, repr=False, compare=False)

    def png_bytes(self) -> bytes:
        """The PNG encoding whose SHA-256 is ``sha256`` (cached)."""
        if self._png is None:
            self._png = encode_png(self.image)
        return self._png

    def overlay_fraction(self) -> float:
        """Share of the frame covered by the overlay mask (0-1)."""
        return float(np.count_nonzero(self.overlay_mask)) / max(1, self.overlay_mask.size)

    def to_ref(self, image: str | None = None, mask: str | None = None) -> KeyframeRef:
        """The :class:`~workbench.results.KeyframeRef` for ``locate.json``."""
        return KeyframeRef(
            id=self.id,
            frame_index=int(self.frame_index),
            time_s=float(self.time_s),
            sha256=self.sha256,
            sharpness=float(self.sharpness),
            image=image,
            mask=mask,
        )


def make_keyframe(
    frame: Frame,
    overlay_mask: np.ndarray | None,
    *,
    id: str,
    shot_index: int = -1,
    manual: bool = True,
    sharpness: float | None = None,
    keep_png: bool = True,
) -> Keyframe:
    """Build a :class:`Keyframe` from a decoded frame (e.g. one the analyst picked).

    ``frame.image`` must be ``(H, W, 3) uint8`` BGR; ``overlay_mask`` ``(H, W) uint8``
    or ``None`` (no overlay).  Sharpness defaults to the variance of the Laplacian.
    ``keep_png=False`` drops the cached PNG bytes (less memory; re-encoded on save,
    byte-identical).

    Raises:
        KeyframeError: wrong image or mask shape/dtype.
    """
    image = frame.image
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise KeyframeError(f"keyframe image must be (H, W, 3) uint8 BGR, got {image.shape}")
    h, w = image.shape[:2]
    if overlay_mask is None:
        mask = np.zeros((h, w), np.uint8)
    else:
        if overlay_mask.shape != (h, w):
            raise KeyframeError(f"overlay mask {overlay_mask.shape} does not match image {(h, w)}")
        mask = np.where(overlay_mask > 0, 255, 0).astype(np.uint8)
    if sharpness is None:
        gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        sharpness = float(cv2.Laplacian(gray, cv2.CV_64F).var())
    png = encode_png(image)
    return Keyframe(
        id=id,
        frame_index=int(frame.index),
        time_s=float(frame.pts_s),
        image=image,
        overlay_mask=mask,
        sharpness=float(sharpness),
        shot_index=int(shot_index),
        sha256=sha256_bytes(png),
        manual=manual,
        _png=png if keep_png else None,
    )


@dataclass
class KeyframeSet:
    """The result of :func:`extract_keyframes`: video metadata, keyframes in time order,
    the shots found, warnings (e.g. truncated file) and run statistics."""

    video: VideoInfo
    keyframes: list[Keyframe]
    shots: list[Shot]
    warnings: list[str] = field(default_factory=list)
    config: KeyframeConfig = field(default_factory=KeyframeConfig)
    stats: dict[str, Any] = field(default_factory=dict)

    def shot_of(self, frame_index: int) -> Shot | None:
        """The shot containing ``frame_index`` (``None`` outside every shot)."""
        return next((s for s in self.shots if s.start_frame <= frame_index < s.end_frame), None)

    def mask_for_frame(self, frame_index: int) -> np.ndarray | None:
        """An overlay mask for any frame (e.g. a keyframe the analyst adds by hand).

        The mask of a keyframe from the same shot, else of the nearest keyframe in
        time (burned-in overlays rarely change within a video); ``None`` without
        keyframes.  ``(H, W) uint8``, 255 = overlay; a copy.
        """
        if not self.keyframes:
            return None
        shot = self.shot_of(frame_index)
        same = [k for k in self.keyframes if shot is not None and k.shot_index == shot.index]
        pool = same or self.keyframes
        best = min(pool, key=lambda k: (abs(k.frame_index - frame_index), k.frame_index))
        return best.overlay_mask.copy()

    def by_id(self, kf_id: str) -> Keyframe:
        """The keyframe with this id (``KeyError`` if absent)."""
        for kf in self.keyframes:
            if kf.id == kf_id:
                return kf
        raise KeyError(kf_id)
