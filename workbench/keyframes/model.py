"""Keyframes: the frames an investigator would pick, with their overlay masks.

:func:`extract_keyframes` (implemented in :mod:`workbench.keyframe_extract`) walks
the video once at low resolution, splits it into shots (hard cuts, fades) and
sub-shots (fast zoom, pan, rotation: the view shows new ground), keeps the
sharpest usable frame of each sub-shot at full resolution, rejects black, blank
and text-dominated frames (title cards), removes near-duplicates (perceptual
hash) and estimates one burned-in overlay mask per shot (:mod:`workbench.overlay`).

On disk (:func:`save_keyframes`, atomic): ``kf0001.png`` (lossless, BGR as
written by OpenCV), ``kf0001_mask.png`` (grey, 255 = overlay) and
``keyframes.json`` (schema ``workbench.keyframes/1``: video metadata and hash,
shots, and per keyframe id, frame index, time, SHA-256 of the PNG, sharpness,
shot index and file names).  :func:`load_keyframes` reads it back and checks
every PNG against its recorded SHA-256.

Conventions: images ``(H, W, 3) uint8`` BGR, full resolution, display
orientation; masks ``(H, W) uint8``, 255 = burned-in overlay to ignore.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from workbench import __version__
from workbench.atomic import atomic_directory, atomic_write_bytes
from workbench.errors import KeyframeError, OutputError
from workbench.hashing import sha256_bytes
from workbench.keyframes.overlay import OverlayConfig
from workbench.keyframes.shots import QualityThresholds
from workbench.progress import CancelToken, ProgressCallback
from workbench.results import KeyframeRef
from workbench.video.reader import Frame, VideoInfo

SCHEMA = "workbench.keyframes/1"
JSON_NAME = "keyframes.json"
_PNG_PARAMS = [cv2.IMWRITE_PNG_COMPRESSION, 1]  # fast; still lossless


@dataclass
class KeyframeConfig:
    """Tuning of :func:`extract_keyframes` (defaults suit 10 s - 5 min strike footage).

    Caps: ``max_keyframes`` (``None`` = no cap; shots are covered first, then the
    sharpest sub-shot keyframes), ``max_per_shot``.  ``analysis_width``: width of the
    low-resolution analysis frames.  Cuts: ``cut_threshold``/``cut_ratio`` (see
    :class:`~workbench.shots.CutDetector`), ``min_shot_s``.  Sub-shots: ``zoom_step``
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
    track_every: int = 2
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


def extract_keyframes(
    path: str | os.PathLike[str],
    config: KeyframeConfig | None = None,
    *,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> KeyframeSet:
    """Select keyframes of a video (see the module docs and :mod:`workbench.keyframe_extract`).

    Raises:
        VideoOpenError / VideoDecodeError: unreadable footage.
        KeyframeError: too few frames, or no usable (non-black, non-text) frame.
        Cancelled: ``cancel`` was set.
    """
    from workbench.keyframes.extract import extract

    return extract(path, config or KeyframeConfig(), progress=progress, cancel=cancel)


# --- files ----------------------------------------------------------------------------


def _names(kf: Keyframe) -> tuple[str, str]:
    return f"{kf.id}.png", f"{kf.id}_mask.png"


def keyframes_to_json(
    kset: KeyframeSet, *, mask_pngs: Sequence[bytes] | None = None
) -> dict[str, Any]:
    """The ``keyframes.json`` document for ``kset`` (file names as save_keyframes writes).

    ``mask_pngs``: the masks' PNG encodings, one per keyframe, when the caller already
    has them (``save_keyframes`` writes them); encoded here otherwise.
    """
    if mask_pngs is None:
        mask_pngs = [encode_png(kf.overlay_mask) for kf in kset.keyframes]
    kfs = []
    for kf, mask_png in zip(kset.keyframes, mask_pngs, strict=True):
        image, mask = _names(kf)
        h, w = kf.image.shape[:2]
        kfs.append({
            "id": kf.id, "frame_index": kf.frame_index, "time_s": round(kf.time_s, 6),
            "sha256": kf.sha256, "sharpness": round(float(kf.sharpness), 4),
            "shot_index": kf.shot_index, "manual": kf.manual, "width": w, "height": h,
            "image": image, "mask": mask,
            "mask_sha256": sha256_bytes(mask_png),
            "overlay_fraction": round(kf.overlay_fraction(), 6),
        })
    return {
        "schema": SCHEMA,
        "software": f"workbench {__version__}",
        "video": kset.video.to_json(),
        "config": kset.config.to_json(),
        "shots": [asdict(s) for s in kset.shots],
        "keyframes": kfs,
        "warnings": list(kset.warnings),
        "stats": kset.stats,
    }


def save_keyframes(kset: KeyframeSet, out_dir: str | os.PathLike[str]) -> Path:
    """Write PNGs, masks and ``keyframes.json`` into ``out_dir`` atomically; return the JSON path.

    The folder is built beside ``out_dir`` and swapped in whole: on error nothing is
    half-written and an existing ``out_dir`` is left as it was.  An existing folder
    is replaced only if it is empty or holds a previous ``keyframes.json``.

    Raises:
        OutputError: ``out_dir`` cannot be written.
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise OutputError("exists and is not a folder", out)
    if out.is_dir() and any(out.iterdir()) and not (out / JSON_NAME).is_file():
        raise OutputError("folder is not empty and holds no keyframes.json; "
                          "choose a new or empty folder (it would be replaced)", out)
    mask_pngs = [encode_png(kf.overlay_mask) for kf in kset.keyframes]
    doc = keyframes_to_json(kset, mask_pngs=mask_pngs)
    try:
        with atomic_directory(out) as tmp:
            for kf, mask_png in zip(kset.keyframes, mask_pngs, strict=True):
                image, mask = _names(kf)
                (tmp / image).write_bytes(kf.png_bytes())
                (tmp / mask).write_bytes(mask_png)
            atomic_write_bytes(tmp / JSON_NAME,
                               (json.dumps(doc, indent=1, allow_nan=False) + "\n").encode())
    except OSError as exc:
        if isinstance(exc, OutputError):
            raise
        raise OutputError(f"cannot write keyframes ({exc.strerror or exc})", out) from exc
    return out / JSON_NAME


def _read_png(path: Path, flags: int) -> tuple[np.ndarray, bytes]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise KeyframeError(f"cannot read ({exc.strerror or exc})", path) from exc
    img = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    if img is None:
        raise KeyframeError("not a readable PNG image", path)
    return img, data


def load_keyframes(out_dir: str | os.PathLike[str]) -> KeyframeSet:
    """Read a folder written by :func:`save_keyframes` and verify every PNG's SHA-256.

    Raises:
        KeyframeError: missing/malformed ``keyframes.json``, unknown schema, missing or
            unreadable PNG, or a PNG whose hash differs from the recorded one.
    """
    folder = Path(out_dir)
    jpath = folder / JSON_NAME
    try:
        doc = json.loads(jpath.read_text(encoding="utf-8"))
    except OSError as exc:
        raise KeyframeError(f"cannot read ({exc.strerror or exc})", jpath) from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise KeyframeError(f"not valid JSON ({exc})", jpath) from exc
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
        got = doc.get("schema") if isinstance(doc, dict) else None
        raise KeyframeError(f"unknown keyframes schema {got!r} (expected {SCHEMA})", jpath)
    try:
        video = VideoInfo.from_json(doc["video"])
        config = KeyframeConfig.from_json(doc.get("config", {}))
        shots = []
        for s in doc.get("shots", []):
            s = dict(s)
            s["subshots"] = [SubShot(**x) for x in s.get("subshots", [])]
            shots.append(Shot(**s))
        keyframes = []
        for k in doc["keyframes"]:
            ipath = folder / str(k["image"])
            image, data = _read_png(ipath, cv2.IMREAD_COLOR)
            digest = sha256_bytes(data)
            if digest != k["sha256"]:
                raise KeyframeError("SHA-256 differs from keyframes.json (file changed)", ipath)
            mpath = folder / str(k["mask"]) if k.get("mask") else None
            if mpath is not None and mpath.exists():
                mask, _ = _read_png(mpath, cv2.IMREAD_GRAYSCALE)
                if mask.shape != image.shape[:2]:
                    raise KeyframeError("mask size differs from its keyframe", mpath)
            else:
                mask = np.zeros(image.shape[:2], np.uint8)
            keyframes.append(Keyframe(
                id=str(k["id"]), frame_index=int(k["frame_index"]), time_s=float(k["time_s"]),
                image=image, overlay_mask=mask, sharpness=float(k["sharpness"]),
                shot_index=int(k["shot_index"]), sha256=str(k["sha256"]),
                manual=bool(k.get("manual", False)), _png=data,
            ))
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, KeyframeError):
            raise
        raise KeyframeError(f"malformed keyframes.json ({type(exc).__name__}: {exc})",
                            jpath) from exc
    return KeyframeSet(video=video, keyframes=keyframes, shots=shots,
                       warnings=list(doc.get("warnings", [])), config=config,
                       stats=dict(doc.get("stats", {})))
