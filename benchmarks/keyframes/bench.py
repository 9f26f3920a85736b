"""Keyframe pass benchmark: throughput, peak memory and shot recall vs PySceneDetect.

Usage: .venv/bin/python benchmarks/keyframes/bench.py [--work DIR] [--sizes 480,1080]
       [--lengths 30,300]

Renders clips (streamed, never held in memory) with hard cuts every 3-8 s, pans
and zooms, and a burned-in HUD; then, each in a fresh subprocess (clean peak RSS):
``workbench.keyframes.extract_keyframes`` with the default cap (12 keyframes) and
without a cap (recall; every keyframe image is held in the result), and PySceneDetect's
``detect(path, ContentDetector())`` (scenedetect-headless, default OpenCV backend).
Prints a Markdown table.  Recall = share of ground-truth shots holding >= 1 keyframe.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO))


def render(path: Path, seconds: int, height: int, fps: int = 25, seed: int = 0) -> list[list[int]]:
    """Stream-encode a clip; return ground-truth shots ``[[start, end), ...]``."""
    import cv2
    from ingest_clips import _hud, _view, scene

    w = (height * 16 // 9) // 2 * 2
    rng = np.random.default_rng(seed)
    layer = _hud(w, height)
    alpha = layer[:, :, 3:4].astype(np.float32) / 255.0
    hud_rgb = layer[:, :, :3].astype(np.float32) * alpha
    shots: list[list[int]] = []
    total = seconds * fps
    scenes = [scene(int(s), 1400) for s in range(6)]
    with av.open(str(path), "w") as c:
        st = c.add_stream("libx264", rate=fps)
        st.width, st.height, st.pix_fmt = w, height, "yuv420p"
        st.options = {"crf": "23", "preset": "veryfast"}
        st.codec_context.time_base = Fraction(1, fps)
        n = 0
        k = 0
        while n < total:
            length = min(total - n, int(rng.integers(3, 9)) * fps)
            src = scenes[k % len(scenes)]
            motion = ("pan", "zoom", "pan")[k % 3]
            shots.append([n, n + length])
            base = rng.uniform(300, 1100, 2)
            for i in range(length):
                t = i / fps
                if motion == "zoom":
                    img = _view(src, 480, 270, base[0], base[1], 2.0 ** (t / 4))
                else:
                    img = _view(src, 480, 270, base[0] + 30 * t, base[1] + 10 * t, 1.0)
                if height != 270:
                    img = cv2.resize(img, (w, height), interpolation=cv2.INTER_LINEAR)
                img = (img * (1 - alpha) + hud_rgb).astype(np.uint8)
                for pkt in st.encode(av.VideoFrame.from_ndarray(img, format="bgr24")):
                    c.mux(pkt)
            n += length
            k += 1
        for pkt in st.encode():
            c.mux(pkt)
    return shots


def _peak_rss_mb() -> float:
    """This process's peak resident set (VmHWM; ru_maxrss can carry the parent's over exec)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu_s() -> float:
    """CPU seconds of this process, all threads (user + system)."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def child(method: str, video: str, base: str = "") -> None:
    """Run one method on one clip; print JSON with timing and results.

    ``workbench`` / ``workbench-all``: this tree's keyframe pass (capped / uncapped);
    ``workbench-base``: the same pass from the code tree ``base`` (e.g. an older commit
    exported with ``git archive``); ``pyav``: a plain threaded PyAV decode of every
    frame (``thread_type = "AUTO"``, no conversion); ``pyscenedetect``: PySceneDetect's
    ``detect(path, ContentDetector())``.
    """
    if method == "workbench-base":
        sys.path.insert(0, base)
    if method.startswith("workbench"):  # imports before the clock starts (all methods)
        from workbench.keyframes import KeyframeConfig, extract_keyframes
    elif method == "pyscenedetect":
        from scenedetect import ContentDetector, detect
    t0 = time.perf_counter()
    c0 = _cpu_s()
    picks: list[int] = []
    cuts: list[int] = []
    if method.startswith("workbench"):
        cap = None if method == "workbench-all" else KeyframeConfig().max_keyframes
        ks = extract_keyframes(video, KeyframeConfig(max_keyframes=cap))
        frames = int(ks.stats["frames_decoded"])
        picks = [k.frame_index for k in ks.keyframes]
        cuts = [s.start_frame for s in ks.shots]
    elif method == "pyav":
        with av.open(video) as c:
            st = c.streams.video[0]
            st.thread_type = "AUTO"
            frames = sum(1 for _ in c.decode(st))
    else:
        scenes = detect(video, ContentDetector())
        picks = [int((a.get_frames() + b.get_frames()) // 2) for a, b in scenes]
        cuts = [int(a.get_frames()) for a, _ in scenes]
        frames = int(scenes[-1][1].get_frames()) if scenes else 0
    wall = time.perf_counter() - t0
    cpu = _cpu_s() - c0
    peak_mb = _peak_rss_mb()
    print(json.dumps({"wall_s": wall, "cpu_s": cpu, "frames": frames, "picks": picks,
                      "cuts": cuts, "peak_mb": peak_mb}))


def recall(shots: list[list[int]], picks: list[int]) -> float:
    """Share of true shots holding at least one pick."""
    return sum(any(a <= p < b for p in picks) for a, b in shots) / len(shots)


def cut_recall(shots: list[list[int]], cuts: list[int]) -> float:
    """Share of true cuts found within +-1 frame."""
    truth = [a for a, _ in shots[1:]]
    return sum(any(abs(c - t) <= 1 for c in cuts) for t in truth) / max(1, len(truth))


def cut_precision(shots: list[list[int]], cuts: list[int]) -> float:
    """Share of detected boundaries (after the first frame) that are true cuts (+-1 frame)."""
    truth = [a for a, _ in shots[1:]]
    found = [c for c in cuts if c > 0]
    return sum(any(abs(c - t) <= 1 for t in truth) for c in found) / max(1, len(found))


METHODS = ("workbench", "workbench-all", "workbench-base", "pyav", "pyscenedetect")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", default="/tmp/workbench-bench-keyframes")
    ap.add_argument("--sizes", default="480,1080")
    ap.add_argument("--lengths", default="30,300")
    ap.add_argument("--base", default="",
                    help="a code tree (folder holding workbench/) to measure as 'before'")
    ap.add_argument("--child", nargs="+", metavar="ARG")
    args = ap.parse_args()
    if args.child:
        child(*args.child)
        return
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    rows = []
    methods = [m for m in METHODS if m != "workbench-base" or args.base]
    for h in (int(v) for v in args.sizes.split(",")):
        for secs in (int(v) for v in args.lengths.split(",")):
            video = work / f"clip_{h}p_{secs}s.mp4"
            tpath = video.with_suffix(".shots.json")
            if not tpath.exists():
                shots = render(video, secs, h)
                tpath.write_text(json.dumps(shots))
            shots = json.loads(tpath.read_text())
            res = {}
            for method in methods:
                out = subprocess.run([sys.executable, __file__, "--child", method, str(video),
                                      args.base], capture_output=True, text=True, check=True)
                res[method] = json.loads(out.stdout.strip().splitlines()[-1])
            wb, wa, sd = res["workbench"], res["workbench-all"], res["pyscenedetect"]
            n = wb["frames"]
            row = {
                "clip": f"{h}p ({(h * 16 // 9) // 2 * 2}x{h}) {secs} s",
                "frames": n,
                "shots": len(shots),
                "wb_recall": recall(shots, wa["picks"]),
                "wb_cut_recall": cut_recall(shots, wa["cuts"]),
                "sd_cut_recall": cut_recall(shots, sd["cuts"]),
                "wb_cut_precision": cut_precision(shots, wa["cuts"]),
                "sd_cut_precision": cut_precision(shots, sd["cuts"]),
                "keyframes_capped": len(wb["picks"]), "keyframes": len(wa["picks"]),
            }
            for m in methods:
                row[m] = {"fps": n / res[m]["wall_s"], "cpu_fps": n / max(1e-9, res[m]["cpu_s"]),
                          "mb": res[m]["peak_mb"]}
            rows.append(row)
            print(json.dumps(row), flush=True)
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores\n")
    print("Throughput = frames / wall second (frames / CPU second of all threads); "
          "ratios use CPU seconds (robust to the shared machine's load).\n")
    head = "| clip | frames | workbench | peak MB |"
    if args.base:
        head += " before (base tree) | peak MB |"
    head += (" PySceneDetect | peak MB | PyAV threaded decode | peak MB | wb / PySceneDetect |"
             " wb / PyAV |")
    if args.base:
        head += " before / PySceneDetect | before / PyAV |"
    head += " shots | keyframes (uncapped) | shot recall | cut recall wb / psd |"
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for r in rows:
        def f(m: str, r: dict = r) -> str:
            return f"{r[m]['fps']:.0f} ({r[m]['cpu_fps']:.0f})"

        def ratio(a: str, b: str, r: dict = r) -> str:
            return f"{r[a]['cpu_fps'] / r[b]['cpu_fps']:.2f}"

        line = f"| {r['clip']} | {r['frames']} | {f('workbench')} | {r['workbench']['mb']:.0f} |"
        if args.base:
            line += f" {f('workbench-base')} | {r['workbench-base']['mb']:.0f} |"
        line += (f" {f('pyscenedetect')} | {r['pyscenedetect']['mb']:.0f} | {f('pyav')} |"
                 f" {r['pyav']['mb']:.0f} | {ratio('workbench', 'pyscenedetect')} |"
                 f" {ratio('workbench', 'pyav')} |")
        if args.base:
            line += (f" {ratio('workbench-base', 'pyscenedetect')} |"
                     f" {ratio('workbench-base', 'pyav')} |")
        line += (f" {r['shots']} | {r['keyframes_capped']} ({r['keyframes']}) |"
                 f" {r['wb_recall']:.2f} | {r['wb_cut_recall']:.2f} / {r['sd_cut_recall']:.2f} |")
        print(line)


if __name__ == "__main__":
    main()
