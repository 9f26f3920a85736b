"""Calibrate the position uncertainty (``workbench.position.CALIBRATION`` / ``TWO_SIGMA``)
on clips disjoint from the benchmark.

    .venv/bin/python benchmarks/locate/calibrate_uncertainty.py [--n 12]

Clips are rendered into ``benchmarks/_work/uncertainty`` (git-ignored) from drawn towns of
seeds the benchmark never uses, and from the shared imagery at other places, with other
seeds and against *other* reference rasters than ``benchmarks/locate`` (Kampala z20 instead
of z19, NAIP 2012 instead of 2016), each searched against its reference alone.  For every
located clip, the rank-1 candidate and every keyframe placement of a located shot give one
sample (true error / stated 1-sigma radius).  Prints the quantiles and the factors that
would make the 1-sigma radius contain 68 % and the 2-sigma radius 95 % of the samples.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(HERE))

from cases import IMAGERY, _ll  # noqa: E402

WORK = REPO / "benchmarks" / "_work" / "uncertainty"
SOURCES = [  # (footage source, reference, frame GSD range m, slant range m)
    ("town:300", "town:300", (0.15, 0.4), 500),
    ("town:301", "town:301", (0.2, 0.5), 500),
    ("town:302", "town:302", (0.1, 0.3), 400),
    ("town:303", "town:303", (0.25, 0.6), 600),
    ("kampala_oam/oam_z21_part0.tif", "kampala_oam/oam_z20_part0.tif", (0.05, 0.12), 250),
    ("kampala_oam/oam_z21_part0.tif", "kampala_oam/oam_z20_part0.tif", (0.08, 0.15), 250),
    ("vegas_spacenet/RGB-PanSharpen_AOI_2_Vegas_img0.tif",
     "vegas_spacenet/RGB-PanSharpen_AOI_2_Vegas_img0.tif", (0.25, 0.45), 800),
    ("naip_nd_timeseries/m_4709963_se_14_1_20200831.tif",
     "naip_nd_timeseries/m_4709963_se_14_1_20120731.tif", (4.0, 6.0), 6000),
    ("sentinel2_virginia/s2_rgb_B04B03B02_10m.tif",
     "sentinel2_virginia/s2_rgb_B04B03B02_10m.tif", (8.0, 14.0), 20000),
]


def raster(ref: str) -> Path:
    if ref.startswith("town:"):
        from workbench_fixtures.town import make_town_geotiff

        seed = int(ref.split(":")[1])
        p = WORK / "towns" / f"town_{seed}.tif"
        if not p.exists():
            make_town_geotiff(p, seed=seed, width=1024, height=1024, gsd_m=0.5,
                              centre_lonlat=(30.1 + 0.02 * seed % 7, -1.9 + 0.01 * (seed % 5)))
        return p
    return IMAGERY / ref


def build(i: int) -> tuple[Path, Path, Path]:
    from workbench_fixtures.footage import render_footage
    from workbench_fixtures.spec import FootageSpec, ShotSpec

    src, ref, gsd, rng_m = SOURCES[i % len(SOURCES)]
    rng = np.random.default_rng(9000 + i)
    d = WORK / f"u{i:02d}"
    clip, truth = d / "clip.mp4", d / "clip.truth.json"
    if not truth.exists():
        d.mkdir(parents=True, exist_ok=True)
        shots = []
        for _ in range(int(rng.integers(1, 3))):
            tgt = None if src.startswith("town:") else _ll(
                src, float(rng.uniform(0.3, 0.7)), float(rng.uniform(0.3, 0.7)))
            d0 = float(rng.uniform(35, 85))
            shots.append(ShotSpec(duration_s=3.0, target_lonlat=tgt,
                                  heading_deg=float(rng.uniform(0, 360)),
                                  orbit_deg_per_s=float(rng.choice([0.0, 5.0])),
                                  depression_deg=(d0, min(90.0, d0 + 6)), slant_range_m=rng_m,
                                  gsd_m=float(rng.uniform(*gsd))))
        thermal = str(rng.choice(["none", "none", "whitehot", "grey"]))
        spec = FootageSpec(shots=shots, width=640, height=360, fps=10.0,
                           hud=bool(rng.random() < 0.5), thermal=thermal,
                           crf=int(rng.choice([23, 30, 36])), noise_sigma=2.0, shake_deg=0.05,
                           blur_sigma=float(rng.choice([0.0, 0.8])), seed=9000 + i)
        render_footage(str(raster(src)), clip, spec, truth_path=truth)
    return clip, truth, raster(ref)


def samples(doc: dict, truth: dict) -> list[tuple[float, float]]:
    """(true error m, stated 1-sigma m) of the rank-1 candidate and of every placement."""
    from workbench.geo import haversine_m

    frame = {k["id"]: k["frame_index"] for k in doc["keyframes"]}
    out = []

    def add(kid: str, lon: float, lat: float, r: float | None) -> None:
        c = truth["frames"][frame[kid]]["centre"]
        if c is not None and r:
            out.append((haversine_m(lon, lat, c["lon"], c["lat"]), float(r)))

    if doc["verdict"] == "located":
        c = doc["candidates"][0]
        add(c["keyframe_id"], c["lon"], c["lat"], c["uncertainty_m"])
        for s in doc.get("shots", []):
            for p in s["placements"]:
                add(p["keyframe"], p["lon"], p["lat"], p["uncertainty"]["radius_m"])
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=12)
    args = ap.parse_args()
    from workbench.locate import locate
    from workbench.locate.model import LocateConfig
    from workbench.match.model import MatchConfig
    from workbench.position import CALIBRATION, TWO_SIGMA

    rows = []
    for i in range(args.n):
        clip, truth_p, ref = build(i)
        out = WORK / f"u{i:02d}" / "engine"
        res = locate(clip, [ref], out_dir=out,
                     config=LocateConfig(match=MatchConfig(matcher="sift"), hash_tiles=False))
        doc = json.loads((out / "locate.json").read_text())
        s = samples(doc, json.loads(truth_p.read_text()))
        far = [e for e, _ in s if e >= 200.0]
        s = [x for x in s if x[0] < 200.0]  # wrong places are the confidence's business
        rows += s
        print(f"u{i:02d} {res.verdict:11s} samples {len(s):2d} "
              f"err/r {[round(e / r, 2) for e, r in s]} {f'(far: {len(far)})' if far else ''}",
              flush=True)
    if not rows:
        print("no samples")
        return 1
    ratio = np.array([e / r for e, r in rows])
    q68, q95 = np.quantile(ratio, [0.68, 0.95])
    print(f"\n{len(ratio)} samples; with CALIBRATION={CALIBRATION}, TWO_SIGMA={TWO_SIGMA}: "
          f"inside 1-sigma {100 * np.mean(ratio <= 1):.0f} %, inside 2-sigma "
          f"{100 * np.mean(ratio <= TWO_SIGMA):.0f} %")
    print(f"err/r quantiles: 50 % {np.quantile(ratio, 0.5):.2f}, 68 % {q68:.2f}, 95 % {q95:.2f}")
    print(f"-> CALIBRATION = {CALIBRATION * q68:.2f} (68 % inside), "
          f"TWO_SIGMA = {q95 / q68:.2f} (95 % inside the 2-sigma radius)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
