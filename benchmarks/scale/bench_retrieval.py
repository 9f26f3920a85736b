"""Which retrieval structure: shortlist recall of vocabulary variants on one mosaic.

    .venv/bin/python benchmarks/scale/bench_retrieval.py MOSAIC.vrt [--queries 40]

Builds one index per variant (vocabulary-tree branch x depth, features per block) over
the same mosaic and asks each the same queries: rotated crops of the mosaic at
footage-like resolution (0.4-0.9 x the mosaic's: 0.2-0.45 m/px from 0.5 m imagery,
640x360, heading 0-360, mild blur and noise), described like keyframes
(:func:`workbench.index.query.keyframe_descriptors`).  A query is recalled at k when
a block containing the crop's centre is among the top k.  Prints recall@1/5/20, build
CPU seconds, index MB and query milliseconds per variant.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import cv2
import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO))

from workbench.imagery.catalog import catalog_file, read_tile  # noqa: E402
from workbench.index import IndexConfig, Retriever, build_index  # noqa: E402
from workbench.index.query import keyframe_descriptors  # noqa: E402

VARIANTS = {
    "hkm 10^3 (1k words)": IndexConfig(vocab_branch=10, vocab_depth=3),
    "hkm 16^3 (4k words)": IndexConfig(vocab_branch=16, vocab_depth=3),
    "hkm 8^5 (32k words)": IndexConfig(vocab_branch=8, vocab_depth=5, vocab_sample_blocks=96),
    "hkm 16^3, 600 feats/block": IndexConfig(vocab_branch=16, vocab_depth=3, max_features=600),
    "hkm 16^3, overlap 0.125": IndexConfig(vocab_branch=16, vocab_depth=3, overlap=0.125),
    # describing blocks one at a time (index version 1) vs in groups of a grid row
    "hkm 16^3, one block at a time": IndexConfig(group_blocks=1),
    "hkm 16^3, groups of 6 blocks": IndexConfig(group_blocks=6),
    "hkm 16^3, groups of 6, overlap 0.125": IndexConfig(group_blocks=6, overlap=0.125),
}


def queries(vrt: Path, n: int, seed: int = 0) -> list[tuple[np.ndarray, float, float]]:
    """``(BGR image, centre col, centre row)`` crops (level-0 px of the mosaic)."""
    tile = catalog_file(vrt)
    rng = np.random.default_rng(seed)
    out = []
    while len(out) < n:
        gsd = rng.uniform(0.4, 0.9) * tile.gsd_m  # footage 0.2-0.45 m over 0.5 m imagery
        cx, cy = rng.uniform(300, tile.width - 300), rng.uniform(300, tile.height - 300)
        half = 420 * gsd / tile.gsd_m  # level-0 px covering the rotated frame
        timg = read_tile(tile, window=(cx - half, cy - half, 2 * half, 2 * half), gsd_m=gsd)
        img = timg.image
        h, w = img.shape[:2]
        rot = cv2.getRotationMatrix2D((w / 2, h / 2), rng.uniform(0, 360), 1.0)
        rot[:, 2] += (np.array([640, 360]) - np.array([w, h])) / 2
        frame = cv2.warpAffine(img, rot, (640, 360))
        frame = cv2.GaussianBlur(frame, (0, 0), 0.8)
        noise = rng.normal(0, 3, frame.shape)
        frame = np.clip(frame.astype(np.float64) + noise, 0, 255).astype(np.uint8)
        if (frame.reshape(-1, 3).max(axis=1) == 0).mean() > 0.05:
            continue
        out.append((frame, cx, cy))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("vrt", type=Path)
    ap.add_argument("--queries", type=int, default=40)
    ap.add_argument("--only", default="",
                    help="run variants whose name contains this (several: separated by |)")
    ap.add_argument("--norms", action="store_true",
                    help="also score with block norms to the power 0.5 and 0 (not cosine)")
    a = ap.parse_args()
    work = REPO / "benchmarks" / "_work" / "retrieval" / a.vrt.parent.name
    qs = queries(a.vrt, a.queries)
    descs = [keyframe_descriptors(img, None) for img, _, _ in qs]
    print("| variant | recall@1 | recall@5 | recall@20 | build CPU s | index MB (vocab) |"
          " query ms |")
    print("|---|---|---|---|---|---|---|")
    for name, cfg in VARIANTS.items():
        if a.only and not any(part in name for part in a.only.split("|")):
            continue
        idx = work / name.replace(" ", "_").replace("^", "").replace("/", "").replace(",", "")
        shutil.rmtree(idx, ignore_errors=True)
        c0 = time.process_time()
        build_index([a.vrt], idx, config=cfg, workers=1)
        build_cpu = time.process_time() - c0
        ret = Retriever.load(idx)
        size = sum(f.stat().st_size for f in idx.rglob("*") if f.is_file()) / 1e6
        vocab = (idx / "vocab.npy").stat().st_size / 1e6
        for power in (1.0, 0.5, 0.0) if a.norms else (1.0,):
            ret.norm_power = power
            hits = {1: 0, 5: 0, 20: 0}
            t_q = 0.0
            for d, (_, cx, cy) in zip(descs, qs, strict=True):
                t0 = time.perf_counter()
                top = ret.shortlist(d, top=20)
                t_q += time.perf_counter() - t0
                ok = [s.window[0] <= cx <= s.window[0] + s.window[2]
                      and s.window[1] <= cy <= s.window[1] + s.window[3] for s in top]
                for k in hits:
                    hits[k] += int(any(ok[:k]))
            n = len(qs)
            label = name if power == 1.0 else f"{name}, score / norm^{power:g}"
            print(f"| {label} | {hits[1] / n:.0%} | {hits[5] / n:.0%} | {hits[20] / n:.0%}"
                  f" | {build_cpu:.0f} | {size:.1f} ({vocab:.1f}) | {1000 * t_q / n:.0f} |",
                  flush=True)
        del ret
    print(json.dumps({"queries": len(qs), "mosaic": str(a.vrt)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
