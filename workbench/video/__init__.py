"""Video stage: footage hashing, probing and frame-accurate decoding (PyAV).

The public API; types in :mod:`workbench.video.model`, the reader in
:mod:`workbench.video.reader`.  Images are ``(H, W, 3) uint8`` BGR in display
orientation; ``Frame.pts_s`` is the exact presentation time in seconds.
"""

from __future__ import annotations

from workbench.video.model import Frame, RawFrame, VideoInfo
from workbench.video.reader import iter_frames, iter_raw_frames, probe, read_frame, sha256_file

__all__ = [
    "Frame",
    "RawFrame",
    "VideoInfo",
    "iter_frames",
    "iter_raw_frames",
    "probe",
    "read_frame",
    "sha256_file",
]
