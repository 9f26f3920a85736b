"""Naive baseline (the approach of tile-matching tools such as Wildnav).

One middle frame of the clip, plain SIFT + Lowe ratio test (0.75) + RANSAC homography
against each raster at native resolution; the raster with most inliers wins and the
frame centre is projected through its homography.  No overlay mask, no scale/affine
handling, no evidence aggregation; "located" when the winner has >= 10 inliers.

Usage: ``python baseline.py VIDEO OUT_JSON TILE [TILE ...]`` (prints nothing).
"""

from __future__ import annotations

import json
import sys
import time

import cv2
import numpy as np

from workbench.geo import apply_homography
from workbench.imagery.catalog import TileCatalog, read_tile
from workbench.video.reader import probe, read_frame

MIN_INLIERS = 10


def run(video: str, tiles: list[str]) -> dict:
    t0 = time.perf_counter()
    info = probe(video, compute_hash=False)
    frame = read_frame(video, info.frame_count // 2)
    grey = cv2.cvtColor(frame.image, cv2.COLOR_BGR2GRAY)
    sift = cv2.SIFT_create()
    kp1, d1 = sift.detectAndCompute(grey, None)
    cat = TileCatalog.from_paths(tiles)
    best: dict = {"inliers": 0}
    matcher = cv2.BFMatcher(cv2.NORM_L2)
    for tile in cat.tiles:
        img = read_tile(tile, max_pixels=tile.width * tile.height + 1)
        kp2, d2 = sift.detectAndCompute(cv2.cvtColor(img.image, cv2.COLOR_BGR2GRAY),
                                        img.valid.astype(np.uint8) * 255)
        if d1 is None or d2 is None or len(kp2) < 2:
            continue
        good = [m for m, n in (p for p in matcher.knnMatch(d1, d2, k=2) if len(p) == 2)
                if m.distance < 0.75 * n.distance]
        if len(good) < 4:
            continue
        src = np.float64([kp1[m.queryIdx].pt for m in good])
        dst = img.to_level0(np.float64([kp2[m.trainIdx].pt for m in good]))
        h, inl = cv2.findHomography(src, dst, cv2.RANSAC, 5.0 * img.scale)
        if h is None:
            continue
        n = int(inl.sum())
        if n > best["inliers"]:
            c = apply_homography(h, np.array([[(grey.shape[1] - 1) / 2, (grey.shape[0] - 1) / 2]]))
            ll = tile.px_to_lonlat(c)[0]
            best = {"inliers": n, "tile": str(tile.path), "lon": float(ll[0]), "lat": float(ll[1])}
    best["frame_index"] = frame.index
    best["located"] = best["inliers"] >= MIN_INLIERS and np.isfinite(best.get("lon", np.nan))
    best["seconds"] = time.perf_counter() - t0
    return best


if __name__ == "__main__":
    res = run(sys.argv[1], sys.argv[3:])
    with open(sys.argv[2], "w") as fh:
        json.dump(res, fh, default=float)
