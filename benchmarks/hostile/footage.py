"""Large synthetic footage for the hostile benchmark: a textured clip at 4K or 8K.

Renders an oblique-free pan over a tiled random texture (plus the demo town when given),
encoded with PyAV (H.264, yuv420p, CRF 30 so the file stays small).  Cached under
``benchmarks/.cache`` (gitignored) by size and length.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import av
import cv2
import numpy as np

CACHE = Path(__file__).resolve().parents[1] / ".cache"


def make_clip(width: int, height: int, seconds: float, *, fps: int = 25,
              out: Path | None = None, town: Path | None = None) -> Path:
    """Write (or reuse) a ``width`` x ``height`` clip of ``seconds``; returns its path."""
    path = out or CACHE / f"clip_{width}x{height}_{seconds:g}s.mp4"
    if path.is_file() and path.stat().st_size > 0:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    if town is not None:
        import rasterio

        with rasterio.open(town) as ds:
            base = np.moveaxis(ds.read([1, 2, 3]), 0, 2)
    else:
        base = rng.integers(0, 255, (270, 480, 3), np.uint8)
        base = cv2.GaussianBlur(base, (0, 0), 1.5)
    canvas = cv2.resize(base, (width * 2, height * 2), interpolation=cv2.INTER_CUBIC)
    tmp = path.with_name(path.name + ".part")
    n = round(seconds * fps)
    with av.open(str(tmp), "w", format="mp4") as container:
        st = container.add_stream("libx264", rate=fps, options={"crf": "30",
                                                                "preset": "ultrafast"})
        st.width, st.height, st.pix_fmt = width, height, "yuv420p"
        for i in range(n):
            x = int(i * (width / max(1, n)) * 0.8)
            y = int(i * (height / max(1, n)) * 0.4)
            frame = np.ascontiguousarray(canvas[y:y + height, x:x + width])
            for pkt in st.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(pkt)
        for pkt in st.encode():
            container.mux(pkt)
    tmp.replace(path)
    return path


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--size", default="7680x4320")
    ap.add_argument("--seconds", type=float, default=3.0)
    a = ap.parse_args()
    w, h = (int(v) for v in a.size.split("x"))
    print(make_clip(w, h, a.seconds))
