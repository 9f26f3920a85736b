"""Query side of the index: a shot's keyframes -> the blocks they vote for.

Each keyframe is described like the matcher does (RootSIFT on CLAHE-normalised grey,
burned-in overlay masked out) at a few shrink levels and vertical stretches (so
the words of a 0.15 m/px oblique frame meet those of a 1 m/px nadir block); the
descriptors of *all keyframes of one shot* are pooled into one query, and the
shortlists of the shots are merged (a place seen by several shots is kept once, at
its best score).
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from workbench.index.model import Shortlisted
from workbench.index.retrieve import Retriever
from workbench.keyframes.model import Keyframe
from workbench.match.features import detect, normalise, to_grey, usable_mask
from workbench.progress import CancelToken, check_cancel

LEVELS = (1.0, 0.5, 0.25)
STRETCHES = (1.0, 1.6)


def keyframe_descriptors(
    image: np.ndarray, overlay_mask: np.ndarray | None, *, max_features: int = 1500,
    levels: Sequence[float] = LEVELS, stretches: Sequence[float] = STRETCHES,
    inverted: bool = False,
) -> list[np.ndarray]:
    """RootSIFT descriptors ``(N_i, 128) float32`` of a ``(H, W, 3) uint8`` BGR keyframe,
    one array per (stretch, level) variant; ``overlay_mask`` ``(H, W) uint8`` 255 = overlay.
    ``inverted``: describe the negative (white-hot thermal footage)."""
    grey = to_grey(image)
    if inverted:
        grey = 255 - grey
    h, w = grey.shape
    usable = usable_mask(grey, overlay_mask)
    out = []
    for stretch in stretches:
        for level in levels:
            nw, nh = round(w * level), round(h * level * stretch)
            if min(nw, nh) < 64 or level * stretch > 2.0:
                continue
            interp = cv2.INTER_AREA if level < 1 else cv2.INTER_LINEAR
            img = cv2.resize(grey, (nw, nh), interpolation=interp)
            msk = cv2.resize(usable, (nw, nh), interpolation=cv2.INTER_NEAREST)
            f = detect(normalise(img, msk > 0), msk, max_features=max_features)
            if len(f):
                out.append(f.desc)
    return out


def shortlist_shots(
    retriever: Retriever, keyframes: Sequence[Keyframe], *, top: int = 10,
    inverted: bool = False, cancel: CancelToken | None = None,
) -> tuple[list[Shortlisted], dict[int, list[Shortlisted]]]:
    """Shortlist per shot (all its keyframes pooled) and the merged list, best first.

    Returns ``(merged, per_shot)``; ``merged`` holds each block once at its best score.
    """
    by_shot: dict[int, list[Keyframe]] = {}
    for kf in keyframes:
        by_shot.setdefault(int(kf.shot_index), []).append(kf)
    per_shot: dict[int, list[Shortlisted]] = {}
    best: dict[int, Shortlisted] = {}
    for shot, kfs in sorted(by_shot.items()):
        desc: list[np.ndarray] = []
        for kf in kfs:
            check_cancel(cancel)
            desc.extend(keyframe_descriptors(kf.image, kf.overlay_mask, inverted=inverted))
        found = retriever.shortlist(desc, top=top)
        per_shot[shot] = found
        for s in found:
            if s.block_id not in best or best[s.block_id].score < s.score:
                best[s.block_id] = s
    merged = sorted(best.values(), key=lambda s: -s.score)
    return merged, per_shot
