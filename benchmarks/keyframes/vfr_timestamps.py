"""PyAV vs OpenCV on a variable-frame-rate clip: frame count, rate, timestamps, seeking.

Usage: .venv/bin/python benchmarks/keyframes/vfr_timestamps.py [--work DIR]
Prints one JSON line per reader.  The workbench uses PyAV (see workbench/video.py).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO))


def main() -> None:
    from ingest_clips import encode

    from workbench.video.reader import iter_frames, probe, read_frame

    ap = argparse.ArgumentParser()
    ap.add_argument("--work", default="/tmp/workbench-bench-vfr")
    work = Path(ap.parse_args().work)
    work.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    pts = np.cumsum([0, *rng.choice([20, 33, 40, 100, 200], 119)]).tolist()
    frames = []
    for i in range(120):
        img = np.zeros((120, 160, 3), np.uint8)
        img[:, :] = (i * 2) % 256  # frame identity in the grey level
        frames.append(img)
    for ext in ("mp4", "mkv"):
        path = work / f"vfr.{ext}"
        encode(path, frames, 25, pts_ms=pts, crf=0)
        truth_s = np.array(pts) / 1000.0
        info = probe(path, compute_hash=False)
        seq = list(iter_frames(path))
        av_pts = np.array([f.pts_s for f in seq])
        ref = [float(f.image.mean()) for f in seq]  # sequential decode = ground truth picture
        seek_ok = sum(int(abs(float(read_frame(path, i).image.mean()) - ref[i]) < 0.5)
                      for i in range(0, 120, 7))
        print(json.dumps({"reader": "pyav", "file": ext, "frames": info.frame_count,
                          "fps": round(info.fps, 3), "vfr": info.variable_frame_rate,
                          "max_pts_error_ms": float(np.abs(av_pts - truth_s).max() * 1000),
                          "seek_by_index_correct": f"{seek_ok}/{len(range(0, 120, 7))}"}))
        cap = cv2.VideoCapture(str(path))
        cv_ms = []
        while True:
            ok, _img = cap.read()
            if not ok:
                break
            cv_ms.append(cap.get(cv2.CAP_PROP_POS_MSEC))
        n_decl = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        fps = cap.get(cv2.CAP_PROP_FPS)
        err = (float(np.abs(np.array(cv_ms) - np.array(pts)[: len(cv_ms)]).max())
               if cv_ms else float("nan"))
        good = 0
        for i in range(0, 120, 7):
            cap.set(cv2.CAP_PROP_POS_FRAMES, i)
            ok, img = cap.read()
            good += int(ok and abs(float(img.mean()) - ref[i]) < 0.5)
        print(json.dumps({"reader": "opencv", "file": ext, "frames_declared": n_decl,
                          "frames_read": len(cv_ms), "fps": round(fps, 3),
                          "max_pts_error_ms": err,
                          "seek_by_index_correct": f"{good}/{len(range(0, 120, 7))}"}))


if __name__ == "__main__":
    main()
