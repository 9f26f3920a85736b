"""Keyframes stage: the frames an investigator would pick, with their overlay masks.

The public API; types in :mod:`workbench.keyframes.model`, the pass in
:mod:`workbench.keyframes.extract` (shots and motion in ``shots``, burned-in
overlay masks in ``overlay``), files in :mod:`workbench.keyframes.store`.
Images ``(H, W, 3) uint8`` BGR at full resolution; masks ``(H, W) uint8``,
255 = burned-in overlay to ignore.
"""

from __future__ import annotations

from workbench.keyframes.extract import extract_keyframes
from workbench.keyframes.model import (
    Keyframe,
    KeyframeConfig,
    KeyframeSet,
    OverlayConfig,
    QualityThresholds,
    Shot,
    SubShot,
    make_keyframe,
)
from workbench.keyframes.store import keyframes_to_json, load_keyframes, save_keyframes

__all__ = [
    "Keyframe",
    "KeyframeConfig",
    "KeyframeSet",
    "OverlayConfig",
    "QualityThresholds",
    "Shot",
    "SubShot",
    "extract_keyframes",
    "keyframes_to_json",
    "load_keyframes",
    "make_keyframe",
    "save_keyframes",
]
