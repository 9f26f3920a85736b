"""Collect the engine's evidence per clip (match hypotheses + keyframes + truth) to disk.

    .venv/bin/python benchmarks/calibration/collect.py calib [--shard 0/2] [--matcher sift]
    .venv/bin/python benchmarks/calibration/collect.py bench [--matcher auto]

``calib``: the calibration clips of ``sources.py`` (rendered into
``benchmarks/calibration/.cache/clips``); ``bench``: the clips of ``benchmarks/locate``
(rendered by that benchmark into ``benchmarks/_work/locate``).  Each clip runs the real
:func:`workbench.locate.locate` in this process (default settings, tile features cached
on disk); the hypotheses and keyframes that reach :func:`rank_shots` are pickled to
``.cache/evidence/<set>-<matcher>/<clip>.pkl`` with the truth centre of every keyframe,
so the calibration can be refitted and re-scored without matching again.  Resumable
(existing files are skipped).  Everything under ``.cache`` is git-ignored.
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO / "benchmarks" / "locate"))

from sources import CACHE, Clip, make_clips  # noqa: E402


@dataclass
class KfStub:
    """What the ranking reads of a keyframe."""

    id: str
    shot_index: int
    time_s: float
    frame_index: int


def _truth_centres(truth: Path, kfs: list[KfStub]) -> dict[str, tuple[float, float] | None]:
    doc = json.loads(truth.read_text())
    out: dict[str, tuple[float, float] | None] = {}
    for k in kfs:
        c = doc["frames"][k.frame_index]["centre"]
        out[k.id] = None if c is None else (float(c["lon"]), float(c["lat"]))
    return out


def run_one(name: str, clip: Path, truth: Path, tiles: list[str], matcher: str,
            out: Path, meta: dict[str, Any]) -> None:
    import importlib

    lp = importlib.import_module("workbench.locate.pipeline")
    from workbench.locate.model import LocateConfig

    captured: dict[str, Any] = {}
    real = lp.rank_shots  # what the pipeline ranks with (per shot)

    def spy(hyps, keyframes, config=None):  # type: ignore[no-untyped-def]
        captured["hyps"] = list(hyps)
        captured["kfs"] = [KfStub(str(k.id), int(getattr(k, "shot_index", -1)),
                                  float(k.time_s), int(k.frame_index)) for k in keyframes]
        return real(hyps, keyframes, config)

    cfg = LocateConfig(hash_tiles=False, feature_cache=str(CACHE / "features"))
    cfg.match.matcher = matcher
    lp.rank_shots = spy  # type: ignore[assignment]
    try:
        t0 = time.perf_counter()
        res = lp.locate(str(clip), tiles, config=cfg)
        secs = time.perf_counter() - t0
    finally:
        lp.rank_shots = real  # type: ignore[assignment]
    kfs = captured.get("kfs", [])
    hyps = captured.get("hyps", [])
    doc = {"name": name, "hyps": hyps, "kfs": kfs, "truth": _truth_centres(truth, kfs),
           "secs": secs, "timing": res.timing_s, "verdict_at_collection": res.verdict,
           "matcher": matcher, **meta}
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_bytes(pickle.dumps(doc))
    tmp.replace(out)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("set", choices=("calib", "bench"))
    ap.add_argument("--shard", default="0/1")
    ap.add_argument("--matcher", default="sift", choices=("sift", "auto"))
    ap.add_argument("--n", type=int, default=360)
    a = ap.parse_args()
    si, sn = (int(x) for x in a.shard.split("/"))
    evdir = CACHE / "evidence" / f"{a.set}-{a.matcher}"
    if a.set == "calib":
        from workbench_fixtures.footage import render_footage

        clips: list[Clip] = make_clips(a.n)
        for j, c in enumerate(clips):
            if j % sn != si:
                continue
            out = evdir / f"{c.name}.pkl"
            if out.exists():
                continue
            d = CACHE / "clips" / c.name
            clip, truth = d / "clip.mp4", d / "clip.truth.json"
            try:
                if not truth.exists():
                    d.mkdir(parents=True, exist_ok=True)
                    render_footage(c.source, clip, c.spec, truth_path=truth)
                run_one(c.name, clip, truth, c.tiles, a.matcher, out,
                        {"family": c.family, "positive": c.positive, "tol_m": c.tol_m,
                         "tags": c.tags, "n_tiles": len(c.tiles)})
            except Exception as exc:  # a failed clip is reported, the set goes on
                print(f"{c.name}: FAILED {type(exc).__name__}: {exc}", flush=True)
                continue
            print(f"{c.name} done", flush=True)
    else:
        import run as bench  # benchmarks/locate/run.py

        for j, case in enumerate(bench.make_cases()):
            if j % sn != si:
                continue
            out = evdir / f"{case.name}.pkl"
            if out.exists():
                continue
            clip, truth = bench.build(case)
            run_one(case.name, clip, truth, bench.tile_paths(case), a.matcher, out,
                    {"family": case.group, "positive": case.positive, "tol_m": case.tol_m,
                     "tags": case.tags, "n_tiles": len(bench.tile_paths(case))})
            print(f"{case.name} done", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
