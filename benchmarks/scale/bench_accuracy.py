"""Accuracy of search through the region index against the exhaustive matcher.

    .venv/bin/python benchmarks/scale/bench_accuracy.py [--size 10] [--clips 4]

On one generated mosaic (``bench_scale.prepare``'s towns, 0.5 m): ``--clips`` positive
clips rendered from different towns of the mosaic, one negative (a town that is not
in it), and the first positive again against the same mosaic with its true town
replaced by another one (honest distractor: same generator, resampling and colour
handling; the true footprint is nowhere), where a `located` verdict is wrong.
Real imagery across dates and sensors (``../shared/data/regions/``) is not covered yet.
Prints, per case: shortlist recall (is the truth inside a searched window),
index verdict and error, exhaustive verdict and error, and totals: hit@1 (25 m),
wrong `located`, negatives rejected.  Partial by design on a shared 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1]))

from bench_scale import (  # noqa: E402
    PY,
    TOWN_PX,
    WORK,
    centre_error,
    clip_spec,
    layout,
    run_measured,
)


def render(raster: Path, target: tuple[float, float], gsd: float, out: Path) -> tuple[Path, Path]:
    from workbench_fixtures.footage import render_footage

    clip, truth = out / "clip.mp4", out / "clip.truth.json"
    if not truth.exists():
        out.mkdir(parents=True, exist_ok=True)
        render_footage(raster, clip, clip_spec(target, gsd), truth_path=truth)
    return clip, truth


def index(vrt: Path, idx: Path) -> None:
    if not (idx / "manifest.json").is_file():
        r = run_measured([PY, "-m", "workbench", "-q", "index", str(vrt), "--out", str(idx)])
        assert r["rc"] == 0, "index failed"


def run_case(name: str, clip: Path, truth: Path | None, idx: Path, vrt: Path,
             exhaustive: bool) -> dict[str, object]:
    out = WORK / "accuracy" / name
    shutil.rmtree(out, ignore_errors=True)
    r = run_measured([PY, "-m", "workbench", "-q", "locate", str(clip), "--index", str(idx),
                      "--out", str(out / "index")])
    doc = json.loads((out / "index" / "locate.json").read_text())
    row: dict[str, object] = {"case": name, "verdict": doc["verdict"], "s": round(r["wall"], 1),
                              "windows": doc["method"]["search"]["windows_searched"]}
    if truth is not None:
        row["error_m"] = round(centre_error(doc, truth), 2)
        row["in_windows"] = _truth_in_windows(doc, truth, vrt)
    if exhaustive:
        e = run_measured([PY, "-m", "workbench", "-q", "locate", str(clip), "--tiles", str(vrt),
                          "--index-above", "inf", "--out", str(out / "tiles")])
        d2 = json.loads((out / "tiles" / "locate.json").read_text())
        row.update(ex_verdict=d2["verdict"], ex_s=round(e["wall"], 1))
        if truth is not None:
            row["ex_error_m"] = round(centre_error(d2, truth), 2)
    print(json.dumps(row), flush=True)
    return row


def _truth_in_windows(doc: dict, truth: Path, vrt: Path) -> bool:
    """Whether a candidate lies within 25 m of truth (the shortlist brought it in)."""
    frames = json.loads(truth.read_text())["frames"]
    kf = {k["id"]: k["frame_index"] for k in doc["keyframes"]}
    from workbench.geo import haversine_m

    for c in doc["candidates"]:
        t = frames[kf[c["keyframe_id"]]]["centre"]
        if t and haversine_m(c["lon"], c["lat"], t["lon"], t["lat"]) < 25:
            return True
    return False


def main() -> int:
    from workbench_fixtures.mosaic import make_town_mosaic

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=float, default=10.0)
    ap.add_argument("--clips", type=int, default=4)
    ap.add_argument("--no-exhaustive", action="store_true")
    a = ap.parse_args()
    gsd = 0.5
    n, cols = layout(a.size, gsd)
    d = WORK / f"mosaic_{n}x{TOWN_PX}_{gsd:g}m"
    mosaic = make_town_mosaic(d, n=n, cols=cols, size=TOWN_PX, gsd_m=gsd,
                              origin_lonlat=(32.40, 0.30))
    idx = d / "idx"
    index(mosaic.vrt, idx)
    rows = []
    picks = [int(k) for k in [i * (n - 1) / max(1, a.clips - 1) for i in range(a.clips)]]
    for k in picks:
        clip, truth = render(mosaic.towns[k], mosaic.centres[k], gsd, d / f"clip_town{k}")
        rows.append(run_case(f"town{k}", clip, truth, idx, mosaic.vrt, not a.no_exhaustive))
    # negative: a town that is not in the mosaic (another seed, another place)
    from workbench_fixtures.town import make_town_geotiff

    neg_tif = WORK / "accuracy_negative" / "town.tif"
    if not neg_tif.exists():
        make_town_geotiff(neg_tif, seed=99, width=TOWN_PX, height=TOWN_PX, gsd_m=gsd,
                          centre_lonlat=(33.0, 1.0))
    clip, _ = render(neg_tif, (33.0, 1.0), gsd, neg_tif.parent / "clip")
    rows.append(run_case("negative", clip, None, idx, mosaic.vrt, not a.no_exhaustive))
    # the first positive against the mosaic with its true town replaced
    k = picks[0]
    d2 = WORK / f"mosaic_{n}x{TOWN_PX}_{gsd:g}m_without{k}"
    d2.mkdir(parents=True, exist_ok=True)
    for i, t in enumerate(mosaic.towns):
        if i != k and not (d2 / t.name).exists():
            (d2 / t.name).symlink_to(t)
    removed = make_town_mosaic(d2, n=n, cols=cols, size=TOWN_PX, gsd_m=gsd,
                               origin_lonlat=(32.40, 0.30), first_seed=0)
    # town k of d2 was drawn with seed k too: redraw it with an unused seed in its cell
    true_cell = d2 / f"town{k}.tif"
    marker = d2 / "replaced.txt"
    if not marker.exists():
        true_cell.unlink()
        make_town_geotiff(true_cell, seed=500 + k, width=TOWN_PX, height=TOWN_PX, gsd_m=gsd,
                          centre_lonlat=mosaic.centres[k])
        marker.write_text("replaced\n")
        shutil.rmtree(d2 / "idx", ignore_errors=True)
    index(removed.vrt, d2 / "idx")
    clip, _ = render(mosaic.towns[k], mosaic.centres[k], gsd, d / f"clip_town{k}")
    rows.append(run_case(f"town{k}-removed", clip, None, d2 / "idx", removed.vrt,
                         not a.no_exhaustive))
    pos = [r for r in rows if r["case"].startswith("town") and "removed" not in r["case"]]
    hit = sum(1 for r in pos if isinstance(r.get("error_m"), float)
              and r["error_m"] < 25 and r["verdict"] == "located")
    ex_hit = sum(1 for r in pos if isinstance(r.get("ex_error_m"), float)
                 and r["ex_error_m"] < 25 and r.get("ex_verdict") == "located")
    recall = sum(1 for r in pos if r.get("in_windows"))
    wrong = sum(1 for r in rows if r["verdict"] == "located"
                and (r["case"] in ("negative",) or "removed" in str(r["case"])
                     or not (isinstance(r.get("error_m"), float) and r["error_m"] < 25)))
    print(f"positives: {len(pos)}; truth in searched windows {recall}/{len(pos)};"
          f" located within 25 m: index {hit}/{len(pos)}, exhaustive {ex_hit}/{len(pos)};"
          f" wrong located (index): {wrong}; negative and removed-truth verdicts:"
          f" {[r['verdict'] for r in rows if r not in pos]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
