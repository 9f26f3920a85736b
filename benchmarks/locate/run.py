"""Benchmark ``workbench locate`` against the naive SIFT baseline on rendered footage.

    .venv/bin/python benchmarks/locate/run.py [--only SUBSTR] [--no-baseline] [--speed]

Cases (see ``cases.py``) are rendered once into ``benchmarks/_work/locate`` (git-ignored)
from ``../shared/data/imagery``.  Each engine run is the real CLI in a subprocess (its
``locate.json`` is scored; peak memory = the child's max RSS); the baseline runs in a
subprocess too.  Prints a table and writes ``benchmarks/locate/README.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(HERE))

from cases import IMAGERY, TOWN_DISTRACTORS, Case, make_cases  # noqa: E402

WORK = REPO / "benchmarks" / "_work" / "locate"
PY = sys.executable


def town(seed: int, size: int = 1024) -> Path:
    from workbench_fixtures.town import make_town_geotiff

    p = WORK / "towns" / f"town_{seed}_{size}.tif"
    if not p.exists():
        lon = 32.50 + 0.03 * (seed % 7)
        make_town_geotiff(p, seed=seed, width=size, height=size, gsd_m=0.5,
                          centre_lonlat=(lon, 0.30 + 0.02 * (seed % 5)))
    return p


def half(rel: str) -> Path:
    """``rel`` (under the shared imagery) averaged 2x2: the same place at half the
    resolution, derived into the work folder (never into the repository)."""
    import rasterio
    from rasterio.enums import Resampling

    p = WORK / "derived" / (Path(rel).stem + "_half.tif")
    if not p.exists():
        p.parent.mkdir(parents=True, exist_ok=True)
        with rasterio.open(IMAGERY / rel) as ds:
            w, h = ds.width // 2, ds.height // 2
            data = ds.read(out_shape=(ds.count, h, w), resampling=Resampling.average)
            prof = ds.profile.copy()
            prof.update(width=w, height=h, transform=ds.transform * ds.transform.scale(
                ds.width / w, ds.height / h), tiled=False)
            prof.pop("blockxsize", None)
            prof.pop("blockysize", None)
        with rasterio.open(p, "w", **prof) as out:
            out.write(data)
    return p


def raster(rel: str) -> Path:
    """A case's raster reference: ``town:<seed>``, ``half:<rel>`` or a shared-imagery path."""
    if rel.startswith("town:"):
        return town(int(rel.split(":")[1]))
    if rel.startswith("half:"):
        return half(rel.split(":", 1)[1])
    return IMAGERY / rel


def tile_paths(case: Case) -> list[str]:
    paths = [str(raster(t)) for t in case.tiles]
    return paths + [str(town(100 + k)) for k in range(TOWN_DISTRACTORS)]


def build(case: Case) -> tuple[Path, Path]:
    from workbench_fixtures.footage import render_footage

    d = WORK / case.name
    clip, truth = d / "clip.mp4", d / "clip.truth.json"
    if not truth.exists():
        d.mkdir(parents=True, exist_ok=True)
        render_footage(str(raster(case.source)), clip, case.spec, truth_path=truth)
    return clip, truth


def run_child(cmd: list[str], feature_cache: Path | None = None, repo: Path = REPO
              ) -> tuple[int, float, float]:
    """(exit code, wall seconds, peak RSS MB) of a child process (``repo``: the checkout
    whose ``workbench`` package it imports)."""
    t0 = time.perf_counter()
    env = {**os.environ, "PYTHONPATH": str(repo)}
    env.pop("WORKBENCH_FEATURE_CACHE", None)
    if feature_cache is not None:
        env["WORKBENCH_FEATURE_CACHE"] = str(feature_cache)
    # cwd = the checkout: ``python -m`` puts the cwd first on sys.path, before PYTHONPATH
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
                            cwd=repo)
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        sys.stderr.write(err.decode(errors="replace")[-2000:])
    return proc.returncode, time.perf_counter() - t0, usage.ru_maxrss / 1024.0


_TRUTH: dict[Path, dict] = {}


def truth_frame(truth_path: Path, frame_index: int) -> dict:
    if truth_path not in _TRUTH:
        _TRUTH[truth_path] = json.loads(truth_path.read_text())
    return _TRUTH[truth_path]["frames"][frame_index]


def truth_centre(truth_path: Path, frame_index: int) -> tuple[float, float] | None:
    c = truth_frame(truth_path, frame_index)["centre"]
    return None if c is None else (c["lon"], c["lat"])


def dist(a: tuple[float, float], b: tuple[float, float]) -> float:
    from workbench.geo import haversine_m

    return haversine_m(a[0], a[1], b[0], b[1])


def radii(doc: dict, cand: dict) -> tuple[float, float]:
    """(1-sigma, 2-sigma) radius the engine states for candidate ``cand``: the
    ``uncertainty`` section of ``locate.json`` (schema_minor >= 1), else 2x ``uncertainty_m``."""
    for u in doc.get("uncertainty", []):
        if u.get("rank") == cand["rank"]:
            return float(u["radius_m"]), float(u["radius_2sigma_m"])
    r = cand.get("uncertainty_m")
    r = float("nan") if r is None else float(r)
    return r, 2 * r


def placements(doc: dict) -> dict[str, dict]:
    """Keyframe id -> its placement in a located shot (schema_minor >= 1), else empty."""
    out = {}
    for s in doc.get("shots", []):
        for p in s.get("placements", []):
            out[p["keyframe"]] = p
    return out


def score_zoom(doc: dict, truth: Path) -> dict:
    """The most zoomed keyframe matched (smallest true frame GSD): the engine's position
    of its centre (its placement, else a top-5 candidate it represents) vs the truth."""
    kfs = [k for k in doc["keyframes"] if truth_frame(truth, k["frame_index"])["gsd_m"]]
    if not kfs:
        return {"zkf": None, "zerr": float("inf"), "zgsd": float("nan")}
    k = min(kfs, key=lambda k: truth_frame(truth, k["frame_index"])["gsd_m"])
    tc = truth_centre(truth, k["frame_index"])
    gsd = truth_frame(truth, k["frame_index"])["gsd_m"]
    pl = placements(doc).get(k["id"])
    if pl is not None:
        u = pl["uncertainty"]
        return {"zkf": k["id"], "zgsd": gsd, "zerr": dist((pl["lon"], pl["lat"]), tc),
                "zr1": u["radius_m"], "zr2": u["radius_2sigma_m"], "zvia": pl.get("via")}
    for c in doc["candidates"][:5]:
        if c["keyframe_id"] == k["id"]:
            r1, r2 = radii(doc, c)
            return {"zkf": k["id"], "zgsd": gsd, "zerr": dist((c["lon"], c["lat"]), tc),
                    "zr1": r1, "zr2": r2, "zvia": None}
    return {"zkf": k["id"], "zgsd": gsd, "zerr": float("inf")}


def score_engine(case: Case, out: Path, truth: Path) -> dict:
    doc = json.loads((out / "locate.json").read_text())
    kf_frame = {k["id"]: k["frame_index"] for k in doc["keyframes"]}
    errs = []
    for c in doc["candidates"][:5]:
        tc = truth_centre(truth, kf_frame[c["keyframe_id"]])
        errs.append(dist((c["lon"], c["lat"]), tc) if tc else float("inf"))
    top = doc["candidates"][0] if doc["candidates"] else None
    r1, r2 = radii(doc, top) if top else (float("nan"), float("nan"))
    # every keyframe placement of a located shot against its own truth (coverage sample)
    cover = []
    for kid, p in placements(doc).items():
        tc = truth_centre(truth, kf_frame[kid])
        if tc is not None:
            cover.append((dist((p["lon"], p["lat"]), tc), p["uncertainty"]["radius_m"],
                          p["uncertainty"]["radius_2sigma_m"]))
    row = {
        "verdict": doc["verdict"], "err1": errs[0] if errs else float("inf"),
        "hit1": bool(errs and errs[0] <= case.tol_m),
        "hit5": any(e <= case.tol_m for e in errs),
        "conf": top["confidence"] if top else 0.0, "inliers": top["inliers"] if top else 0,
        "unc": r1, "unc2": r2, "cover": cover,
        "secs": doc["timing_s"]["total"], "reason": doc.get("reason", ""),
    }
    if case.zoom:
        row.update(score_zoom(doc, truth))
    return row


def score_baseline(case: Case, res: dict, truth: Path) -> dict:
    err = float("inf")
    if "lon" in res:
        tc = truth_centre(truth, res["frame_index"])
        err = dist((res["lon"], res["lat"]), tc) if tc else float("inf")
    return {"located": bool(res["located"]), "err1": err, "hit1": err <= case.tol_m,
            "inliers": res["inliers"], "secs": res["seconds"]}


def fmt_pct(n: int, d: int) -> str:
    return f"{n}/{d} ({100.0 * n / d:.0f} %)" if d else "-"


def summarise(rows: list[dict], key: str) -> dict:
    pos = [r for r in rows if r["case"].positive]
    neg = [r for r in rows if not r["case"].positive]
    e = [r[key] for r in pos]
    out = {
        "hit1": sum(x["hit1"] for x in e), "n_pos": len(pos),
        "hit5": sum(x.get("hit5", x["hit1"]) for x in e),
        "n_neg": len(neg),
        "secs": statistics.median([r[key]["secs"] for r in rows]) if rows else 0,
        "mem": max((r[key + "_mem"] for r in rows), default=0.0),
    }
    if key == "engine":
        out["located_ok"] = sum(x["verdict"] == "located" and x["hit1"] for x in e)
        out["located_wrong"] = sum(x["verdict"] == "located" and not x["hit1"] for x in e)
        out["neg_rejected"] = sum(r[key]["verdict"] != "located" for r in neg)
        out["neg_not_located"] = sum(r[key]["verdict"] == "not_located" for r in neg)
    else:
        out["located_ok"] = sum(x["located"] and x["hit1"] for x in e)
        out["located_wrong"] = sum(x["located"] and not x["hit1"] for x in e)
        out["neg_rejected"] = sum(not r[key]["located"] for r in neg)
        out["neg_not_located"] = out["neg_rejected"]
    fine = [x["err1"] for r, x in zip(pos, e, strict=True) if r["case"].fine and x["hit1"]]
    out["median_err_fine"] = statistics.median(fine) if fine else float("nan")
    allh = [x["err1"] for x in e if x["hit1"]]
    out["median_err_all"] = statistics.median(allh) if allh else float("nan")
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default="")
    ap.add_argument("--no-baseline", action="store_true")
    ap.add_argument("--speed", action="store_true", help="also run the 50 Mpx speed case")
    ap.add_argument("--no-readme", action="store_true")
    ap.add_argument("--cold", action="store_true",
                    help="no tile-feature cache between cases (default: cache, warm after the "
                         "first case; the speed case is always cold)")
    ap.add_argument("--matcher", choices=("sift", "auto", "learned"), default=None,
                    help="pass --matcher to the engine (default: the engine's default)")
    ap.add_argument("--shard", default="", help="i/n: only every n-th case from the i-th")
    ap.add_argument("--save", type=Path, default=None, help="write the scored rows (JSON)")
    ap.add_argument("--merge", type=Path, nargs="*", default=None,
                    help="render the tables of rows saved by --save runs (no engine run)")
    ap.add_argument("--merge-before", type=Path, nargs="*", default=[],
                    help="with --merge: rows of runs of the earlier engine (--repo DIR)")
    ap.add_argument("--repo", type=Path, default=REPO,
                    help="the checkout whose engine is measured (default: this one)")
    ap.add_argument("--before", type=Path, default=None,
                    help="also run the engine of this checkout (e.g. an export of main) on "
                         "every case, in the same run, and print both tables")
    args = ap.parse_args()
    extra = ["--matcher", args.matcher] if args.matcher else []
    if not IMAGERY.is_dir():
        print(f"shared imagery not found at {IMAGERY}", file=sys.stderr)
        return 2
    cases = [c for c in make_cases() if args.only in c.name]
    if args.merge is not None:
        return merge(args.merge, cases, args)
    if args.shard:
        i, n = (int(v) for v in args.shard.split("/"))
        cases = cases[i::n]
    sfx = args.shard.replace("/", "of")
    rows = []
    before_rows = []
    t_all = time.perf_counter()
    for case in cases:
        clip, truth = build(case)
        tiles = tile_paths(case)
        row = run_engine(case, clip, truth, tiles, extra, "engine", args.repo.resolve(),
                         None if args.cold else WORK / f"feature_cache{sfx}")
        if args.before is not None:
            before_rows.append(run_engine(
                case, clip, truth, tiles, extra, "engine_before", args.before.resolve(),
                None if args.cold else WORK / f"feature_cache_before{sfx}"))
        if not args.no_baseline:
            bj = WORK / case.name / "baseline.json"
            rc, wall, mem = run_child([PY, str(HERE / "baseline.py"), str(clip), str(bj), *tiles])
            row["baseline_mem"] = mem
            row["baseline"] = score_baseline(case, json.loads(bj.read_text()), truth) if rc == 0 \
                else {"located": False, "err1": float("inf"), "hit1": False, "inliers": 0,
                      "secs": wall}
        e = row["engine"]
        b = row.get("baseline", {})
        print(f"{case.name:24s} {'+' if case.positive else '-'} {','.join(case.tags)[:28]:28s} "
              f"engine {e['verdict']:11s} err {e['err1']:9.1f} m conf {e['conf']:.2f} "
              f"inl {e['inliers']:4d} {e['secs']:5.1f} s {row['engine_mem']:5.0f} MB | "
              f"baseline err {b.get('err1', float('nan')):9.1f} m inl {b.get('inliers', 0):4d} "
              f"{b.get('secs', 0):5.1f} s"
              + (f" | zoom err {e['zerr']:.1f} m" if case.zoom else ""), flush=True)
        rows.append(row)
    if args.save is not None:
        def plain(rs: list[dict]) -> list[dict]:
            return [{**r, "case": r["case"].name} for r in rs]
        args.save.write_text(json.dumps({"after": plain(rows), "before": plain(before_rows),
                                         "wall_s": time.perf_counter() - t_all}))
    speed = run_speed() if args.speed else None
    table = render_table(rows, not args.no_baseline, speed, time.perf_counter() - t_all)
    table += "\n\n" + zoom_table(rows, before_rows) + "\n\n" + coverage_table(rows, before_rows)
    if before_rows:
        table += "\n\nBefore (" + str(args.before) + ", same run):\n\n" + render_table(
            before_rows, False, None, 0.0).rsplit("\n\nBenchmark wall", 1)[0]
    print(table)
    if not args.no_readme and not args.only:
        write_readme(table, rows)
    return 0


def merge(paths: list[Path], cases: list[Case], args: argparse.Namespace) -> int:
    """The tables of several ``--save`` runs (shards of one run) together."""
    by_name = {c.name: c for c in cases}
    rows: list[dict] = []
    before: list[dict] = []
    wall = 0.0
    for p in paths:
        doc = json.loads(p.read_text())
        for key, out in (("after", rows), ("before", before)):
            out += [{**r, "case": by_name[r["case"]]} for r in doc[key]
                    if r["case"] in by_name]
        wall = max(wall, doc["wall_s"])
    for p in args.merge_before:
        doc = json.loads(p.read_text())
        before += [{**r, "case": by_name[r["case"]]} for r in doc["after"]
                   if r["case"] in by_name]
    order = {c.name: i for i, c in enumerate(cases)}
    rows.sort(key=lambda r: order[r["case"].name])
    before.sort(key=lambda r: order[r["case"].name])
    table = render_table(rows, False, None, wall)
    table += "\n\n" + zoom_table(rows, before) + "\n\n" + coverage_table(rows, before)
    if before:
        table += "\n\nBefore (" + str(args.before) + ", same run):\n\n" + render_table(
            before, False, None, 0.0).rsplit("\n\nBenchmark wall", 1)[0]
    print(table)
    if not args.no_readme:
        write_readme(table, rows)
    return 0


def run_engine(case: Case, clip: Path, truth: Path, tiles: list[str], extra: list[str],
               name: str, repo: Path, cache: Path | None) -> dict:
    """One engine run (the CLI of ``repo`` in a child process), scored."""
    out = WORK / case.name / name
    rc, wall, mem = run_child([PY, "-m", "workbench", "-q", "locate", str(clip), "--tiles",
                               *tiles, "--out", str(out), *extra], cache, repo)
    row: dict = {"case": case, "engine_mem": mem}
    row["engine"] = score_engine(case, out, truth) if rc == 0 else {
        "verdict": f"exit {rc}", "err1": float("inf"), "hit1": False, "hit5": False,
        "conf": 0.0, "inliers": 0, "unc": float("nan"), "unc2": float("nan"), "cover": [],
        "secs": wall, "reason": "", "zerr": float("inf")}
    return row


def _med(v: list[float]) -> str:
    v = [x for x in v if x == x and x != float("inf")]
    return f"{statistics.median(v):.2f}" if v else "-"


def zoom_table(rows: list[dict], before: list[dict]) -> str:
    """Extreme-zoom cases: the most zoomed keyframe's position (hit = within 25 m)."""
    def cells(rs: list[dict]) -> str:
        e = [r["engine"] for r in rs]
        hits = sum(x["zerr"] <= r["case"].tol_m for x, r in zip(e, rs, strict=True))
        hit1 = sum(x["hit1"] for x in e)
        wrong = sum(x["verdict"] == "located" and not x["hit1"] for x in e)
        return (f"{hit1}/{len(rs)} | {wrong} | {hits}/{len(rs)} | "
                f"{_med([x['zerr'] for x in e])} | {_med([x['secs'] for x in e])}")

    zr = [r for r in rows if r["case"].zoom]
    if not zr:
        return ""
    groups = sorted({r["case"].group for r in zr}, key=lambda g: (len(g), g))
    head = ("| group | cases | hit@1 | located but wrong | most zoomed keyframe placed "
            "(<= 25 m) | its median error (m) | median s |")
    lines = ["### Extreme zoom (most zoomed keyframe)", ""]
    for label, rs_all in (("after", rows), ("before", before)):
        zs = [r for r in rs_all if r["case"].zoom]
        if not zs:
            continue
        lines += [f"{label}:", "", head, "|---|---|---|---|---|---|---|"]
        for g in groups:
            rs = [r for r in zs if r["case"].group == g]
            lines.append(f"| {g} | {len(rs)} | {cells(rs)} |")
        lines.append(f"| all | {len(zs)} | {cells(zs)} |")
        lines.append("")
        lines += ["| case | verdict | most zoomed kf | its GSD (m) | via | error (m) | "
                  "stated 1-sigma (m) | s |", "|---|---|---|---|---|---|---|---|"]
        for r in zs:
            e = r["engine"]
            lines.append(f"| {r['case'].name} {r['case'].tags[0]} | {e['verdict']} | "
                         f"{e.get('zkf')} | {e.get('zgsd', float('nan')):.3f} | "
                         f"{e.get('zvia') or '-'} | {e['zerr']:.2f} | "
                         f"{e.get('zr1', float('nan')):.2f} | {e['secs']:.1f} |")
        lines.append("")
    return "\n".join(lines).rstrip()


def coverage_table(rows: list[dict], before: list[dict]) -> str:
    """Share of true positions inside the stated 1-sigma and 2-sigma radii (hits only)."""
    lines = ["### Uncertainty coverage (true position inside the stated radius)", "",
             "| engine | sample | n | inside 1-sigma | inside 2-sigma | median error / 1-sigma |",
             "|---|---|---|---|---|---|"]
    for label, rs in (("after", rows), ("before", before)):
        pos = [r["engine"] for r in rs if r["case"].positive and r["engine"]["hit1"]]
        samples = {"rank-1 candidates of hits": [(e["err1"], e["unc"], e["unc2"]) for e in pos],
                   "every keyframe placement": [c for e in pos for c in e["cover"]]}
        for name, v in samples.items():
            v = [x for x in v if x[1] == x[1]]
            if not v:
                continue
            n = len(v)
            i1 = sum(err <= r1 for err, r1, _ in v)
            i2 = sum(err <= r2 for err, _, r2 in v)
            lines.append(f"| {label} | {name} | {n} | {100 * i1 / n:.0f} % | "
                         f"{100 * i2 / n:.0f} % | {_med([err / r1 for err, r1, _ in v])} |")
    return "\n".join(lines)


def run_speed() -> dict:
    """A 10 s 854x480 clip against ~50 Mpx of rasters (two big towns + the real imagery)."""
    from workbench_fixtures.footage import render_footage
    from workbench_fixtures.spec import FootageSpec, ShotSpec

    big = [town(200, 4096), town(201, 4096)]
    real = ["kampala_oam/oam_z21_part0.tif", "kampala_oam/oam_z20_part0.tif",
            "sentinel2_virginia/s2_rgb_B04B03B02_10m.tif",
            "vegas_spacenet/RGB-PanSharpen_AOI_2_Vegas_img0.tif",
            "naip_nd_timeseries/m_4709963_se_14_1_20160816.tif"]
    tiles = [str(p) for p in big] + [str(IMAGERY / r) for r in real]
    import rasterio

    mpx = 0.0
    for t in tiles:
        with rasterio.open(t) as ds:
            mpx += ds.width * ds.height / 1e6
    d = WORK / "speed"
    clip, truth = d / "clip.mp4", d / "clip.truth.json"
    if not truth.exists():
        d.mkdir(parents=True, exist_ok=True)
        spec = FootageSpec(
            shots=[ShotSpec(duration_s=5, heading_deg=40, orbit_deg_per_s=6, depression_deg=60,
                            slant_range_m=500, gsd_m=0.3),
                   ShotSpec(duration_s=5, heading_deg=250, depression_deg=(45, 55),
                            slant_range_m=700, gsd_m=(0.45, 0.25))],
            width=854, height=480, fps=25, hud=True, crf=28, seed=9)
        render_footage(str(big[1]), clip, spec, truth_path=truth)
    out = d / "engine"
    rc, wall, mem = run_child([PY, "-m", "workbench", "-q", "locate", str(clip), "--tiles",
                               *tiles, "--out", str(out)])  # cold: no feature cache
    case = Case("speed", "speed", "town", FootageSpec(), [], True, 25.0, True)
    s = score_engine(case, out, truth) if rc == 0 else {"verdict": f"exit {rc}", "err1": -1,
                                                         "secs": wall}
    return {"mpx": mpx, "wall": wall, "mem": mem, **s}


def render_table(rows: list[dict], with_base: bool, speed: dict | None, total_s: float) -> str:
    e = summarise(rows, "engine")
    b = summarise(rows, "baseline") if with_base else None
    lines = ["| metric | engine | naive SIFT baseline |", "|---|---|---|"]

    def line(name: str, fe: str, fb: str) -> None:
        lines.append(f"| {name} | {fe} | {fb if b else '-'} |")

    line("hit@1 (25 m on <= 1 m imagery, 150 m coarser)", fmt_pct(e["hit1"], e["n_pos"]),
         fmt_pct(b["hit1"], b["n_pos"]) if b else "")
    line("hit@5", fmt_pct(e["hit5"], e["n_pos"]), fmt_pct(b["hit5"], b["n_pos"]) if b else "")
    line("positives verdict `located` and correct", fmt_pct(e["located_ok"], e["n_pos"]),
         fmt_pct(b["located_ok"], b["n_pos"]) if b else "")
    line("positives `located` but wrong", str(e["located_wrong"]),
         str(b["located_wrong"]) if b else "")
    line("negatives rejected (not `located`)", fmt_pct(e["neg_rejected"], e["n_neg"]),
         fmt_pct(b["neg_rejected"], b["n_neg"]) + " (>= 10 inliers = located)" if b else "")
    line("negatives `not_located`", fmt_pct(e["neg_not_located"], e["n_neg"]), "-")
    line("median error, hits on <= 0.5 m imagery", f"{e['median_err_fine']:.2f} m",
         f"{b['median_err_fine']:.2f} m" if b else "")
    line("median error, all hits", f"{e['median_err_all']:.2f} m",
         f"{b['median_err_all']:.2f} m" if b else "")
    line("median seconds per case", f"{e['secs']:.1f} s", f"{b['secs']:.1f} s" if b else "")
    line("peak memory (max RSS of a case)", f"{e['mem']:.0f} MB", f"{b['mem']:.0f} MB" if b else "")
    groups = sorted({r["case"].group for r in rows})
    lines += ["", "| group | cases | engine hit@1 | engine located&correct | baseline hit@1 |",
              "|---|---|---|---|---|"]
    for g in groups:
        rs = [r for r in rows if r["case"].group == g]
        pos = rs[0]["case"].positive
        if pos:
            eh = sum(r["engine"]["hit1"] for r in rs)
            el = sum(r["engine"]["verdict"] == "located" and r["engine"]["hit1"] for r in rs)
            bh = sum(r["baseline"]["hit1"] for r in rs) if with_base else 0
            lines.append(f"| {g} | {len(rs)} | {eh} | {el} | {bh if with_base else '-'} |")
        else:
            er = sum(r["engine"]["verdict"] != "located" for r in rs)
            br = sum(not r["baseline"]["located"] for r in rs) if with_base else 0
            lines.append(f"| {g} (negative) | {len(rs)} | rejected {er} | - | "
                         f"rejected {br if with_base else '-'} |")
    if speed:
        lines += ["", f"Speed case: 10 s 854x480 clip (2 shots, HUD) against {speed['mpx']:.0f} Mpx"
                  f" of rasters (7 files): verdict {speed['verdict']}, error "
                  f"{speed['err1']:.1f} m, {speed['secs']:.1f} s inside locate "
                  f"({speed['wall']:.1f} s wall incl. interpreter start), "
                  f"peak {speed['mem']:.0f} MB."]
    lines += ["", f"Benchmark wall time {total_s / 60:.1f} min on {os.cpu_count()} cores."]
    return "\n".join(lines)


def write_readme(table: str, rows: list[dict]) -> None:
    def err(v: float) -> str:
        return "-" if v == float("inf") or v != v else "> 10 km" if v > 1e4 else f"{v:.1f}"

    per_case = ["| case | + / - | tags | engine verdict | conf | inliers | error (m) |"
                " baseline inliers | baseline error (m) |",
                "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        c, e, b = r["case"], r["engine"], r.get("baseline", {})
        per_case.append(
            f"| {c.name} | {'+' if c.positive else '-'} | {', '.join(c.tags)} | {e['verdict']} |"
            f" {e['conf']:.2f} | {e['inliers']} | {err(e['err1'])} | {b.get('inliers', '-')} |"
            f" {err(b.get('err1', float('nan')))} |")
    text = (HERE / "README.md").read_text() if (HERE / "README.md").exists() else ""
    head = text.split("<!-- results -->")[0] if "<!-- results -->" in text else text
    (HERE / "README.md").write_text(
        head.rstrip() + "\n\n<!-- results -->\n## Results\n\n" + table + "\n\n### Per case\n\n"
        + "\n".join(per_case) + "\n")


if __name__ == "__main__":
    raise SystemExit(main())
