"""Clips placed inside a large generated region mosaic: shortlist recall and locate.

    .venv/bin/python benchmarks/scale/bench_mosaic.py [--size 1000] [--clips 8]
        [--locate 4]

Uses the mosaic and index of ``bench_scale.py`` for ``--size`` (run that first; same
cache in ``benchmarks/_work/scale``): ``--clips`` 10 s two-shot clips rendered from towns
spread over the mosaic (``bench_scale.clip_spec``; footage 2-3x finer than the mosaic),
each with its keyframes' shortlist recall (a top-20 block of a shot holds a keyframe's
true centre; all keyframes of a shot pooled, as ``locate --index`` does), and for the
first ``--locate`` of them ``locate --index`` in process (verdict, error, windows).
Every block of the mosaic is drawn, resampled and described the same way; each town
appears once (no second copy of a true footprint).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1]))

from bench_regions import _error_m, _recall, _truth_centres  # noqa: E402
from bench_scale import TOWN_PX, WORK, clip_spec, gsd_for, layout  # noqa: E402


def main() -> int:
    from workbench_fixtures.footage import render_footage
    from workbench_fixtures.mosaic import make_town_mosaic

    from workbench.index.retrieve import Retriever
    from workbench.keyframes import extract_keyframes
    from workbench.locate.indexed import locate_in_index
    from workbench.locate.pipeline import LocateConfig, select_keyframes

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=float, default=1000.0)
    ap.add_argument("--clips", type=int, default=8)
    ap.add_argument("--locate", type=int, default=4)
    ap.add_argument("--index", default="idx",
                    help="index folder inside the mosaic's cache folder (default idx, the one"
                         " bench_scale.py builds; e.g. another build of the same mosaic)")
    a = ap.parse_args()
    gsd = gsd_for(a.size, 20.0, 2000.0)
    n, cols = layout(a.size, gsd)
    d = WORK / f"mosaic_{n}x{TOWN_PX}_{gsd:g}m"
    idx = d / a.index
    if not (idx / "manifest.json").is_file():
        print(f"{idx}: no index; run bench_scale.py --sizes {a.size:g} first")
        return 1
    mosaic = make_town_mosaic(d, n=n, cols=cols, size=TOWN_PX, gsd_m=gsd,
                              origin_lonlat=(32.40, 0.30))
    ret = Retriever.load(idx)
    cfg = LocateConfig()
    picks = sorted({round(i * (n - 1) / max(1, a.clips - 1)) for i in range(a.clips)})
    rows = []
    for j, k in enumerate(picks):
        out = d / f"recall_town{k}"
        clip, truth = out / "clip.mp4", out / "clip.truth.json"
        if not truth.exists():
            out.mkdir(parents=True, exist_ok=True)
            render_footage(mosaic.towns[k], clip, clip_spec(mosaic.centres[k], gsd),
                           truth_path=truth)
        kset = extract_keyframes(clip, cfg.keyframes)
        frames = _truth_centres(truth)
        chosen = select_keyframes(kset.keyframes, cfg.max_keyframes)
        row: dict[str, object] = {"town": k, "recall20": _recall(ret, chosen, frames)}
        if j < a.locate:
            t = time.perf_counter()
            r = locate_in_index(clip, idx, config=cfg, keyframes=kset)
            kf = {x.id: x.frame_index for x in kset.keyframes}
            row.update(verdict=r.verdict, error_m=round(_error_m(r, frames, kf), 2),
                       windows=r.method["search"]["windows_searched"],
                       s=round(time.perf_counter() - t, 1))
        rows.append(row)
        print(json.dumps(row), flush=True)
    rec = sum(bool(r["recall20"]) for r in rows)
    loc = [r for r in rows if "verdict" in r]
    hit = sum(r["verdict"] == "located" and float(r["error_m"]) <= 25 for r in loc)  # type: ignore[arg-type]
    wrong = sum(r["verdict"] == "located" and not float(r["error_m"]) <= 25 for r in loc)  # type: ignore[arg-type]
    print(f"{ret.area_km2:.0f} km² mosaic, {ret.n_blocks} blocks: recall@20 {rec}/{len(rows)};"
          f" located within 25 m {hit}/{len(loc)}; wrong located {wrong}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
