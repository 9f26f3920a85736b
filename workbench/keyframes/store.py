"""Keyframes on disk: :func:`save_keyframes` (atomic) and :func:`load_keyframes`.

Layout of a keyframes folder: ``kf0001.png`` (lossless, BGR as written by OpenCV),
``kf0001_mask.png`` (grey, 255 = overlay) and ``keyframes.json`` (schema
``workbench.keyframes/1``: video metadata and hash, shots, and per keyframe id,
frame index, time, SHA-256 of the PNG, sharpness, shot index and file names).
:func:`load_keyframes` reads it back and checks every PNG against its recorded
SHA-256.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from workbench.atomic import atomic_write_bytes
from workbench.errors import KeyframeError, OutputError
from workbench.hashing import sha256_bytes
from workbench.keyframes.model import (
    Keyframe,
    KeyframeConfig,
    KeyframeSet,
    Shot,
    SubShot,
    encode_png,
)
from workbench.outputs import output_set
from workbench.version import __version__
from workbench.video.model import VideoInfo

SCHEMA = "workbench.keyframes/1"
JSON_NAME = "keyframes.json"


def _names(kf: Keyframe) -> tuple[str, str]:
    return f"{kf.id}.png", f"{kf.id}_mask.png"


def keyframes_to_json(
    kset: KeyframeSet, *, mask_pngs: Sequence[bytes] | None = None
) -> dict[str, Any]:
    """The ``keyframes.json`` document for ``kset`` (file names as save_keyframes writes).

    ``mask_pngs``: the masks' PNG encodings, one per keyframe, when the caller already
    has them (``save_keyframes`` writes them); encoded here otherwise.
    """
    if mask_pngs is None:
        mask_pngs = [encode_png(kf.overlay_mask) for kf in kset.keyframes]
    kfs = []
    for kf, mask_png in zip(kset.keyframes, mask_pngs, strict=True):
        image, mask = _names(kf)
        h, w = kf.image.shape[:2]
        kfs.append({
            "id": kf.id, "frame_index": kf.frame_index, "time_s": round(kf.time_s, 6),
            "sha256": kf.sha256, "sharpness": round(float(kf.sharpness), 4),
            "shot_index": kf.shot_index, "manual": kf.manual, "width": w, "height": h,
            "image": image, "mask": mask,
            "mask_sha256": sha256_bytes(mask_png),
            "overlay_fraction": round(kf.overlay_fraction(), 6),
        })
    return {
        "schema": SCHEMA,
        "software": f"workbench {__version__}",
        "video": kset.video.to_json(),
        "config": kset.config.to_json(),
        "shots": [asdict(s) for s in kset.shots],
        "keyframes": kfs,
        "warnings": list(kset.warnings),
        "stats": kset.stats,
    }


def save_keyframes(kset: KeyframeSet, out_dir: str | os.PathLike[str], *,
                   force: bool = False) -> Path:
    """Write PNGs, masks and ``keyframes.json`` into ``out_dir`` as one output set; return
    the JSON path.

    Through :func:`workbench.outputs.output_set` (set ``"keyframes"``): the files are
    built beside ``out_dir`` and switched in at once; on error nothing is half-written
    and ``out_dir`` is left as it was.  Only files an earlier keyframes run wrote there
    (listed in the folder's manifest) are replaced or removed; a folder holding other
    files is refused unless ``force`` (they are then kept).

    Raises:
        OutputError: ``out_dir`` cannot be written, or holds foreign files.
    """
    out = Path(out_dir)
    mask_pngs = [encode_png(kf.overlay_mask) for kf in kset.keyframes]
    try:
        with output_set(out, "keyframes", force=force) as stage:
            write_keyframe_files(kset, stage, mask_pngs=mask_pngs)
    except OSError as exc:
        if isinstance(exc, OutputError):
            raise
        raise OutputError(f"cannot write keyframes ({exc.strerror or exc})", out) from exc
    return out / JSON_NAME


def write_keyframe_files(kset: KeyframeSet, folder: str | os.PathLike[str], *,
                         mask_pngs: Sequence[bytes] | None = None) -> Path:
    """Write the keyframe PNGs, masks and ``keyframes.json`` into ``folder`` (created),
    not atomically: for a staging folder of an output set (see :func:`save_keyframes`)."""
    dest = Path(folder)
    if mask_pngs is None:
        mask_pngs = [encode_png(kf.overlay_mask) for kf in kset.keyframes]
    doc = keyframes_to_json(kset, mask_pngs=mask_pngs)
    dest.mkdir(parents=True, exist_ok=True)
    for kf, mask_png in zip(kset.keyframes, mask_pngs, strict=True):
        image, mask = _names(kf)
        (dest / image).write_bytes(kf.png_bytes())
        (dest / mask).write_bytes(mask_png)
    atomic_write_bytes(dest / JSON_NAME,
                       (json.dumps(doc, indent=1, allow_nan=False) + "\n").encode())
    return dest / JSON_NAME


def _read_png(path: Path, flags: int) -> tuple[np.ndarray, bytes]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise KeyframeError(f"cannot read ({exc.strerror or exc})", path) from exc
    img = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    if img is None:
        raise KeyframeError("not a readable PNG image", path)
    return img, data


def load_keyframes(out_dir: str | os.PathLike[str]) -> KeyframeSet:
    """Read a folder written by :func:`save_keyframes` and verify every PNG's SHA-256.

    Raises:
        KeyframeError: missing/malformed ``keyframes.json``, unknown schema, missing or
            unreadable PNG, or a PNG whose hash differs from the recorded one.
    """
    folder = Path(out_dir)
    jpath = folder / JSON_NAME
    try:
        doc = json.loads(jpath.read_text(encoding="utf-8"))
    except OSError as exc:
        raise KeyframeError(f"cannot read ({exc.strerror or exc})", jpath) from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise KeyframeError(f"not valid JSON ({exc})", jpath) from exc
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
        got = doc.get("schema") if isinstance(doc, dict) else None
        raise KeyframeError(f"unknown keyframes schema {got!r} (expected {SCHEMA})", jpath)
    try:
        video = VideoInfo.from_json(doc["video"])
        config = KeyframeConfig.from_json(doc.get("config", {}))
        shots = []
        for s in doc.get("shots", []):
            s = dict(s)
            s["subshots"] = [SubShot(**x) for x in s.get("subshots", [])]
            shots.append(Shot(**s))
        keyframes = []
        for k in doc["keyframes"]:
            ipath = folder / str(k["image"])
            image, data = _read_png(ipath, cv2.IMREAD_COLOR)
            digest = sha256_bytes(data)
            if digest != k["sha256"]:
                raise KeyframeError("SHA-256 differs from keyframes.json (file changed)", ipath)
            mpath = folder / str(k["mask"]) if k.get("mask") else None
            if mpath is not None and mpath.exists():
                mask, _ = _read_png(mpath, cv2.IMREAD_GRAYSCALE)
                if mask.shape != image.shape[:2]:
                    raise KeyframeError("mask size differs from its keyframe", mpath)
            else:
                mask = np.zeros(image.shape[:2], np.uint8)
            keyframes.append(Keyframe(
                id=str(k["id"]), frame_index=int(k["frame_index"]), time_s=float(k["time_s"]),
                image=image, overlay_mask=mask, sharpness=float(k["sharpness"]),
                shot_index=int(k["shot_index"]), sha256=str(k["sha256"]),
                manual=bool(k.get("manual", False)), _png=data,
            ))
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, KeyframeError):
            raise
        raise KeyframeError(f"malformed keyframes.json ({type(exc).__name__}: {exc})",
                            jpath) from exc
    return KeyframeSet(video=video, keyframes=keyframes, shots=shots,
                       warnings=list(doc.get("warnings", [])), config=config,
                       stats=dict(doc.get("stats", {})))
