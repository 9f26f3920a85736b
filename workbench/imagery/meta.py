"""Raster metadata for the tile catalog: WGS84 footprint, ground sample distance, date, credit.

Everything here works on metadata only (no pixel reads).  Conventions:

* A rasterio ``Affine`` maps level-0 pixel *corners* to CRS coordinates; pixel
  ``(x, y)`` (col, row, centre of the top-left pixel at ``(0, 0)``) is at
  ``transform * (x + 0.5, y + 0.5)``.
* Positions leave as WGS84 ``(lon, lat)`` degrees (EPSG:4326, lon first).
* Distances are geodesic on the WGS84 ellipsoid (``pyproj.Geod``), so the ground
  sample distance is right for geographic (EPSG:4326) and Web Mercator rasters too.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from pyproj import CRS, Geod
from rasterio.transform import Affine

from workbench.errors import CRSError
from workbench.geo import crs_to_lonlat

_GEOD = Geod(ellps="WGS84")
_MAX_SIDECAR_BYTES = 1 << 20
_MAX_TEXT = 200

# Metadata keys that carry an acquisition date, best first (compared case-insensitively).
DATE_KEYS: tuple[str, ...] = (
    "ACQUISITIONDATETIME",  # GDAL IMAGERY domain (DigitalGlobe/Maxar, Pleiades, ...)
    "ACQUISITION_DATETIME",
    "ACQUISITIONDATE",
    "ACQUISITION_DATE",
    "ACQUISITION_START",  # OpenAerialMap metadata
    "DATE_ACQUIRED",  # Landsat MTL
    "SENSING_TIME",
    "DATATAKE_SENSING_START",  # Sentinel-2 SAFE
    "PRODUCT_START_TIME",
    "DATETIME",  # STAC item properties
    "DATE",
    "EXIF_DATETIMEORIGINAL",
    "TIFFTAG_DATETIME",  # file date: may be the processing, not the capture, date
)
# Keys that credit the imagery's owner, best first.
ATTRIBUTION_KEYS: tuple[str, ...] = (
    "ATTRIBUTION",  # MBTiles metadata, our own sidecars
    "TIFFTAG_COPYRIGHT",
    "COPYRIGHT",
    "PROVIDER",  # OpenAerialMap
    "PROVIDERS",  # STAC
    "PRODUCER",
    "TIFFTAG_ARTIST",
    "ARTIST",
)
# OpenAerialMap / STAC / generic JSON sidecars, tried in this order.
SIDECAR_SUFFIXES: tuple[str, ...] = ("_meta.json", ".json", ".meta.json")

_ISO_LIKE = re.compile(
    r"(\d{4})[:\-/](\d{2})[:\-/](\d{2})"  # date, EXIF/TIFF ':' separators too
    r"(?:[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?\s*(Z|[+-]\d{2}:?\d{2})?)?"  # time, zone
)
_FILENAME_DATE = re.compile(r"(?<![0-9])((?:19[7-9]|20[0-9])[0-9])([01][0-9])([0-3][0-9])(?![0-9])")


def apply_affine(t: Affine, cols: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-corner coordinates ``(cols, rows)`` (float64 arrays) -> CRS ``(x, y)`` via ``t``."""
    c, r = np.asarray(cols, float), np.asarray(rows, float)
    return t.a * c + t.b * r + t.c, t.d * c + t.e * r + t.f


def inverse_affine(t: Affine, xs: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """CRS ``(x, y)`` -> pixel-corner ``(cols, rows)`` through the inverse of ``t``."""
    return apply_affine(~t, xs, ys)


def footprint_lonlat(
    crs_wkt: str, transform: Affine, width: int, height: int, per_edge: int = 16
) -> list[list[float]]:
    """Closed WGS84 ``[[lon, lat], ...]`` ring of the raster outline (pixel corners).

    The outline is densified to ``per_edge`` points per side before projection so
    curved edges (UTM -> lon/lat over large areas) stay accurate; rotated/sheared
    geotransforms are handled because every corner goes through the full affine.
    Ring order: top-left, top-right, bottom-right, bottom-left, back to top-left.
    A ring crossing the antimeridian is unwrapped (longitudes beyond 180 east), so
    ``bounds`` derived from it stay a small box.

    Raises:
        CRSError: the CRS is unknown, the outline does not transform, or it leaves
            the valid lon/lat range.
    """
    t = np.linspace(0.0, 1.0, per_edge, endpoint=False)
    zeros, w, h = np.zeros(per_edge), np.full(per_edge, width), np.full(per_edge, height)
    cols = np.concatenate([t * width, w, (1 - t) * width, zeros])
    rows = np.concatenate([zeros, t * height, h, (1 - t) * height])
    xs, ys = apply_affine(transform, cols, rows)
    lon, lat = crs_to_lonlat(crs_wkt, np.asarray(xs), np.asarray(ys), require_finite=True)
    if np.any(np.abs(lat) > 90.0 + 1e-9) or np.any(np.abs(lon) > 540.0):
        raise CRSError("footprint is outside the valid longitude/latitude range")
    if float(lon.max() - lon.min()) > 180.0:  # crosses the antimeridian: keep the ring in one piece
        wrapped = np.where(lon < 0, lon + 360.0, lon)
        if float(wrapped.max() - wrapped.min()) < float(lon.max() - lon.min()):
            lon = wrapped
    ring = [[round(float(a), 9), round(float(b), 9)] for a, b in zip(lon, lat, strict=True)]
    ring.append(list(ring[0]))
    return ring


def ground_sample_distance(
    crs_wkt: str, transform: Affine, width: int, height: int
) -> tuple[float, float]:
    """Geodesic metres per level-0 pixel ``(along columns, along rows)`` at the raster centre.

    Measures the WGS84 geodesic length of one pixel step in x and in y from the
    centre pixel, so it is right for projected, geographic and Web Mercator CRSs
    (where the nominal pixel size is degrees or is inflated by 1/cos(lat)).
    """
    cx, cy = width / 2.0, height / 2.0
    xs, ys = apply_affine(transform, np.array([cx, cx + 1.0, cx]), np.array([cy, cy, cy + 1.0]))
    lon, lat = crs_to_lonlat(crs_wkt, np.asarray(xs), np.asarray(ys), require_finite=True)
    _, _, gx = _GEOD.inv(lon[0], lat[0], lon[1], lat[1])
    _, _, gy = _GEOD.inv(lon[0], lat[0], lon[2], lat[2])
    if not (math.isfinite(gx) and math.isfinite(gy)) or gx <= 0 or gy <= 0:
        raise CRSError("pixel size cannot be measured on the ground (degenerate geotransform)")
    return float(gx), float(gy)


def read_prj(path: Path) -> str | None:
    """WKT from a ``.prj`` beside ``path`` (world-file rasters carry no CRS), else ``None``.

    Raises:
        CRSError: a ``.prj`` exists but pyproj cannot parse it.
    """
    for prj in (path.with_suffix(".prj"), path.with_name(path.name + ".prj")):
        if prj.is_file():
            try:
                text = prj.read_text(encoding="utf-8", errors="replace")[: 64 * 1024]
                return str(CRS.from_user_input(text.strip()).to_wkt())
            except Exception as exc:  # pyproj.exceptions.CRSError
                raise CRSError(f"unreadable CRS in {prj.name} ({exc})") from exc
    return None


def clean_credit(value: Any) -> str | None:
    """:func:`clean_text` with HTML tags removed (MBTiles/TileJSON attributions are HTML)."""
    text = clean_text(value)
    if text is None:
        return None
    text = html.unescape(re.sub(r"<[^>]*>", " ", text))
    return clean_text(text)


def clean_text(value: Any) -> str | None:
    """A one-line, printable, length-capped string from untrusted metadata (``None`` if empty)."""
    if value is None:
        return None
    if isinstance(value, list | tuple):
        parts = [clean_text(v.get("name") if isinstance(v, dict) else v) for v in value]
        value = ", ".join(p for p in parts if p)
    elif isinstance(value, dict):
        value = value.get("name") or value.get("title") or ""
    text = " ".join("".join(ch if ch.isprintable() else " " for ch in str(value)).split())
    if not text:
        return None
    return text[:_MAX_TEXT]


def normalise_date(value: Any) -> str | None:
    """ISO 8601 text for a metadata date (``2019:07:14 10:00:00`` -> ``2019-07-14T10:00:00``).

    A time zone (``Z``, ``+02:00``) is kept; fractional seconds are dropped.
    Unparseable but non-empty values are kept verbatim (cleaned), so nothing an
    investigator might need is thrown away.
    """
    text = clean_text(value)
    if text is None:
        return None
    m = _ISO_LIKE.fullmatch(text)
    if m:
        try:
            y, mo, d = int(m[1]), int(m[2]), int(m[3])
            day = dt.date(y, mo, d)
        except ValueError:
            return text
        if m[4] is None:
            return day.isoformat()
        zone = m[7] or ""  # kept: a capture time without its zone is ambiguous evidence
        return f"{day.isoformat()}T{int(m[4]):02d}:{int(m[5]):02d}:{int(m[6] or 0):02d}{zone}"
    m = re.fullmatch(r"(\d{4})(\d{2})(\d{2})", text)
    if m:
        try:
            return dt.date(int(m[1]), int(m[2]), int(m[3])).isoformat()
        except ValueError:
            return text
    return text


def _flatten(doc: Mapping[str, Any], out: dict[str, Any], depth: int = 0) -> None:
    for key, value in doc.items():
        if isinstance(value, dict) and depth < 2:
            _flatten(value, out, depth + 1)
        else:
            out.setdefault(str(key).upper(), value)


def read_sidecar(path: Path) -> tuple[dict[str, Any], str | None]:
    """Flattened upper-case keys of a JSON metadata sidecar (OAM ``*_meta.json``, STAC item).

    Returns ``({}, None)`` when there is none or it is not a JSON object; never raises
    for a bad sidecar (it is optional, untrusted input).
    """
    stem = path.name[: -len(path.suffix)] if path.suffix else path.name
    for suffix in SIDECAR_SUFFIXES:
        side = path.with_name(stem + suffix)
        if side == path or not side.is_file():
            continue
        try:
            if side.stat().st_size > _MAX_SIDECAR_BYTES:
                continue
            doc = json.loads(side.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(doc, dict):
            flat: dict[str, Any] = {}
            _flatten(doc, flat)
            return flat, side.name
    return {}, None


def pick(
    sources: Sequence[tuple[str, Mapping[str, Any]]],
    keys: tuple[str, ...],
    norm: Callable[[Any], str | None],
) -> tuple[str | None, str | None]:
    """First value for ``keys`` (priority order) across ``sources`` -> ``(value, "source:KEY")``."""
    for key in keys:
        for source, tags in sources:
            for tag_key, value in tags.items():
                if tag_key.upper() == key:
                    got = norm(value)
                    if got:
                        return got, f"{source}:{tag_key}"
    return None, None


def date_from_filename(path: Path) -> str | None:
    """An 8-digit ``YYYYMMDD`` date in the file name (NAIP ``..._20160816.tif``), else ``None``."""
    for m in _FILENAME_DATE.finditer(path.stem):
        try:
            return dt.date(int(m[1]), int(m[2]), int(m[3])).isoformat()
        except ValueError:
            continue
    return None
