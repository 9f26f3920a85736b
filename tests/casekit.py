"""Synthetic case inputs for the case/verify/report tests (no engine needed).

A small town GeoTIFF (fixtures.town), a keyframe made by warping part of it with a
known homography (so the tie points are exact), a fake footage file, and a
``LocateResult`` with two candidates: rank 1 true, rank 2 a decoy elsewhere.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import rasterio
from workbench_fixtures.town import make_town_geotiff

from workbench.case.audit import GENESIS_HASH, entry_hash
from workbench.case.geometry import frame_footprint, keyframe_centre, keyframe_to_lonlat
from workbench.geo import apply_homography
from workbench.hashing import sha256_bytes, sha256_file
from workbench.imagery.catalog import TileCatalog
from workbench.results import Candidate, KeyframeRef, LocateResult, VideoRef

KF_W, KF_H = 320, 240
TRUE_QUAD = np.float32([[250, 262], [520, 240], [566, 470], [228, 503]])  # tile px of kf corners
DECOY_QUAD = np.float32([[40, 40], [200, 50], [210, 160], [30, 170]])


@dataclass
class Scene:
    """Paths and truth for one synthetic investigation."""

    root: Path
    tile: Path
    video: Path
    out_dir: Path  # holds keyframes/kf0001.png ... like locate(out_dir=...)
    result: LocateResult
    h_true: np.ndarray  # (3, 3) keyframe px -> tile px


def _h(quad: np.ndarray) -> np.ndarray:
    src = np.float32([[-0.5, -0.5], [KF_W - 0.5, -0.5], [KF_W - 0.5, KF_H - 0.5],
                      [-0.5, KF_H - 0.5]])
    return cv2.getPerspectiveTransform(src, quad).astype(np.float64)


def make_scene(root: Path, *, seed: int = 3) -> Scene:
    """Build the inputs under ``root`` (about 1 s)."""
    root.mkdir(parents=True, exist_ok=True)
    tile = make_town_geotiff(root / "town.tif", seed=seed, width=768, height=768, gsd_m=0.5)
    with rasterio.open(tile) as ds:
        rgb = np.moveaxis(ds.read(), 0, 2)
    bgr = np.ascontiguousarray(rgb[:, :, ::-1])
    video = root / "strike <script>alert(1)<!-- ]]> &amp;.mp4"
    video.write_bytes(np.random.default_rng(seed).bytes(50_000))
    out_dir = root / "locate_out"
    (out_dir / "keyframes").mkdir(parents=True, exist_ok=True)
    cat = TileCatalog.from_paths([tile])
    tref = cat.tiles[0].to_ref(sha256_file(tile)[0])
    rng = np.random.default_rng(seed)
    kfs, cands = [], []
    for i, quad in enumerate((TRUE_QUAD, DECOY_QUAD)):
        h = _h(quad)
        img = cv2.warpPerspective(bgr, np.linalg.inv(h), (KF_W, KF_H), flags=cv2.INTER_LINEAR)
        mask = np.zeros((KF_H, KF_W), np.uint8)
        mask[:18, :] = 255  # a HUD strip
        cv2.putText(img, "ALT 1200 HDG 045", (5, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.4,
                    (255, 255, 255), 1)
        kid = f"kf{i + 1:04d}"
        ok, png = cv2.imencode(".png", img)
        assert ok
        (out_dir / "keyframes" / f"{kid}.png").write_bytes(png.tobytes())
        cv2.imwrite(str(out_dir / "keyframes" / f"{kid}_mask.png"), mask)
        kfs.append(KeyframeRef(kid, 30 * i + 12, 0.5 + i * 1.2, sha256_bytes(png.tobytes()),
                               100.0, f"keyframes/{kid}.png", f"keyframes/{kid}_mask.png"))
        kxy = np.column_stack([rng.uniform(20, KF_W - 20, 24), rng.uniform(30, KF_H - 20, 24)])
        txy = apply_homography(h, kxy)
        if i == 1:  # the decoy's tie points fit poorly
            txy = txy + rng.normal(0, 3.0, txy.shape)
        lon, lat = keyframe_to_lonlat(h, tref.transform, tref.crs, keyframe_centre(KF_W, KF_H))
        cands.append(Candidate(
            rank=i + 1, lat=lat, lon=lon, confidence=0.92 if i == 0 else 0.18,
            uncertainty_m=6.0 if i == 0 else 60.0, keyframe_id=kid, tile=str(tile),
            inliers=len(kxy),
            footprint=frame_footprint(h, tref.transform, tref.crs, KF_W, KF_H),
            homography=h.tolist(), keyframe_xy=kxy.tolist(), tile_xy=txy.tolist(),
            supporting_keyframes=[kid], scores={"inlier_ratio": 0.8 - 0.5 * i},
            target={"x": 160.0, "y": 150.0,
                    **dict(zip(("lon", "lat"), keyframe_to_lonlat(
                        h, tref.transform, tref.crs, (160.0, 150.0)), strict=True))}
            if i == 0 else None))
    result = LocateResult(
        verdict="located",
        video=VideoRef(str(video), sha256_file(video)[0], 25.0, KF_W, KF_H, 4.0, 100, "h264"),
        keyframes=kfs, candidates=cands, tiles=[tref], timing_s={"total": 1.5},
        reason="rank 1 has 24 consistent inliers", method={
            "software": "workbench 0.1.0", "matcher": "SIFT+RANSAC", "ratio": 0.8})
    return Scene(root, tile, video, out_dir, result, _h(TRUE_QUAD))


# the tables schema 4 added (``to_schema_3`` removes them)
V4_TABLES = ("row_digests", "signatures", "timestamps", "footage_sources", "imagery_meta",
             "tie_point_retractions")


def to_schema_3(path: Path) -> None:
    """Strip a case to what schema 3 stored: no v4 tables, triggers or case id, and audit
    details without row digests (re-chained, as the old software wrote them)."""
    conn = sqlite3.connect(path, isolation_level=None)
    for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'"
                                ).fetchall():
        conn.execute(f"DROP TRIGGER {name}")
    for t in V4_TABLES:
        conn.execute(f"DROP TABLE {t}")
    for col in ("uncertainty_m", "outside_hull"):
        conn.execute(f"ALTER TABLE points_of_interest DROP COLUMN {col}")
    conn.execute("DELETE FROM meta WHERE key = 'case_id'")
    conn.execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'")
    prev = GENESIS_HASH
    for seq, time, user, action, details in conn.execute(
            "SELECT seq, time, user, action, details FROM audit_log ORDER BY seq").fetchall():
        det = {k: v for k, v in json.loads(details).items()
               if k not in ("rows_sha256", "rows", "case_id")}
        if action == "create":
            det["schema_version"] = 3
        h = entry_hash(prev, seq, time, user, action, det)
        conn.execute("UPDATE audit_log SET details = ?, prev_hash = ?, hash = ? WHERE seq = ?",
                     (json.dumps(det, sort_keys=True, separators=(",", ":"),
                                 ensure_ascii=False), prev, h, seq))
        prev = h
    for t in ("audit_log", "decisions", "notes", "tie_points", "locate_runs", "shadows"):
        for op in ("UPDATE", "DELETE"):
            conn.execute(f"CREATE TRIGGER {t}_no_{op.lower()} BEFORE {op} ON {t} BEGIN "
                         f"SELECT RAISE(ABORT, '{t} is append-only'); END")
    conn.close()
