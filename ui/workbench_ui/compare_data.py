"""What the comparison view shows for one candidate, prepared off the GUI thread (no Qt)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from workbench.compare import (
    SatelliteCrop,
    keyframe_to_crop,
    numbered_landmarks,
    satellite_crop,
    warp_to_crop,
)
from workbench.results import Candidate, TileRef


@dataclass
class CompareData:
    """Everything the view shows for one candidate, computed off the GUI thread.

    ``keyframe`` ``(H, W, 3) uint8`` BGR; ``mask`` ``(H, W) uint8`` or None;
    ``warped_rgba`` ``(h, w, 4) uint8``: the keyframe warped onto ``crop`` with coverage
    as alpha, in **RGBA** channel order (not BGR) and C-contiguous: what a
    ``QImage.Format_RGBA8888`` wraps with no conversion left for the GUI thread;
    ``h_kf_to_crop`` ``(3, 3) float64``.
    """

    candidate: Candidate
    crop: SatelliteCrop
    keyframe: np.ndarray
    mask: np.ndarray | None
    warped_rgba: np.ndarray
    h_kf_to_crop: np.ndarray
    landmarks: list[tuple[int, tuple[float, float], tuple[float, float]]]


def prepare(candidate: Candidate, tile: TileRef, keyframe: np.ndarray,
            mask: np.ndarray | None = None) -> CompareData:
    """Read the imagery crop and warp the keyframe (thread-safe, no Qt): run it in a Task."""
    h_kf, w_kf = keyframe.shape[:2]
    crop = satellite_crop(candidate, tile, (w_kf, h_kf))
    warped, alpha = warp_to_crop(keyframe, candidate, crop, mask)
    return CompareData(
        candidate=candidate, crop=crop, keyframe=keyframe, mask=mask,
        warped_rgba=np.ascontiguousarray(np.dstack([warped[:, :, ::-1], alpha])),
        h_kf_to_crop=keyframe_to_crop(candidate, crop),
        landmarks=numbered_landmarks(candidate, crop),
    )
