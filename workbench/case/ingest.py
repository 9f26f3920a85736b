"""Reading what goes into a case: keyframe PNGs, footage and raster facts.

All inputs are untrusted: missing files, non-PNG bytes and undecodable images are
turned into :class:`~workbench.errors.CaseError` subclasses naming the file.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import cv2
import numpy as np

from workbench.case.model import KeyframeBlob
from workbench.errors import (
    CaseError,
    KeyframeError,
    OutputError,
    RasterOpenError,
    UsageError,
    VideoOpenError,
    one_line,
)
from workbench.hashing import sha256_bytes, sha256_file
from workbench.imagery.catalog import pixel_files
from workbench.keyframes.model import encode_png as keyframe_png
from workbench.progress import ProgressCallback, report
from workbench.results import LocateResult, ResultFormatError, TileRef

log = logging.getLogger(__name__)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
MAX_VIDEO_COPY_BYTES = 900 * 1024 * 1024  # SQLite's default blob limit is 1e9 bytes


def decode_png(data: bytes, *, grey: bool, what: str) -> np.ndarray:
    """Decode stored PNG bytes: ``(H, W, 3) uint8`` BGR, or ``(H, W) uint8`` when ``grey``."""
    flag = cv2.IMREAD_GRAYSCALE if grey else cv2.IMREAD_COLOR
    img = cv2.imdecode(np.frombuffer(data, np.uint8), flag) if data else None
    if img is None:
        raise CaseError(f"stored image {what} cannot be decoded")
    return img


def encode_png(image: np.ndarray, *, what: str) -> bytes:
    """Lossless PNG bytes of a ``(H, W, 3)`` BGR or ``(H, W)`` uint8 array the analyst
    gave (checked first): the keyframe pass's encoding
    (:func:`workbench.keyframes.model.encode_png`), so a manual keyframe is stored as
    an extracted one is."""
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim not in (2, 3):
        raise UsageError(f"{what}: expected a uint8 (H, W, 3) BGR or (H, W) array")
    if image.ndim == 3 and image.shape[2] != 3:
        raise UsageError(f"{what}: expected 3 channels (BGR), got {image.shape[2]}")
    try:
        return keyframe_png(image)
    except KeyframeError as exc:
        raise UsageError(f"{what}: image cannot be encoded as PNG ({exc})") from exc


def _find(base: Path, rel: str) -> Path | None:
    for cand in (base / rel, base / "keyframes" / rel, base / Path(rel).name,
                 base / "keyframes" / Path(rel).name):
        if cand.is_file():
            return cand
    return None


def _read_png(path: Path, *, grey: bool) -> tuple[bytes, np.ndarray]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CaseError(f"cannot read keyframe image ({exc.strerror or exc})", path) from exc
    if not data.startswith(PNG_MAGIC):
        raise CaseError("keyframe image is not a PNG file", path)
    return data, decode_png(data, grey=grey, what=str(path))


def load_keyframe_blobs(result: LocateResult, keyframes_dir: str | os.PathLike[str]
                        ) -> list[KeyframeBlob]:
    """Read every ``result.keyframes`` PNG (and mask) from ``keyframes_dir``.

    Raises ``CaseError`` naming the file when one is missing or not a decodable PNG.
    """
    base = Path(keyframes_dir)
    out = []
    for ref in result.keyframes:
        if not ref.image:
            raise CaseError(f"keyframe {ref.id} has no image file in the locate result", base)
        path = _find(base, ref.image)
        if path is None:
            raise CaseError(f"keyframe {ref.id} image {ref.image!r} not found", base)
        png, img = _read_png(path, grey=False)
        digest = sha256_bytes(png)
        if ref.sha256 and ref.sha256 != digest:
            log.warning("%s: keyframe %s hash differs from the locate result (%s != %s)",
                        path, ref.id, digest[:12], ref.sha256[:12])
        mask_png = mask_sha = None
        if ref.mask:
            mpath = _find(base, ref.mask)
            if mpath is None:
                raise CaseError(f"keyframe {ref.id} mask {ref.mask!r} not found", base)
            mask_png, _ = _read_png(mpath, grey=True)
            mask_sha = sha256_bytes(mask_png)
        out.append(KeyframeBlob(ref, png, digest, int(img.shape[1]), int(img.shape[0]),
                                mask_png, mask_sha))
    return out


def read_locate_json(path: str | os.PathLike[str]) -> LocateResult:
    """Parse a ``locate.json`` written by ``workbench locate`` (schema ``workbench.locate/1``).

    Raises ``CaseError`` naming the file when it is missing, unreadable, not JSON or
    not a locate result.
    """
    p = Path(path)
    if not p.is_file():
        raise CaseError("locate.json not found" if not p.exists() else "not a file", p)
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CaseError(f"cannot read locate result ({exc.strerror or exc})", p) from exc
    except (UnicodeDecodeError, ValueError) as exc:
        raise CaseError(f"not a JSON locate result ({one_line(exc)})", p) from exc
    try:
        return LocateResult.from_json(doc)
    except ResultFormatError as exc:
        raise CaseError(exc.message, p) from exc


def hash_footage(video_path: str | os.PathLike[str], expected: str,
                 progress: ProgressCallback | None = None) -> tuple[str, int]:
    """SHA-256 and size of the footage; ``CaseError`` if it differs from ``expected`` (if set)."""
    path = Path(video_path)
    if not path.is_file():
        raise VideoOpenError("footage file not found", path)
    try:
        digest, size = sha256_file(path, progress=progress, stage="hashing footage")
    except OSError as exc:
        raise VideoOpenError(f"cannot read footage ({exc.strerror or exc})", path) from exc
    if expected and expected != digest:
        raise CaseError("footage changed since it was located (SHA-256 differs)", path)
    return digest, size


def copy_footage(video_path: str | os.PathLike[str], expected: str) -> tuple[bytes, str, int]:
    """The footage's bytes with their SHA-256 and size, read once (the copy stored in the
    case is the very data hashed); ``UsageError`` above :data:`MAX_VIDEO_COPY_BYTES`,
    ``CaseError`` if the hash differs from ``expected`` (if set)."""
    path = Path(video_path)
    if not path.is_file():
        raise VideoOpenError("footage file not found", path)
    try:
        size = path.stat().st_size
        if size > MAX_VIDEO_COPY_BYTES:
            raise UsageError(f"footage is too large to copy into the case ({size} bytes, limit "
                             f"{MAX_VIDEO_COPY_BYTES}); keep it beside the case instead", path)
        data = path.read_bytes()
    except OSError as exc:
        raise VideoOpenError(f"cannot read footage ({exc.strerror or exc})", path) from exc
    digest = sha256_bytes(data)
    if expected and expected != digest:
        raise CaseError("footage changed since it was located (SHA-256 differs)", path)
    return data, digest, len(data)


def raster_records(tiles: list[str | os.PathLike[str]], result: LocateResult,
                   progress: ProgressCallback | None = None) -> list[dict[str, object]]:
    """Hash each raster and collect its recorded metadata (from ``result.tiles`` if there).

    ``tiles`` may name folders (their catalogued rasters come from ``result.tiles``).
    Returns JSON-ready dicts with ``path`` (absolute), ``sha256``, ``size_bytes`` and
    the ``TileRef`` fields (``ref_path`` = the path as the locate result names it).
    """
    by_path: dict[str, TileRef] = {str(Path(t.path).resolve()): t for t in result.tiles}
    # files given directly are recorded even if the catalog skipped them; folders are
    # represented by the rasters the catalog found in them (result.tiles)
    paths = [str(Path(p).resolve()) for p in tiles if not Path(p).is_dir()]
    paths += [p for p in by_path if p not in paths]
    out = []
    for i, p in enumerate(paths):
        path = Path(p)
        if not path.is_file():
            raise RasterOpenError("reference raster not found", path)
        try:
            digest, size = sha256_file(path)
        except OSError as exc:
            raise RasterOpenError(f"cannot read raster ({exc.strerror or exc})", path) from exc
        report(progress, "hashing rasters", (i + 1) / len(paths))
        ref = by_path.get(p)
        if ref is not None and ref.sha256 and ref.sha256 != digest:
            raise CaseError("raster changed since it was located (SHA-256 differs)", path)
        rec: dict[str, object] = {"path": p, "sha256": digest, "size_bytes": size,
                                  "sidecars": sidecar_hashes(path), "sidecars_recursive": True}
        if ref is not None:
            rec.update(ref_path=ref.path, crs=ref.crs, transform=list(ref.transform),
                       width=ref.width, height=ref.height, gsd_m=ref.gsd_m,
                       footprint=ref.footprint, acquired=ref.acquired,
                       attribution=ref.attribution)
        out.append(rec)
    return out


def sidecar_hashes(raster: Path, *, members: bool = True) -> dict[str, str]:
    """SHA-256 of every file besides ``raster`` that affects its pixels or georeference
    (:func:`~workbench.imagery.catalog.pixel_files`), keyed by absolute path.

    With ``members`` (how cases record rasters from now on) a VRT's members' own files
    count too, down through nested VRTs.  Cases recorded before list a raster's direct
    files only; ``verify`` checks each case by the rule it was recorded with
    (``RasterRecord.sidecars_recursive``).
    """
    out: dict[str, str] = {}
    try:
        files = pixel_files(raster, members=members)
    except Exception as exc:  # a listing problem must not stop the case; verify re-checks
        log.warning("%s: cannot list sidecar files (%s)", raster, exc)
        return out
    own = raster.resolve()
    for f in files:
        if f == own:
            continue
        try:
            out[str(f)] = sha256_file(f)[0]
        except OSError as exc:
            raise RasterOpenError(f"cannot read sidecar ({exc.strerror or exc})", f) from exc
    return out


def check_not_readonly(readonly: bool, path: Path) -> None:
    """Raise ``OutputError`` when a mutation is attempted on a read-only case."""
    if readonly:
        raise OutputError("case is open read-only (the file or its folder is not writable)", path)
