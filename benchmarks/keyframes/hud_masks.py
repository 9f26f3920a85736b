"""HUD mask acceptance of the keyframe pass on generated clips with a known HUD layer.

Renders (into ``--work``, cached) the clips of the README's HUD table and runs
``extract_keyframes(max_keyframes=None)`` on each, for this tree and, with ``--base DIR``,
for an older code tree (folder holding ``workbench/``) in a fresh subprocess each.
Prints, per clip and tree: keyframes, the lowest share of HUD pixels covered by a
keyframe's mask and the highest share of scene pixels masked (acceptance: >= 90 % and
< 5 %), and the overlay samples taken.

    .venv/bin/python benchmarks/keyframes/hud_masks.py --work /tmp/kf-hud --base /tmp/base
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests"))


def _render(work: Path) -> dict[str, tuple[str, str]]:
    """Clip name -> (video path, HUD mask PNG path); rendered once into ``work``."""
    from ingest_clips import ShotSpec as ClipShot
    from ingest_clips import make_clip
    from workbench_fixtures.cli import DEMO_TOWN
    from workbench_fixtures.footage import render_footage
    from workbench_fixtures.testclips import cut_clip_spec
    from workbench_fixtures.town import make_town_geotiff
    from workbench_fixtures.truth import Truth

    work.mkdir(parents=True, exist_ok=True)
    town = work / "town.tif"
    if not town.exists():
        make_town_geotiff(town, **DEMO_TOWN)
    out: dict[str, tuple[str, str]] = {}
    spec = cut_clip_spec()
    faded = [replace(s, transition="fade") if i == 1 else s for i, s in enumerate(spec.shots)]
    gens = {
        "generator cut clip (320x240)": spec,
        "generator 480x270 white-hot thermal, fade": replace(
            spec, shots=faded, thermal="whitehot", width=480, height=270),
        "generator 480x270 black-hot thermal, fade": replace(
            spec, shots=faded, thermal="blackhot", width=480, height=270),
        "generator cut clip 852x480, fade": replace(spec, shots=faded, width=852, height=480),
    }
    for i, (name, sp) in enumerate(gens.items()):
        video, tpath = work / f"gen{i}.mp4", work / f"gen{i}.truth.json"
        if not video.exists():
            truth = render_footage(town, video, sp, truth_path=tpath)
        else:
            truth = Truth.load(tpath)
        hud = truth.hud_mask_path(tpath)
        out[name] = (str(video), str(hud))
    video, hud_png = work / "panzoom.mp4", work / "panzoom_hud.png"
    if not video.exists():
        truth = make_clip(video, [ClipShot(3, 1, "pan"), ClipShot(3, 2, "zoom"),
                                  ClipShot(2, 3, "pan", speed=-60), ClipShot(2, 4, "pan")],
                          title_s=1.0, fade_after=2)
        assert truth.hud is not None
        cv2.imwrite(str(hud_png), truth.hud.astype(np.uint8) * 255)
    out["tests' pan/zoom clip (480x270, 1 px strokes)"] = (str(video), str(hud_png))
    # bench.py's clip: long shots (3-8 s) where the overlay sampling thins out
    from ingest_clips import _hud

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench import render

    video, hud_png = work / "bench_480p_30s.mp4", work / "bench_480p_hud.png"
    if not video.exists():
        render(video, 30, 480)
        cv2.imwrite(str(hud_png), (_hud(852, 480)[:, :, 3] > 0).astype(np.uint8) * 255)
    out["bench.py clip 852x480 30 s (shots of 3-8 s)"] = (str(video), str(hud_png))
    return out


def child(video: str, hud_png: str, base: str) -> None:
    if base:
        sys.path.insert(0, base)
    from workbench.keyframes import KeyframeConfig, extract_keyframes

    ks = extract_keyframes(video, KeyframeConfig(max_keyframes=None))
    hud = cv2.imread(hud_png, cv2.IMREAD_GRAYSCALE) > 0
    cover, scene = [], []
    for k in ks.keyframes:
        m = k.overlay_mask > 0
        cover.append(float((m & hud).sum() / hud.sum()))
        scene.append(float((m & ~hud).sum() / (~hud).sum()))
    print(json.dumps({"keyframes": len(ks.keyframes), "cover": min(cover), "scene": max(scene),
                      "samples": ks.stats.get("overlay_samples", "")}))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", default="/tmp/workbench-bench-hud")
    ap.add_argument("--base", default="")
    ap.add_argument("--child", nargs=3)
    args = ap.parse_args()
    if args.child:
        child(*args.child)
        return
    clips = _render(Path(args.work))
    trees = [("this tree", "")] + ([("before (base tree)", args.base)] if args.base else [])
    print("| clip | tree | keyframes | HUD pixels covered (min) | scene pixels masked (max) |"
          " overlay samples |")
    print("|---|---|---|---|---|---|")
    for name, (video, hud) in clips.items():
        for tname, base in trees:
            out = subprocess.run([sys.executable, __file__, "--child", video, hud, base],
                                 capture_output=True, text=True, check=True)
            r = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"| {name} | {tname} | {r['keyframes']} | {100 * r['cover']:.1f} % |"
                  f" {100 * r['scene']:.1f} % | {r['samples']} |", flush=True)


if __name__ == "__main__":
    main()
