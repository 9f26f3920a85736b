"""Small synthetic clips for the ingest/keyframe tests (independent of fixtures.footage).

``make_clip`` renders textured "ground" scenes seen by a moving camera (pan or
zoom), hard cuts between scenes, an optional fade through black, an optional
title card, and an optional burned-in HUD (corner text, a centre crosshair, a
frame), encoded with PyAV (libx264).  It returns the ground truth: shot frame
ranges and the HUD's drawn pixels.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np


@dataclass
class ShotSpec:
    """One shot: ``seconds`` long over scene ``seed``, moving by ``motion``.

    ``motion``: "pan" (translation), "zoom" (scale ``zoom`` over the shot), "static".
    """

    seconds: float
    seed: int
    motion: str = "pan"
    zoom: float = 3.0
    speed: float = 40.0  # pan pixels per second at output size


@dataclass
class ClipTruth:
    """Ground truth: ``shots`` as ``(start_frame, end_frame)`` (scene shots only)."""

    frames: int
    fps: int
    size: tuple[int, int]
    shots: list[tuple[int, int]] = field(default_factory=list)
    title: tuple[int, int] | None = None
    hud: np.ndarray | None = None  # (H, W) bool, drawn HUD pixels


def scene(seed: int, size: int = 1400) -> np.ndarray:
    """A ``(size, size, 3) uint8`` BGR multi-scale textured ground image."""
    rng = np.random.default_rng(seed)
    img = np.zeros((size, size, 3), np.float32)
    for scale, amp in ((8, 90.0), (32, 50.0), (128, 30.0)):
        n = max(2, size // scale)
        noise = rng.random((n, n, 3)).astype(np.float32)
        img += amp * cv2.resize(noise, (size, size), interpolation=cv2.INTER_CUBIC)
    base = rng.integers(0, 60, 3).astype(np.float32)
    for _ in range(60):  # "buildings"
        x, y = (int(v) for v in rng.integers(0, size - 40, 2))
        w, h = (int(v) for v in rng.integers(8, 40, 2))
        color = tuple(float(c) for c in rng.integers(0, 255, 3))
        cv2.rectangle(img, (x, y), (x + w, y + h), color, -1)
    return np.clip(img * 0.8 + base, 0, 255).astype(np.uint8)


def _hud(w: int, h: int) -> np.ndarray:
    """``(h, w, 4) uint8``: BGR + alpha of a static HUD (text, crosshair, brackets)."""
    layer = np.zeros((h, w, 4), np.uint8)
    white = (255, 255, 255, 255)
    font = cv2.FONT_HERSHEY_SIMPLEX
    fs = h / 600
    cv2.putText(layer, "LAT 48.1234 LON 37.5678", (8, int(h * 0.06)), font, fs, white, 1,
                cv2.LINE_AA)
    cv2.putText(layer, "ALT 1520M  TGT RNG 2.4KM", (8, int(h * 0.96)), font, fs, white, 1,
                cv2.LINE_AA)
    cv2.putText(layer, "IR WHT", (int(w * 0.8), int(h * 0.06)), font, fs, (0, 0, 0, 255), 2,
                cv2.LINE_AA)
    cx, cy, r = w // 2, h // 2, h // 12
    cv2.line(layer, (cx - 2 * r, cy), (cx - r // 3, cy), white, 1)
    cv2.line(layer, (cx + r // 3, cy), (cx + 2 * r, cy), white, 1)
    cv2.line(layer, (cx, cy - 2 * r), (cx, cy - r // 3), white, 1)
    cv2.line(layer, (cx, cy + r // 3), (cx, cy + 2 * r), white, 1)
    m = h // 8
    for x0, y0, dx, dy in ((m, m, 1, 1), (w - m, m, -1, 1), (m, h - m, 1, -1),
                           (w - m, h - m, -1, -1)):
        cv2.line(layer, (x0, y0), (x0 + dx * m // 2, y0), white, 2)
        cv2.line(layer, (x0, y0), (x0, y0 + dy * m // 2), white, 2)
    return layer


def _view(src: np.ndarray, w: int, h: int, cx: float, cy: float, scale: float) -> np.ndarray:
    """Output pixels = source around (cx, cy), magnified by ``scale``."""
    m = np.array([[scale, 0, w / 2 - scale * cx], [0, scale, h / 2 - scale * cy]], np.float32)
    return cv2.warpAffine(src, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def make_clip(
    path: Path,
    shots: list[ShotSpec],
    *,
    size: tuple[int, int] = (480, 270),
    fps: int = 25,
    title_s: float = 0.0,
    fade_after: int | None = None,
    dissolve_after: int | None = None,
    grey: bool = False,
    hud: bool = True,
    crf: int = 20,
    options: dict[str, str] | None = None,
) -> ClipTruth:
    """Render and encode a clip; return its :class:`ClipTruth`.

    ``fade_after``: index of the shot after which the picture fades through black
    (0.4 s out, 0.4 s black, 0.4 s in, counted inside the neighbouring shots).
    ``dissolve_after``: index of the shot whose last 0.6 s cross-dissolve into the
    next shot's first frames.
    """
    w, h = size
    layer = _hud(w, h) if hud else None
    alpha = layer[:, :, 3:4].astype(np.float32) / 255.0 if layer is not None else None
    truth = ClipTruth(frames=0, fps=fps, size=size)
    if layer is not None:
        truth.hud = layer[:, :, 3] > 0
    frames: list[np.ndarray] = []
    if title_s > 0:
        n = round(title_s * fps)
        card = np.zeros((h, w, 3), np.uint8)
        font = cv2.FONT_HERSHEY_SIMPLEX
        cv2.putText(card, "STRIKE FOOTAGE", (w // 6, h // 2 - 10), font, h / 300, (255,) * 3, 2)
        cv2.putText(card, "24.11.2026", (w // 3, h // 2 + 30), font, h / 400, (200,) * 3, 1)
        frames += [card] * n
        truth.title = (0, n)
    fade = round(0.4 * fps)
    for i, spec in enumerate(shots):
        src = scene(spec.seed)
        n = round(spec.seconds * fps)
        start = len(frames)
        for k in range(n):
            t = k / max(1, n - 1)
            cx, cy, scale = 700.0, 700.0, 1.0
            if spec.motion == "pan":
                cx += spec.speed * k / fps - spec.speed * spec.seconds / 2
                cy += 0.3 * (spec.speed * k / fps - spec.speed * spec.seconds / 2)
            elif spec.motion == "zoom":
                scale = spec.zoom ** t
            img = _view(src, w, h, cx, cy, scale)
            if fade_after is not None and i == fade_after and k >= n - fade:
                img = (img * ((n - k - 1) / fade)).astype(np.uint8)
            if fade_after is not None and i == fade_after + 1 and k < fade:
                img = (img * (k / fade)).astype(np.uint8)
            frames.append(img)
        truth.shots.append((start, len(frames)))
        if fade_after is not None and i == fade_after:
            frames += [np.zeros((h, w, 3), np.uint8)] * fade
    if dissolve_after is not None:  # cross-dissolve over the last 0.6 s of that shot
        d = round(0.6 * fps)
        end = truth.shots[dissolve_after][1]
        nxt = truth.shots[dissolve_after + 1][0]
        for k in range(d):
            a = (k + 1) / (d + 1)
            i = end - d + k
            frames[i] = (frames[i] * (1 - a) + frames[nxt + k] * a).astype(np.uint8)
    if grey:  # thermal-like: no colour, lower contrast
        frames = [cv2.cvtColor(cv2.cvtColor(f, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
                  for f in frames]
    if layer is not None and alpha is not None:
        frames = [(f * (1 - alpha) + layer[:, :, :3] * alpha).astype(np.uint8) for f in frames]
    truth.frames = len(frames)
    encode(path, frames, fps, crf=crf, options=options)
    return truth


def encode(path: Path, frames: list[np.ndarray], fps: int, *, crf: int = 20,
           pts_ms: list[int] | None = None, codec: str = "libx264",
           options: dict[str, str] | None = None) -> None:
    """Encode BGR frames with PyAV; ``pts_ms`` gives explicit (e.g. variable) timestamps."""
    h, w = frames[0].shape[:2]
    with av.open(str(path), "w", options=options or {}) as c:
        s = c.add_stream(codec, rate=fps)
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"
        if codec == "libx264":
            s.options = {"crf": str(crf), "preset": "veryfast"}
        if pts_ms is not None:
            s.time_base = Fraction(1, 1000)
            s.codec_context.time_base = Fraction(1, 1000)
        for i, img in enumerate(frames):
            f = av.VideoFrame.from_ndarray(img, format="bgr24")
            if pts_ms is not None:
                f.pts = pts_ms[i]
                f.time_base = Fraction(1, 1000)
            for pkt in s.encode(f):
                c.mux(pkt)
        for pkt in s.encode():
            c.mux(pkt)
