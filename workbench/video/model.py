"""The video stage's types: :class:`VideoInfo` (what :func:`~workbench.video.reader.probe`
learns), :class:`Frame` (a decoded BGR frame) and :class:`RawFrame` (a PyAV frame
before conversion).

Images are ``np.ndarray (H, W, 3) uint8`` in **BGR** order, in the display
orientation (the stream's display matrix applied); ``pts_s`` is the presentation
time in seconds from the video stream's start.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from workbench.results import VideoRef
from workbench.video.io import frame_to_analysis, frame_to_bgr, frame_to_gray

__all__ = ["Frame", "RawFrame", "VideoInfo"]


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
        # a full-size conversion gets its own scaler: switching sizes on the shared one
        # would rebuild its context every frame
        ref = self.reformatter if max_width else None
        return frame_to_bgr(self.frame, self.rotation, max_width, ref)

    def to_analysis(self, width: int) -> tuple[np.ndarray, np.ndarray]:
        """``(gray (h, width) uint8, bgr160 (h', 160, 3) uint8)``, see ``frame_to_analysis``."""
        return frame_to_analysis(self.frame, self.rotation, width, self.reformatter)

    def to_gray(self, max_width: int | None = None) -> np.ndarray:
        """``(H, W) uint8`` luma in display orientation, at most ``max_width`` wide."""
        return frame_to_gray(self.frame, self.rotation, max_width, self.reformatter)
