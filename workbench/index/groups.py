"""Describing neighbouring blocks together: one read and one SIFT detection per group.

Blocks of a level grid overlap their neighbours (``IndexConfig.overlap``, 25 %), so
describing each block on its own reads, normalises and runs SIFT's scale space over
the shared strips twice (OpenCV's SIFT first doubles the image, so the scale space
of a 512² block is built on 1024² pixels: the dominant cost of an index build).  A
:class:`BlockGroup` is a run of blocks side by side in one grid row: its union
window is read once at the level's resolution, contrast-normalised with CLAHE tiles
of the same size as a single block's, and SIFT keypoints are detected once over it.
Every block then keeps its own capped selection of the keypoints lying inside it
(strongest first, spread over the block's own 8 x 8 grid, as
:func:`workbench.match.features.detect` does), and each selected keypoint is
described once even when two overlapping blocks both keep it.

What differs from describing the blocks one by one: keypoints near a block's edge
see the pixels beyond it (no border effects at block edges), and CLAHE tiles are
laid over the group rather than each block.  ``benchmarks/scale/bench_retrieval.py``
compares the two (``IndexConfig.group_blocks`` 1 = one by one).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from workbench.imagery.read import read_tile
from workbench.index.grid import BlockFeatures, BlockSpec, describe_block
from workbench.match.features import Features, grid_select, rootsift, to_grey

_CELLS = 8  # CLAHE tiles (and keypoint-selection cells) per block side


@dataclass(frozen=True)
class BlockGroup:
    """Blocks described together: ``specs`` of one raster and level, side by side in
    one grid row (same row offset and height), left to right."""

    specs: tuple[BlockSpec, ...]


def group_specs(specs: list[BlockSpec], most: int) -> list[BlockGroup]:
    """``specs`` (in grid order) cut into groups of at most ``most`` consecutive blocks
    sharing a grid row (``most`` <= 1: every block alone)."""
    groups: list[list[BlockSpec]] = []
    for s in specs:
        last = groups[-1] if groups else None
        if (last is not None and len(last) < max(1, most) and last[-1].tile is s.tile
                and last[-1].level_m == s.level_m and last[-1].window[1] == s.window[1]
                and last[-1].window[3] == s.window[3] and last[-1].window[0] < s.window[0]):
            last.append(s)
        else:
            groups.append([s])
    return [BlockGroup(tuple(g)) for g in groups]


def describe_group(group: BlockGroup) -> list[BlockFeatures]:
    """The features of every block of ``group``, in its order (see the module docstring).

    Feature positions are working pixels of each block (as :func:`describe_block`
    gives them).  A group of one block is described by :func:`describe_block` itself.

    Raises:
        RasterOpenError: the raster cannot be read (naming the file).
    """
    specs = group.specs
    if len(specs) == 1:
        return [describe_block(specs[0])]
    first, last = specs[0], specs[-1]
    col0, row0, _, height = first.window
    width = last.window[0] + last.window[2] - col0
    timg = read_tile(first.tile, window=(col0, row0, width, height), gsd_m=first.level_m)
    s = float(timg.scale)
    if s != float(timg.scale_y):  # pragma: no cover - levels are read with one scale
        return [describe_block(sp) for sp in specs]
    valid = np.asarray(timg.valid, bool)
    grey = to_grey(timg.image)
    # each block's working-pixel extent inside the group image
    boxes = [((sp.window[0] - col0) / s, _side(sp.window[2], s), _side(sp.window[3], s))
             for sp in specs]
    bw = max(1, boxes[0][1])
    if valid.any() and not valid.all():
        grey = grey.copy()
        grey[~valid] = int(np.median(grey[valid]))
    h_img, w_img = grey.shape
    tiles = (max(1, round(_CELLS * w_img / bw)), max(1, round(_CELLS * h_img / boxes[0][2])))
    norm = cv2.createCLAHE(clipLimit=2.0, tileGridSize=tiles).apply(grey)
    mask = cv2.erode(valid.astype(np.uint8) * 255, np.ones((5, 5), np.uint8))
    sift = cv2.SIFT_create(nfeatures=0, contrastThreshold=0.02)  # type: ignore[attr-defined]
    kps = sift.detect(norm, mask) if valid.sum() >= 256 else ()
    xy = np.array([k.pt for k in kps], np.float32).reshape(-1, 2)
    resp = np.array([k.response for k in kps], np.float32)
    picks: list[np.ndarray] = []
    n_valid: list[int] = []
    for sp, (ox, w, h) in zip(specs, boxes, strict=True):
        c0 = max(0, round(ox))
        n_valid.append(int(valid[:h, c0:c0 + w].sum()))
        if n_valid[-1] < 256 or not len(xy):
            picks.append(np.zeros(0, np.int64))
            continue
        inside = np.flatnonzero((xy[:, 0] >= ox - 0.5) & (xy[:, 0] < ox + w - 0.5)
                                & (xy[:, 1] < h - 0.5))
        if len(inside) > sp.max_features:
            local = xy[inside] - np.array([ox, 0.0], np.float32)
            inside = inside[grid_select(local, resp[inside], w, h, sp.max_features)]
        picks.append(inside)
    chosen = np.unique(np.concatenate(picks)) if picks else np.zeros(0, np.int64)
    desc = _describe(sift, norm, [kps[int(i)] for i in chosen])
    if desc is None and len(chosen):  # pragma: no cover - see _describe
        return [describe_block(sp) for sp in specs]
    row_of = np.full(len(xy), -1, np.int64)
    row_of[chosen] = np.arange(len(chosen))
    out = []
    for (ox, w, h), pick, nv in zip(boxes, picks, n_valid, strict=True):
        if not len(pick) or desc is None:
            out.append(BlockFeatures(Features.empty(), s, nv, (h, w)))
            continue
        rows = row_of[pick]
        feats = Features(np.ascontiguousarray(xy[pick] - np.array([ox, 0.0], np.float32)),
                         np.array([kps[int(i)].size for i in pick], np.float32),
                         np.ascontiguousarray(desc[rows]))
        out.append(BlockFeatures(feats, s, nv, (h, w)))
    return out


def _describe(sift: cv2.SIFT, image: np.ndarray, kps: list[cv2.KeyPoint]) -> np.ndarray | None:
    """RootSIFT descriptors ``(len(kps), 128) float32`` of ``kps`` (``None`` if OpenCV
    dropped or reordered any, which it does not for keypoints it detected itself)."""
    if not kps:
        return None
    got, desc = sift.compute(image, kps)
    if desc is None or len(got) != len(kps):
        return None
    return rootsift(desc)


def _side(length: float, scale: float) -> int:
    """Working pixels of a block side of ``length`` level-0 px (as ``read_tile`` sizes it)."""
    return max(1, int(np.ceil(length / scale - 1e-9)))
