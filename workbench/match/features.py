"""Local features for matching: RootSIFT on contrast-normalised grey images.

Everything here works on single images; :mod:`workbench.match` decides which
images (keyframe variants, tile windows) to describe and how to pair them.

Conventions: input images are ``(H, W, 3) uint8`` **BGR** or ``(H, W) uint8``
grey; masks are ``(H, W) uint8`` with 255 = *usable* pixel (the opposite of a
keyframe's overlay mask, which marks burned-in overlay with 255).  Keypoint
coordinates are ``(N, 2) float32`` ``(x, y)`` = (column, row), centre of the
top-left pixel at ``(0, 0)`` (OpenCV's convention).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

log = logging.getLogger(__name__)

# One CLAHE object per thread: a cv2.CLAHE keeps working buffers between calls, and one
# shared by the index builder's threads gave other normalised pixels (and so other
# features and another index) build after build (tests/match/test_match.py).
_local = threading.local()


def _clahe() -> Any:
    clahe = getattr(_local, "clahe", None)
    if clahe is None:
        clahe = _local.clahe = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8))
    return clahe


@dataclass
class Features:
    """Keypoints and RootSIFT descriptors of one image.

    ``xy``: ``(N, 2) float32`` keypoint positions in the described image's pixels
    (callers may re-map them to another grid, see :meth:`mapped`).
    ``size``: ``(N,) float32`` keypoint diameter in the same pixels.
    ``desc``: ``(N, 128) float32`` RootSIFT descriptors (L1-normalised, square-rooted).
    """

    xy: np.ndarray
    size: np.ndarray
    desc: np.ndarray
    _index: Any = field(default=None, repr=False)

    def __len__(self) -> int:
        return int(self.xy.shape[0])

    def mapped(self, affine: np.ndarray) -> Features:
        """A copy with ``xy`` mapped through a ``(2, 3)`` float64 affine (descriptors shared)."""
        a = np.asarray(affine, np.float64)
        xy = self.xy.astype(np.float64) @ a[:, :2].T + a[:, 2]
        scale = float(np.sqrt(abs(np.linalg.det(a[:, :2]))))
        return Features(xy.astype(np.float32), self.size * scale, self.desc)

    def matcher_index(self) -> Any:
        """A FLANN kd-tree index over ``desc`` (built once, cached on the object).

        The randomised kd-trees draw from OpenCV's per-thread RNG, so without a seed an
        index (and the approximate neighbours it returns) would depend on how many
        indexes the thread had built before: the same locate run twice in one process,
        or a test after other tests, could find other matches.  The RNG is reset to
        its start-of-thread state first, so every index is the one a fresh process
        builds from the same descriptors.
        """
        if self._index is None:
            cv2.setRNGSeed(0)  # 0 = OpenCV's initial state of a thread's RNG
            index = cv2.flann_Index(  # type: ignore[attr-defined]
                self.desc, {"algorithm": 1, "trees": 4})
            self._index = index
        return self._index

    @staticmethod
    def empty() -> Features:
        """No features."""
        return Features(
            np.zeros((0, 2), np.float32), np.zeros(0, np.float32), np.zeros((0, 128), np.float32)
        )

    @staticmethod
    def concat(parts: list[Features]) -> Features:
        """All keypoints of ``parts`` in one set (coordinates must share a grid)."""
        parts = [p for p in parts if len(p)]
        if not parts:
            return Features.empty()
        return Features(
            np.concatenate([p.xy for p in parts]),
            np.concatenate([p.size for p in parts]),
            np.concatenate([p.desc for p in parts]),
        )


def to_grey(image: np.ndarray) -> np.ndarray:
    """``(H, W, 3) uint8`` BGR (or ``(H, W)`` grey) -> ``(H, W) uint8`` grey."""
    if image.ndim == 2:
        return np.ascontiguousarray(image, dtype=np.uint8)
    if image.ndim == 3 and image.shape[2] == 3:
        return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    if image.ndim == 3 and image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2GRAY)
    raise ValueError(f"unsupported image shape {image.shape}")


def usable_mask(grey: np.ndarray, overlay_mask: np.ndarray | None) -> np.ndarray:
    """Where keypoints may be taken on a ``(H, W) uint8`` grey keyframe: ``(H, W) uint8``,
    255 = usable; 0 on the burned-in overlay (``overlay_mask`` 255, grown by 3 px) and on
    pure black (letterbox, warped-out corners)."""
    h, w = grey.shape
    usable = np.full((h, w), 255, np.uint8)
    if overlay_mask is not None and overlay_mask.shape[:2] == (h, w):
        usable[overlay_mask > 0] = 0
        usable = np.asarray(cv2.erode(usable, np.ones((7, 7), np.uint8)), np.uint8)
    usable[grey == 0] = 0
    return usable


def normalise(grey: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
    """Local contrast normalisation (CLAHE) of a ``(H, W) uint8`` grey image.

    Pixels outside ``valid`` (``(H, W)`` bool/uint8) are set to the median of the valid
    ones first so that nodata borders do not dominate the histogram equalisation.
    """
    g = grey
    if valid is not None and not bool(np.all(valid)):
        v = valid.astype(bool)
        fill = int(np.median(grey[v])) if v.any() else 0
        g = grey.copy()
        g[~v] = fill
    return _clahe().apply(g)


def detect(
    grey: np.ndarray,
    mask: np.ndarray | None = None,
    *,
    max_features: int = 0,
    contrast_threshold: float = 0.02,
) -> Features:
    """RootSIFT keypoints/descriptors of a ``(H, W) uint8`` grey image.

    ``mask``: ``(H, W) uint8`` 255 = where keypoints may lie, or ``None``.
    ``max_features``: keep at most this many (strongest response, spread over a
    coarse grid so one busy corner cannot take them all); 0 = no limit.
    """
    if grey.size == 0 or min(grey.shape[:2]) < 16:
        return Features.empty()
    sift = cv2.SIFT_create(  # type: ignore[attr-defined]
        nfeatures=0, contrastThreshold=contrast_threshold)
    kps = sift.detect(grey, mask)
    if not kps:
        return Features.empty()
    if max_features and len(kps) > max_features:
        # choose first, describe only the chosen (descriptors are the expensive part)
        xy0 = np.array([k.pt for k in kps], np.float32).reshape(-1, 2)
        resp = np.array([k.response for k in kps], np.float32)
        keep = grid_select(xy0, resp, grey.shape[1], grey.shape[0], max_features)
        kps = [kps[i] for i in keep]
    kps, desc = sift.compute(grey, kps)
    if desc is None or not kps:
        return Features.empty()
    xy = np.array([k.pt for k in kps], np.float32).reshape(-1, 2)
    size = np.array([k.size for k in kps], np.float32)
    return Features(xy, size, rootsift(desc))


def rootsift(desc: np.ndarray) -> np.ndarray:
    """RootSIFT ``(N, 128) float32`` (L1-normalised, square-rooted) of OpenCV SIFT
    descriptors ``(N, 128)``."""
    out = np.asarray(desc, np.float32).copy()
    out /= np.maximum(out.sum(axis=1, keepdims=True), 1e-7)
    return np.ascontiguousarray(np.sqrt(out))


def grid_select(
    xy: np.ndarray, resp: np.ndarray, width: int, height: int, n: int, cells: int = 8
) -> np.ndarray:
    """Indices of at most ``n`` keypoints, strongest first within each grid cell, round-robin."""
    cx = np.minimum((xy[:, 0] * cells / max(width, 1)).astype(int), cells - 1)
    cy = np.minimum((xy[:, 1] * cells / max(height, 1)).astype(int), cells - 1)
    cell = cy * cells + cx
    order = np.lexsort((-resp, cell))
    sorted_cells = cell[order]
    # rank of each keypoint within its cell
    starts = np.searchsorted(sorted_cells, sorted_cells, side="left")
    rank_in_cell = np.arange(len(order)) - starts
    pick = order[np.lexsort((-resp[order], rank_in_cell))][:n]
    return np.sort(pick)


def match_descriptors(
    query: Features, train: Features, *, ratio: float = 0.85, mutual_unique: bool = True
) -> np.ndarray:
    """Putative matches ``(M, 2) int`` (query index, train index) by Lowe's ratio test.

    Uses the FLANN index of ``train`` (cached).  With ``mutual_unique`` a train
    keypoint is used by at most one query keypoint (the one with the smallest distance).
    """
    if len(query) < 2 or len(train) < 2:
        return np.zeros((0, 2), int)
    index = train.matcher_index()
    idx, dist = index.knnSearch(query.desc, 2, params={"checks": 96})
    idx = np.asarray(idx)
    dist = np.sqrt(np.maximum(np.asarray(dist, np.float64), 0))  # FLANN returns squared L2
    ok = dist[:, 0] < ratio * dist[:, 1]
    q = np.nonzero(ok)[0]
    t = idx[ok, 0]
    d = dist[ok, 0]
    if mutual_unique and len(q):
        order = np.argsort(d)
        _, first = np.unique(t[order], return_index=True)
        keep = order[first]
        q, t = q[keep], t[keep]
    return np.stack([q, t], axis=1).astype(int) if len(q) else np.zeros((0, 2), int)


def match_per_owner(
    query: Features, train: Features, owner: np.ndarray, *, ratio: float = 0.85, k: int = 4
) -> np.ndarray:
    """Ratio-test matches against a database holding several images at once.

    ``owner``: ``(len(train),) int`` image index of each train keypoint.  Lowe's ratio
    test is applied *within each image* (the nearest neighbour of an image against its
    second nearest in the same image, or the ``k``-th neighbour overall when that one is
    not among the ``k`` nearest), so adding other images to the database does not make
    the test stricter.  Returns ``(M, 2) int`` (query index, train index); a train
    keypoint is used at most once (smallest distance wins).
    """
    if len(query) < 2 or len(train) < 2:
        return np.zeros((0, 2), int)
    k = max(2, min(k, len(train)))
    index = train.matcher_index()
    idx, dist = index.knnSearch(query.desc, k, params={"checks": 96})
    idx = np.asarray(idx).reshape(len(query), k)
    dist = np.sqrt(np.maximum(np.asarray(dist, np.float64), 0)).reshape(len(query), k)
    own = np.asarray(owner)[idx]
    qs, ts, ds = [], [], []
    for j in range(k - 1):
        first = np.ones(len(query), bool)
        for m in range(j):
            first &= own[:, m] != own[:, j]
        second = dist[:, k - 1].copy()
        found = np.zeros(len(query), bool)
        for m in range(j + 1, k):
            hit = (own[:, m] == own[:, j]) & ~found
            second[hit] = dist[hit, m]
            found |= hit
        ok = first & (dist[:, j] < ratio * second)
        qs.append(np.nonzero(ok)[0])
        ts.append(idx[ok, j])
        ds.append(dist[ok, j])
    q = np.concatenate(qs)
    t = np.concatenate(ts)
    d = np.concatenate(ds)
    if not len(q):
        return np.zeros((0, 2), int)
    order = np.argsort(d)
    _, first_t = np.unique(t[order], return_index=True)
    keep = order[first_t]
    return np.stack([q[keep], t[keep]], axis=1).astype(int)
