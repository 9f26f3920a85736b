"""Plain values the app's views show (no Qt): the bottom of the desktop app.

The session builds them from the case (:mod:`workbench_ui.session`); the keyframe
strip, the frame viewer and the locate panel only display them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class KeyframeEntry:
    """One keyframe to show: ``image`` ``(H, W, 3) uint8`` BGR, ``mask`` ``(H, W) uint8``
    (255 where a burned-in overlay is), ``manual`` for keyframes added by hand."""

    id: str
    frame_index: int
    time_s: float
    sharpness: float
    image: np.ndarray
    mask: np.ndarray | None = None
    manual: bool = False


APP_ACCURACY_SOURCE = "analyst (desktop app, Imagery accuracy)"
"""``imagery_accuracy_source`` of an accuracy entered in the Locate panel's field."""


def format_time(seconds: float) -> str:
    """``m:ss.ss`` (or ``h:mm:ss.ss``) of a presentation time."""
    s = max(0.0, float(seconds))
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{int(h)}:{int(m):02d}:{sec:05.2f}" if h else f"{int(m)}:{sec:05.2f}"
