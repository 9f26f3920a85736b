"""Speed of the test-data generators (town GeoTIFF, footage renderer, demo set).

Run: ``.venv/bin/python benchmarks/bench_fixtures.py [--keep DIR]``  (about 30 s, 1 core).

Measures, and prints as one JSON document:

* ``draw_town`` for a 2048 x 2048 town (3 seeds; goal < 3 s each) and the GeoTIFF
  write with overviews (size on disk);
* ``render_footage`` frames per second for the demo clip (640x360, HUD) and for
  heavy variants (white-hot + blur + noise + CRF 40);
* ``make_demo`` from scratch (goal < 20 s) and again when complete (idempotent, ~0 s);
* footage from real imagery when ``../shared/data/imagery`` is present (Kampala
  7.5 cm RGBA in EPSG:3857, Sentinel-2 uint16 at high altitude).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from workbench_fixtures.cli import DEMO_TOWN, demo_spec, make_demo  # noqa: E402
from workbench_fixtures.footage import render_footage  # noqa: E402
from workbench_fixtures.spec import FootageSpec, ShotSpec  # noqa: E402
from workbench_fixtures.town import draw_town, make_town_geotiff  # noqa: E402

IMAGERY = REPO.parent / "shared" / "data" / "imagery"


CPU: dict[str, float] = {}


def timed(fn, *args, **kw):  # type: ignore[no-untyped-def]
    """Run ``fn``; return (result, wall seconds); CPU seconds are kept in ``CPU``."""
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn(*args, **kw)
    CPU[getattr(fn, "__name__", "fn")] = round(time.process_time() - c0, 2)
    return out, time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--keep", type=Path, help="write outputs here instead of a temp folder")
    args = ap.parse_args()
    res: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = args.keep or Path(tmp_s)
        tmp.mkdir(parents=True, exist_ok=True)
        res["draw_town_2048_s"] = [round(timed(draw_town, seed=s)[1], 2) for s in (0, 1, 2)]
        res["draw_town_2048_cpu_s"] = CPU["draw_town"]
        town, dt = timed(make_town_geotiff, tmp / "town.tif", **DEMO_TOWN)
        res["town_geotiff_2048_s"] = round(dt, 2)
        res["town_geotiff_mb"] = round(town.stat().st_size / 1e6, 1)

        spec = demo_spec()
        truth, dt = timed(render_footage, town, tmp / "demo.mp4", spec)
        res["demo_clip_frames"] = truth.frame_count
        res["demo_clip_render_s"] = round(dt, 2)
        res["demo_clip_fps"] = round(truth.frame_count / dt, 1)
        res["demo_clip_cpu_s"] = CPU["render_footage"]
        heavy = FootageSpec(
            **{
                **spec.__dict__,
                "thermal": "whitehot",
                "blur_sigma": 1.0,
                "noise_sigma": 6.0,
                "crf": 40,
                "shake_deg": 0.3,
            }
        )
        truth, dt = timed(render_footage, town, tmp / "heavy.mp4", heavy)
        res["heavy_clip_fps"] = round(truth.frame_count / dt, 1)
        res["heavy_clip_kb"] = round((tmp / "heavy.mp4").stat().st_size / 1e3)

        _, dt = timed(make_demo, tmp / "demo", force=True)
        res["make_demo_s"] = round(dt, 2)
        res["make_demo_cpu_s"] = CPU["make_demo"]
        _, dt = timed(make_demo, tmp / "demo")
        res["make_demo_again_s"] = round(dt, 3)

        if IMAGERY.is_dir():
            kam = IMAGERY / "kampala_oam" / "oam_z21_part0.tif"
            s = FootageSpec(
                shots=[
                    ShotSpec(
                        duration_s=4,
                        heading_deg=70,
                        orbit_deg_per_s=10,
                        depression_deg=(50, 60),
                        slant_range_m=150,
                        gsd_m=(0.06, 0.04),
                    )
                ],
                hud=True,
                fps=25,
            )
            truth, dt = timed(render_footage, kam, tmp / "kampala.mp4", s)
            res["kampala_z21_fps"] = round(truth.frame_count / dt, 1)
            s2 = IMAGERY / "sentinel2_virginia" / "s2_rgb_B04B03B02_10m.tif"
            s = FootageSpec(
                shots=[
                    ShotSpec(
                        duration_s=4,
                        heading_deg=10,
                        orbit_deg_per_s=5,
                        depression_deg=(60, 70),
                        slant_range_m=12000,
                        gsd_m=(12.0, 8.0),
                    )
                ],
                fps=25,
                thermal="grey",
            )
            truth, dt = timed(render_footage, s2, tmp / "s2.mp4", s)
            res["sentinel2_high_altitude_fps"] = round(truth.frame_count / dt, 1)
    res["load_average_1min"] = round(os.getloadavg()[0], 1)  # > 2 on 2 cores: wall times inflated
    res["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
