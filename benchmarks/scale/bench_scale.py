"""Scale benchmark of the region index: one mosaic per size, indexed, then searched.

    .venv/bin/python benchmarks/scale/bench_scale.py [--sizes 1,10,100,1000]
        [--exhaustive] [--workers 1]

Per size (km²): generated towns (2048² px each) laid out as ONE VRT mosaic (0.5 m/px
up to ``--fine-up-to`` km², 2 m/px up to ``--mid-up-to``, 4 m/px beyond: "coarser
detail for the large sizes"; town files are shared between mosaics of one GSD),
a 10 s 640x360 two-shot clip rendered from the middle town, ``workbench index``
(one worker: Mpx/s per core = level-0 Mpx / child CPU seconds, robust to the shared
machine's load), and ``workbench locate --index`` in a child process (wall and CPU
seconds, peak RSS, verdict, centre error).  ``--exhaustive`` also runs today's
``locate --tiles MOSAIC`` at each size.  Prints a table and the log-log slope of query
time against area; generation is cached in ``benchmarks/_work/scale``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
WORK = REPO / "benchmarks" / "_work" / "scale"
PY = sys.executable
TOWN_PX = 2048


def run_measured(cmd: list[str]) -> dict[str, float]:
    """Run ``cmd``: exit code, wall s, CPU s (user+sys) and peak RSS MB of the child (wait4)."""
    t0 = time.perf_counter()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    # through /usr/bin/time: Linux keeps a child's max RSS across exec, so a child forked
    # straight from this (large) harness would report at least the harness's own RSS
    timed = Path("/usr/bin/time").is_file()
    if timed:
        cmd = ["/usr/bin/time", "-f", "MAXRSS_KB=%M", *cmd]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert proc.stdout is not None and proc.stderr is not None
    out = proc.stdout.read()
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    rc = os.waitstatus_to_exitcode(status)
    proc.returncode = rc
    if rc:
        sys.stderr.write(err.decode(errors="replace")[-1500:])
    rss_kb = float(usage.ru_maxrss)
    tail = err.decode(errors="replace").strip().splitlines()
    if timed and tail and tail[-1].startswith("MAXRSS_KB="):
        rss_kb = float(tail[-1].split("=", 1)[1])
    return {"rc": rc, "wall": time.perf_counter() - t0, "out": out.decode(errors="replace"),
            "cpu": usage.ru_utime + usage.ru_stime, "rss_mb": rss_kb / 1024.0}


def layout(size_km2: float, gsd: float) -> tuple[int, int]:
    """(towns, columns) whose mosaic is about ``size_km2``."""
    per = (TOWN_PX * gsd) ** 2 / 1e6
    n = max(1, round(size_km2 / per))
    return n, layout_cols(n)


def clip_spec(target: tuple[float, float], gsd: float):  # -> FootageSpec
    from workbench_fixtures.spec import FootageSpec, ShotSpec

    lon, lat = target
    d = 80 * gsd / 0.5 / 111_000  # ~80 m apart on 0.5 m imagery
    return FootageSpec(
        shots=[
            ShotSpec(duration_s=4.5, target_lonlat=(lon + d, lat + d), heading_deg=30.0,
                     orbit_deg_per_s=6.0, depression_deg=(55.0, 68.0),
                     slant_range_m=1200.0 * gsd, gsd_m=(0.5 * gsd, 0.35 * gsd)),
            ShotSpec(duration_s=4.0, target_lonlat=(lon - d, lat - d), heading_deg=215.0,
                     orbit_deg_per_s=-5.0, depression_deg=(45.0, 52.0),
                     slant_range_m=1600.0 * gsd, gsd_m=(0.45 * gsd, 0.3 * gsd)),
        ],
        width=640, height=360, fps=25.0, title_card_s=1.5, hud=True, noise_sigma=2.0,
        shake_deg=0.12, crf=26, seed=1,
    )


def prepare(size_km2: float, gsd: float) -> tuple[Path, Path, Path]:
    """The mosaic VRT, the clip and its truth for one size (cached)."""
    from workbench_fixtures.footage import render_footage
    from workbench_fixtures.mosaic import make_town_mosaic

    n, cols = layout(size_km2, gsd)
    d = WORK / f"mosaic_{n}x{TOWN_PX}_{gsd:g}m"
    _reuse_towns(d, n, gsd)
    mosaic = make_town_mosaic(d, n=n, cols=cols, size=TOWN_PX, gsd_m=gsd,
                              origin_lonlat=(32.40, 0.30))
    mid = n // 2
    clip, truth = d / "clip.mp4", d / "clip.truth.json"
    if not truth.exists():
        render_footage(mosaic.towns[mid], clip, clip_spec(mosaic.centres[mid], gsd),
                       truth_path=truth)
    return mosaic.vrt, clip, truth


def _reuse_towns(d: Path, n: int, gsd: float) -> None:
    """Link town files already drawn for another mosaic of the same GSD and column count
    (town ``i`` is drawn with seed ``i`` at cell ``(i % cols, i // cols)``, so the pixels
    and the georeference are identical) instead of redrawing them."""
    d.mkdir(parents=True, exist_ok=True)
    cols = layout_cols(n)
    for other in sorted(WORK.glob(f"mosaic_*x{TOWN_PX}_{gsd:g}m")):
        other_n = int(other.name.split("_")[1].split("x")[0])
        if other == d or layout_cols(other_n) != cols:
            continue
        for i in range(n):
            src, dst = other / f"town{i}.tif", d / f"town{i}.tif"
            if src.is_file() and not src.is_symlink() and not dst.exists():
                dst.symlink_to(src)


def layout_cols(n: int) -> int:
    """Columns of a mosaic of ``n`` towns (see :func:`layout`)."""
    return max(1, math.ceil(math.sqrt(n)))


def gsd_for(size_km2: float, fine_up_to: float, mid_up_to: float) -> float:
    """Ground resolution of the generated mosaic of ``size_km2``: 0.5 m up to
    ``fine_up_to``, 2 m up to ``mid_up_to``, 4 m beyond (coarser detail for large sizes)."""
    return 0.5 if size_km2 <= fine_up_to else 2.0 if size_km2 <= mid_up_to else 4.0


def centre_error(doc: dict, truth_path: Path) -> float:
    from workbench.geo import haversine_m

    if not doc.get("candidates"):
        return math.nan
    best = doc["candidates"][0]
    frames = json.loads(truth_path.read_text())["frames"]
    idx = {k["id"]: k["frame_index"] for k in doc["keyframes"]}[best["keyframe_id"]]
    c = frames[idx]["centre"]
    return haversine_m(best["lon"], best["lat"], c["lon"], c["lat"])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1,10", help="mosaic sizes in km² (e.g. 1,10,100,1000)")
    ap.add_argument("--fine-up-to", type=float, default=20.0,
                    help="largest size drawn at 0.5 m/px (larger: 2 m/px)")
    ap.add_argument("--mid-up-to", type=float, default=200.0,
                    help="largest size drawn at 2 m/px (larger: 4 m/px)")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--exhaustive", action="store_true", help="also run locate --tiles MOSAIC")
    ap.add_argument("--rebuild", action="store_true", help="rebuild cached indexes")
    a = ap.parse_args()
    rows = []
    for size in [float(s) for s in a.sizes.split(",")]:
        gsd = gsd_for(size, a.fine_up_to, a.mid_up_to)
        vrt, clip, truth = prepare(size, gsd)
        idx = vrt.parent / "idx"
        row: dict[str, object] = {"size": size, "gsd": gsd}
        if a.rebuild or not (idx / "manifest.json").is_file():
            subprocess.run(["rm", "-rf", str(idx)], check=True)
            r = run_measured([PY, "-m", "workbench", "-q", "index", str(vrt), "--out", str(idx),
                              "--workers", str(a.workers)])
            row["index_s"], row["index_cpu"] = r["wall"], r["cpu"]
            row["index_rss"] = r["rss_mb"]
        man = json.loads((idx / "manifest.json").read_text())
        ras = man["rasters"][0]
        area = float(ras["area_km2"])
        mpx = ras["width"] * ras["height"] / 1e6
        files = [f for f in idx.rglob("*") if f.is_file()]
        size_mb = sum(f.stat().st_size for f in files) / 1e6
        vocab_mb = (idx / "vocab.npy").stat().st_size / 1e6
        row.update(area=area, mpx=mpx, index_mb=size_mb, mb_per_km2=(size_mb - vocab_mb) / area)
        if "index_cpu" in row:
            row["mpx_per_core_s"] = mpx / float(row["index_cpu"])  # type: ignore[arg-type]
        out = vrt.parent / "out_index"
        q = run_measured([PY, "-m", "workbench", "-q", "locate", str(clip), "--index", str(idx),
                          "--out", str(out)])
        doc = json.loads((out / "locate.json").read_text())
        row.update(query_s=q["wall"], query_cpu=q["cpu"], query_rss=q["rss_mb"],
                   verdict=doc["verdict"], error_m=centre_error(doc, truth),
                   windows=doc["method"]["search"]["windows_searched"],
                   searched_km2=doc["method"]["search"]["area_searched_km2"])
        if a.exhaustive:
            out2 = vrt.parent / "out_tiles"
            e = run_measured([PY, "-m", "workbench", "-q", "locate", str(clip), "--tiles",
                              str(vrt), "--index-above", "inf", "--out", str(out2)])
            doc2 = json.loads((out2 / "locate.json").read_text())
            row.update(ex_s=e["wall"], ex_rss=e["rss_mb"], ex_verdict=doc2["verdict"],
                       ex_error_m=centre_error(doc2, truth))
        rows.append(row)
        print(json.dumps(row), flush=True)
    print()
    print("| km² | m/px | index s (CPU s) | Mpx/s per core | index MB/km² | query s (CPU s)"
          " | query peak MB | verdict | error m | windows | exhaustive |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        ex = (f"{r['ex_verdict']} {r['ex_error_m']:.1f} m, {r['ex_s']:.0f} s"
              if "ex_s" in r else "-")
        idx_s = (f"{r['index_s']:.0f} ({r['index_cpu']:.0f})" if "index_s" in r else "cached")
        mps = f"{r['mpx_per_core_s']:.2f}" if "mpx_per_core_s" in r else "-"
        print(f"| {r['area']:.1f} | {r['gsd']} | {idx_s} | {mps} | {r['mb_per_km2']:.3f}"
              f" | {r['query_s']:.1f} ({r['query_cpu']:.1f}) | {r['query_rss']:.0f}"
              f" | {r['verdict']} | {r['error_m']:.1f} | {r['windows']} | {ex} |")
    print_slopes(rows)
    return 0


def print_slopes(rows: list[dict[str, object]]) -> None:
    """Log-log slopes of query time against area: all rows, and rows of one GSD."""
    groups: list[tuple[str, list[dict[str, object]]]] = [("all sizes", rows)]
    for g in sorted({float(r["gsd"]) for r in rows}):  # type: ignore[arg-type]
        groups.append((f"{g:g} m/px only", [r for r in rows if float(r["gsd"]) == g]))  # type: ignore[arg-type]
    for name, rs in groups:
        if len(rs) < 2:
            continue
        x = np.log([float(r["area"]) for r in rs])  # type: ignore[arg-type]
        cpu = np.polyfit(x, np.log([float(r["query_cpu"]) for r in rs]), 1)[0]  # type: ignore[arg-type]
        wall = np.polyfit(x, np.log([float(r["query_s"]) for r in rs]), 1)[0]  # type: ignore[arg-type]
        print(f"log-log slope of query time vs area ({name}, {len(rs)} sizes):"
              f" CPU {cpu:.3f}, wall {wall:.3f}")


if __name__ == "__main__":
    sys.exit(main())
