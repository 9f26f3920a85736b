"""Matching a single still keyframe against tiles (workbench.match)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from workbench.imagery.catalog import TileCatalog
from workbench.match import MatchConfig, TileFeatureCache, match_keyframe
from workbench.match.sift import keyframe_variants
from workbench.rank import rank_hypotheses

TOWN_CENTRE = (32.58, 0.35)


def _still(raster: Path, heading: float, depression: float, *, thermal: str = "none",
           target: tuple[float, float] = (32.5803, 0.3502)) -> tuple[np.ndarray, np.ndarray]:
    """A 480x270 view of ``raster`` and the true raster px of its centre."""
    from workbench_fixtures.degrade import thermal as to_thermal
    from workbench_fixtures.footage import Camera, render_still

    from workbench.geo import apply_homography

    cam = Camera(target_lonlat=target, heading_deg=heading, depression_deg=depression,
                 slant_range_m=300.0, hfov_deg=22.0)
    img, h = render_still(raster, cam, width=480, height=270)
    img = to_thermal(img, thermal)
    centre = apply_homography(np.linalg.inv(h), np.array([[239.5, 134.5]]))[0]
    return img, centre


def _kf(img: np.ndarray, mask: np.ndarray | None = None, kid: str = "kf0001") -> SimpleNamespace:
    if mask is None:
        mask = np.zeros(img.shape[:2], np.uint8)
    return SimpleNamespace(id=kid, image=img, overlay_mask=mask, shot_index=0)


@pytest.fixture(scope="module")
def catalog(demo_data: Path) -> TileCatalog:
    return TileCatalog.from_paths([demo_data / "tiles"])


@pytest.fixture(scope="module")
def cache() -> TileFeatureCache:
    return TileFeatureCache(MatchConfig())


@pytest.mark.parametrize(
    ("heading", "depression", "thermal"),
    [(0.0, 90.0, "none"), (137.0, 50.0, "whitehot"), (290.0, 35.0, "grey")],
)
def test_match_finds_the_true_place_any_heading_oblique_and_thermal(
    demo_data: Path, catalog: TileCatalog, cache: TileFeatureCache,
    heading: float, depression: float, thermal: str,
) -> None:
    town = demo_data / "tiles" / "town.tif"
    img, true_px = _still(town, heading, depression, thermal=thermal)
    hyps = match_keyframe(_kf(img), catalog, cache=cache)
    assert hyps, "no hypothesis at all"
    best = hyps[0]
    assert best.tile.path.name == "town.tif"
    centre = np.array([best.scores["centre_x"], best.scores["centre_y"]])
    assert np.linalg.norm(centre - true_px) < 4.0  # tile px of 0.5 m
    # the stored tie points are consistent with the homography
    from workbench.geo import apply_homography

    resid = np.linalg.norm(apply_homography(best.homography, best.keyframe_xy) - best.tile_xy,
                           axis=1)
    assert best.inliers == len(best.keyframe_xy) == len(best.tile_xy)
    assert float(np.median(resid)) < 3.0
    verdict, cands, _ = rank_hypotheses(hyps, [_kf(img)])
    assert verdict in ("located", "ambiguous")
    assert cands[0].tile.endswith("town.tif")


def test_overlay_mask_is_respected(demo_data: Path) -> None:
    img, _ = _still(demo_data / "tiles" / "town.tif", 45.0, 70.0)
    mask = np.zeros(img.shape[:2], np.uint8)
    mask[:, :240] = 255  # left half is "HUD"
    variants = keyframe_variants(img, mask, MatchConfig())
    assert variants
    for v in variants:
        assert len(v.feats) > 0
        assert float(v.feats.xy[:, 0].min()) > 235.0


@pytest.mark.slow
def test_footage_from_elsewhere_is_not_located(demo_data: Path, cache: TileFeatureCache) -> None:
    only_town = TileCatalog.from_paths([demo_data / "tiles" / "town.tif"])
    other = demo_data / "tiles" / "other_town.tif"
    other_cat = TileCatalog.from_paths([other])
    lon, lat = (other_cat.tiles[0].bounds_lonlat[0] + other_cat.tiles[0].bounds_lonlat[2]) / 2, \
        (other_cat.tiles[0].bounds_lonlat[1] + other_cat.tiles[0].bounds_lonlat[3]) / 2
    hyps_all = []
    kfs = []
    for i, heading in enumerate((10.0, 120.0, 250.0)):
        img, _ = _still(other, heading, 60.0, target=(lon, lat))
        kf = _kf(img, kid=f"kf{i:04d}")
        kfs.append(kf)
        hyps_all += match_keyframe(kf, only_town, cache=cache)
    verdict, _, reason = rank_hypotheses(hyps_all, kfs)
    assert verdict == "not_located", reason


def test_matches_do_not_depend_on_what_the_process_did_before() -> None:
    """FLANN's randomised kd-trees draw from OpenCV's per-thread RNG: unseeded, the same
    descriptors matched after other work (another locate in the same process, other
    tests) found other approximate neighbours.  Every index now starts from the RNG
    state of a fresh thread."""
    import cv2

    from workbench.match.features import Features, match_descriptors

    rng = np.random.default_rng(7)

    def feats(n: int) -> Features:
        return Features(rng.random((n, 2), dtype=np.float32) * 500,
                        np.ones(n, np.float32), rng.random((n, 128), dtype=np.float32))

    query, train = feats(1500), feats(20000)
    runs = []
    for seed in (12345, 99, 12345):
        cv2.setRNGSeed(seed)  # what earlier work leaves behind
        fresh = Features(train.xy, train.size, train.desc)  # no cached index
        runs.append(match_descriptors(query, fresh, ratio=0.99))
    assert len(runs[0]) > 100
    assert all(np.array_equal(runs[0], r) for r in runs[1:])


def test_contrast_normalisation_is_the_same_on_several_threads() -> None:
    """``normalise`` on two threads at once gives the pixels it gives alone: a single
    cv2.CLAHE shared between threads (the index builder describes blocks on several)
    gave other pixels, and so another index, build after build."""
    from concurrent.futures import ThreadPoolExecutor

    from workbench.match.features import normalise

    rng = np.random.default_rng(0)
    images = [rng.integers(0, 255, (256, 256), dtype=np.uint8) for _ in range(12)]
    alone = [normalise(im) for im in images]
    for _ in range(3):
        with ThreadPoolExecutor(2) as ex:
            together = list(ex.map(normalise, images))
        assert all(np.array_equal(a, b) for a, b in zip(alone, together, strict=True))
