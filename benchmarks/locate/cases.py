"""Benchmark cases for ``workbench locate``: footage rendered from the shared imagery.

Every case is a clip rendered with :func:`fixtures.footage.render_footage` from one
source raster and searched among a tile set with distractors.  Positive cases: the
place is in the tile set (possibly imaged by another sensor/year/resolution);
negative cases: the footage comes from imagery whose place is not in the tile set.
Deterministic: everything derives from the case index.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from workbench_fixtures.spec import FootageSpec, ShotSpec, sample_look

IMAGERY = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "imagery"

KAMPALA_21 = "kampala_oam/oam_z21_part0.tif"
KAMPALA_19 = "kampala_oam/oam_z19_part0.tif"
VEGAS = "vegas_spacenet/RGB-PanSharpen_AOI_2_Vegas_img0.tif"
NAIP = "naip_nd_timeseries/m_4709963_se_14_1_{}.tif"
S2 = "sentinel2_virginia/s2_rgb_B04B03B02_10m.tif"
BALI = "bali_pix4d/pix4d_alpha_nodata.tif"
COLORADO = "colorado_usgs/201404_13SED190110_201404_0x1500m_CL_1.tif"

NAIP_REF_YEAR = "20160816"
# the reference tile set: every positive is searched among all of these
TILESET = [KAMPALA_19, VEGAS, NAIP.format(NAIP_REF_YEAR), S2]
TOWN_DISTRACTORS = 2  # procedurally drawn towns added to every tile set


@dataclass
class Case:
    """One benchmark case.  ``source``: raster the footage is rendered from (relative to
    IMAGERY, or ``town:<seed>``); ``tiles``: relative raster paths searched (plus
    distractor towns); ``tol_m``: hit radius; ``positive``: the place is in the tiles."""

    name: str
    group: str
    source: str
    spec: FootageSpec
    tiles: list[str]
    positive: bool
    tol_m: float
    fine: bool  # reference imagery <= 0.5 m/px (median-error goal)
    tags: list[str] = field(default_factory=list)
    zoom: float = 0.0  # extreme-zoom case: frame GSD = reference GSD / zoom (0: not one)


def _shot(rng: np.random.Generator, *, dep: tuple[float, float], gsd: tuple[float, float],
          rng_m: float, target: tuple[float, float] | None, orbit: float = 0.0,
          zoom: bool = False, dur: float = 4.0) -> ShotSpec:
    d0 = float(rng.uniform(*dep))
    g0 = float(rng.uniform(*gsd))
    g = (g0, g0 * float(rng.uniform(0.45, 0.7))) if zoom else g0
    return ShotSpec(duration_s=dur, target_lonlat=target, heading_deg=float(rng.uniform(0, 360)),
                    orbit_deg_per_s=orbit, depression_deg=(d0, min(90.0, d0 + 8)),
                    slant_range_m=rng_m, gsd_m=g)


def _spec(i: int, shots: list[ShotSpec], rng: np.random.Generator) -> tuple[FootageSpec, list[str]]:
    thermal, hud, crf, tags = sample_look(rng, hud_p=0.6)
    spec = FootageSpec(shots=shots, width=640, height=360, fps=10.0, hud=hud,
                       title_card_s=1.0 if i % 3 == 0 else 0.0, thermal=thermal, crf=crf,
                       blur_sigma=float(rng.choice([0.0, 0.8])), noise_sigma=2.0,
                       shake_deg=0.05, seed=i)
    return spec, tags


def _ll(path: str, fx: float, fy: float) -> tuple[float, float]:
    """WGS84 of the fractional position (fx, fy) inside a raster."""
    import rasterio

    from workbench.geo import tile_px_to_lonlat

    with rasterio.open(IMAGERY / path) as ds:
        tr = tuple(ds.transform)[:6]
        crs = ds.crs.to_wkt()
        w, h = ds.width, ds.height
    ll = tile_px_to_lonlat(tr, crs, np.array([[fx * w, fy * h]]))[0]
    return float(ll[0]), float(ll[1])


def make_cases() -> list[Case]:
    """The >= 24 positive and >= 6 negative cases."""
    cases: list[Case] = []
    i = 0

    def add(group: str, source: str, shots_fn, tiles: list[str], positive: bool, tol: float,
            fine: bool, extra: list[str] | None = None) -> None:
        nonlocal i
        rng = np.random.default_rng(1000 + i)
        shots, stags = shots_fn(rng)
        spec, tags = _spec(i, shots, rng)
        cases.append(Case(f"{i:02d}_{group}", group, source, spec, tiles, positive, tol, fine,
                          stags + tags + (extra or [])))
        i += 1

    # Kampala: 7.5 cm drone ortho as footage, searched against the 30 cm tiles
    for k in range(8):
        def kam(rng, k=k):
            tgt = _ll(KAMPALA_21, rng.uniform(0.35, 0.65), rng.uniform(0.35, 0.65))
            zoom = k % 3 == 1
            s = _shot(rng, dep=(30, 85), gsd=(0.05, 0.15), rng_m=250, target=tgt,
                      orbit=float(rng.choice([0, 6])), zoom=zoom)
            return [s], ["zoom"] if zoom else []
        add("kampala", KAMPALA_21, kam, TILESET, True, 25.0, True)
    # Vegas: oblique orbits over the 0.3 m WorldView chip
    for _k in range(6):
        def veg(rng):
            tgt = _ll(VEGAS, rng.uniform(0.35, 0.65), rng.uniform(0.35, 0.65))
            s = _shot(rng, dep=(30, 55), gsd=(0.25, 0.5), rng_m=800, target=tgt,
                      orbit=float(rng.uniform(8, 15)))
            return [s], ["orbit"]
        add("vegas", VEGAS, veg, TILESET, True, 25.0, True)
    # NAIP: footage from other years than the reference tile (fields/lakes changed)
    for k, year in enumerate(["20200831", "20120731", "20200831", "20120731", "20090818"]):
        def naip(rng, year=year):
            src = NAIP.format(year)
            tgt = _ll(src, rng.uniform(0.4, 0.6), rng.uniform(0.4, 0.6))
            s = _shot(rng, dep=(55, 88), gsd=(4.0, 6.0), rng_m=6000, target=tgt)
            return [s], [f"{year[:4]} vs {NAIP_REF_YEAR[:4]}"]
        add("naip", NAIP.format(year), naip, TILESET, True, 150.0, False)
        _ = k
    # Sentinel-2: high-altitude passes over 10 m imagery
    for _k in range(5):
        def s2(rng):
            tgt = _ll(S2, rng.uniform(0.25, 0.75), rng.uniform(0.25, 0.75))
            s = _shot(rng, dep=(45, 88), gsd=(8.0, 16.0), rng_m=20000, target=tgt,
                      orbit=float(rng.choice([0, 2])))
            return [s], []
        add("sentinel2", S2, s2, TILESET, True, 150.0, False)
    # negatives: the footage's place is not in the tile set
    no_kam = [t for t in TILESET if t != KAMPALA_19]
    no_veg = [t for t in TILESET if t != VEGAS]
    negs = [
        ("bali", BALI, TILESET, (0.3, 0.6), 200),
        ("bali", BALI, TILESET, (0.2, 0.4), 150),
        ("colorado", COLORADO, TILESET, (0.08, 0.15), 100),
        ("kampala-excl", KAMPALA_21, no_kam, (0.06, 0.15), 250),
        ("vegas-excl", VEGAS, no_veg, (0.25, 0.5), 800),
        ("town", "town:77", TILESET, (0.3, 0.6), 400),
    ]
    for name, src, tiles, gsd, rm in negs:
        def neg(rng, src=src, gsd=gsd, rm=rm):
            tgt = None if src.startswith("town:") else _ll(src, 0.5, 0.5)
            s = _shot(rng, dep=(45, 88), gsd=gsd, rng_m=rm, target=tgt)
            return [s], ["negative"]
        add(f"neg-{name}", src, neg, tiles, False, 0.0, False)
    cases += zoom_cases(i)
    return cases


# extreme zoom: the reference imagery at 0.3 m (Kampala z19) and 0.6 m (the Vegas chip
# averaged 2x2, derived into the work folder: ``half:``); footage rendered from the finer
# source (7.5 cm Kampala drone ortho / 0.3 m Vegas, upsampled where the zoom asks for more)
ZOOM_REFS = [("kampala", KAMPALA_21, KAMPALA_19, 0.30),
             ("vegas06", VEGAS, "half:" + VEGAS, 0.60)]
ZOOMS = (4.0, 8.0, 12.0)


def zoom_cases(start: int) -> list[Case]:
    """Zoom 4x, 8x and 12x finer than the reference imagery, each with a wide start (the
    shot opens at about the imagery's resolution, then zooms in) and without (the whole
    clip is zoomed).  Scored on the most zoomed keyframe (``run.score_zoom``)."""
    out: list[Case] = []
    i = start
    for name, src, ref, ref_gsd in ZOOM_REFS:
        # the reference replaces its full-resolution original in the tile set
        tiles = [ref if ref.endswith(t) else t for t in TILESET]
        for zoom in ZOOMS:
            for wide in (False, True):
                rng = np.random.default_rng(7000 + i)
                tgt = _ll(src, float(rng.uniform(0.4, 0.6)), float(rng.uniform(0.4, 0.6)))
                g = ref_gsd / zoom
                d0 = float(rng.uniform(50, 85))
                gsd: tuple[float, ...] | float = (ref_gsd, ref_gsd, g, g) if wide else g
                shot = ShotSpec(duration_s=8.0 if wide else 4.0, target_lonlat=tgt,
                                heading_deg=float(rng.uniform(0, 360)),
                                depression_deg=(d0, min(90.0, d0 + 5)),
                                slant_range_m=600.0, gsd_m=gsd)
                spec, tags = _spec(i, [shot], rng)
                spec.title_card_s = 0.0
                label = f"zoom {zoom:.0f}x" + (" wide start" if wide else "")
                out.append(Case(f"{i:02d}_zoom-{name}", f"zoom{zoom:.0f}{'-wide' if wide else ''}",
                                src, spec, tiles, True, 25.0, True, [label, *tags], zoom=zoom))
                i += 1
    return out
