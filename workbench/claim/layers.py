"""Context layers: points, lines and polygons read through GDAL/OGR (pyogrio) from
GeoJSON, KML, GeoPackage or Shapefile, reprojected to WGS84 lon/lat with pyproj, and kept
as a GeoJSON ``FeatureCollection`` (RFC 7946) carrying the layer's source, licence and
as-of date in a ``workbench_layer`` member.

Every file is untrusted: each problem is one :class:`~workbench.errors.ContextLayerError`
line naming the file — no CRS, a CRS that cannot reach WGS84, coordinates that are not
degrees or look swapped, non-finite coordinates, invalid (e.g. self-intersecting)
geometry, too many features or vertices, a KML declaring a DTD or entities (refused
outright: no entity expansion), a file larger than :data:`MAX_LAYER_BYTES`.
"""

from __future__ import annotations

import json
import math
import os
import re
import warnings
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry import mapping

from workbench.claim.model import AsOf, LayerMeta
from workbench.errors import ContextLayerError, CRSError, UsageError, one_line
from workbench.geo import wgs84_transformer
from workbench.hashing import sha256_file

MAX_LAYER_BYTES = 200 * 1024 * 1024
MAX_FEATURES = 200_000
MAX_VERTICES = 1_000_000
LAYER_TYPES = {".geojson": "GeoJSON", ".json": "GeoJSON", ".kml": "KML", ".gpkg": "GeoPackage",
               ".shp": "Shapefile"}
_SCAN_CHUNK = 1 << 20
# a nan/inf next to a comma: a coordinate GDAL's KML readers would silently turn into 0
_KML_NAN = re.compile(rb"(?i)(?<![a-z0-9.])[+-]?(?:nan|inf|infinity)(?![a-z0-9])\s*,"
                      rb"|,\s*[+-]?(?:nan|inf|infinity)(?![a-z0-9])")


def _refuse_kml_dtd(path: Path) -> None:
    """Refuse a KML that is not UTF-8/ASCII, declares a DTD or entities (the parser is
    never given a chance to expand them), or has nan/inf coordinates."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(4)
            if head[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in head:
                raise ContextLayerError("KML is not UTF-8 (UTF-16/32 is refused)", path)
            fh.seek(0)
            tail = b""
            while chunk := fh.read(_SCAN_CHUNK):
                window = tail + chunk
                if b"<!DOCTYPE" in window or b"<!ENTITY" in window:
                    raise ContextLayerError(
                        "KML declares a DTD or entities (refused: entity expansion)", path)
                if _KML_NAN.search(window):
                    raise ContextLayerError("KML has non-finite (nan/inf) coordinates", path)
                tail = window[-64:]
    except OSError as exc:
        raise ContextLayerError(f"cannot read file ({exc.strerror or exc})", path) from exc


def _json_value(v: Any) -> Any:
    """A field value as plain JSON (numpy scalars unwrapped, dates ISO, NaN/bytes None)."""
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, bool | int | str) or v is None:
        return v
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, datetime | date):
        return v.isoformat()
    if isinstance(v, list | tuple | np.ndarray):
        return [_json_value(x) for x in v]
    return None


def _feature_label(props: dict[str, Any], index: int) -> str:
    for key in ("name", "Name", "NAME", "title", "label", "shapeName", "id"):
        if props.get(key) not in (None, ""):
            return f"feature {index + 1} ({str(props[key])[:40]})"
    return f"feature {index + 1}"


def _read_one(path: Path, layer: str | int | None) -> tuple[dict[str, Any], list[Any],
                                                             list[dict[str, Any]]]:
    """``(meta, shapely geometries, properties)`` of one OGR layer, still in its CRS."""
    import pyogrio  # start-up time: pyogrio imports pandas (~0.2 s) in every case process

    try:
        info = pyogrio.read_info(path, layer=layer)
        if int(info.get("features") or 0) > MAX_FEATURES:
            raise ContextLayerError(f"{info['features']} features (more than {MAX_FEATURES}):"
                                    " split or filter the layer first", path)
        meta, _, wkb, fields = pyogrio.raw.read(path, layer=layer)
        meta = {**meta, "layer_metadata": info.get("layer_metadata") or {}}
    except pyogrio.errors.DataSourceError as exc:
        raise ContextLayerError(f"not a readable vector file ({one_line(exc)})", path) from exc
    except (RuntimeError, ValueError) as exc:  # pyogrio's DataLayerError & co, GDAL errors
        raise ContextLayerError(f"cannot read layer ({one_line(exc)})", path) from exc
    names = [str(n) for n in meta.get("fields", [])]
    try:
        geoms = list(shapely.from_wkb(wkb, on_invalid="raise")) if len(wkb) else []
    except (shapely.errors.ShapelyError, ValueError) as exc:  # unclosed ring, 1e400...
        raise ContextLayerError(f"malformed geometry ({one_line(exc)})", path) from exc
    props = [{names[j]: _json_value(fields[j][i]) for j in range(len(names))}
             for i in range(len(geoms))]
    return meta, geoms, props


def _to_lonlat(path: Path, crs: str | None, geoms: list[Any]) -> list[Any]:
    if not crs:
        hint = " (no .prj file beside it)" if path.suffix.lower() == ".shp" else ""
        raise ContextLayerError(f"layer has no CRS{hint}; declare one before importing", path)
    try:
        tr = wgs84_transformer(crs, False)
    except CRSError as exc:
        raise ContextLayerError(exc.message, path) from exc
    if tr.source_crs is not None and tr.source_crs.is_geographic and \
            tr.source_crs.equals("EPSG:4326", ignore_axis_order=True):
        return geoms  # already lon/lat (GDAL reads in GIS axis order)
    arr = np.asarray(geoms, dtype=object)
    out = shapely.transform(arr, lambda a: np.column_stack(tr.transform(a[:, 0], a[:, 1])))
    return list(out)


def _check_geometries(path: Path, geoms: list[Any], props: list[dict[str, Any]]) -> None:
    total = 0
    for i, g in enumerate(geoms):
        if g is None or g.is_empty:
            continue
        xy = shapely.get_coordinates(g)
        total += len(xy)
        if total > MAX_VERTICES:
            raise ContextLayerError(f"more than {MAX_VERTICES} vertices: simplify the layer "
                                    "first (e.g. ogr2ogr -simplify)", path)
        label = _feature_label(props[i], i)
        if not np.isfinite(xy).all():
            raise ContextLayerError(f"{label} has non-finite coordinates", path)
        lon, lat = xy[:, 0], xy[:, 1]
        if (np.abs(lat) > 90).any():
            swapped = (np.abs(lon) <= 90).all() and (np.abs(lat) <= 180).all()
            raise ContextLayerError(
                f"{label} has a latitude outside ±90°" + (
                    " (are longitude and latitude swapped?)" if swapped else
                    " (coordinates are not degrees; is the CRS right?)"), path)
        if (np.abs(lon) > 180).any():
            raise ContextLayerError(f"{label} has a longitude outside ±180° (coordinates are "
                                    "not degrees; is the CRS right?)", path)
        if not shapely.is_valid(g):
            raise ContextLayerError(f"{label} has invalid geometry "
                                    f"({shapely.is_valid_reason(g)})", path)


def read_context_layer(path: str | os.PathLike[str], *, source: str | None = None,
                       licence: str | None = None, as_of: str | None = None,
                       class_attribute: str | None = None) -> tuple[dict[str, Any], str]:
    """Read every feature of a GeoJSON, KML, GeoPackage (all its layers) or Shapefile.

    ``source``/``licence``/``as_of`` are what the analyst says of the layer (``as_of``:
    ``YYYY[-MM[-DD]]``, prefix ``c.`` when approximate; unknown by default); the source
    defaults to the file's own description, else its name.

    Returns:
        ``(FeatureCollection in WGS84 lon/lat with a workbench_layer member, sha256)``.

    Raises:
        ContextLayerError: naming the file (see the module docstring).
        UsageError: a malformed ``as_of``.
    """
    p = Path(path)
    if not p.is_file():
        raise ContextLayerError("context layer file not found", p)
    kind = LAYER_TYPES.get(p.suffix.lower())
    if kind is None:
        raise ContextLayerError("unknown context layer type (use .geojson, .kml, .gpkg or "
                                ".shp)", p)
    if p.stat().st_size > MAX_LAYER_BYTES:
        raise ContextLayerError(f"context layer file is too large "
                                f"(> {MAX_LAYER_BYTES >> 20} MB)", p)
    try:
        when = AsOf.parse(as_of)
    except UsageError as exc:
        raise UsageError(exc.message, p) from exc
    if kind == "KML":
        _refuse_kml_dtd(p)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # GDAL's chatter; real problems raise below
        import pyogrio  # start-up time, as in _read_one

        try:
            layers = [str(n) for n in pyogrio.list_layers(p)[:, 0]]
        except (RuntimeError, ValueError) as exc:
            raise ContextLayerError(f"not a readable {kind} file ({one_line(exc)})",
                                    p) from exc
        feats: list[dict[str, Any]] = []
        description = ""
        crs_seen: list[str] = []
        for name in layers:
            meta, geoms, props = _read_one(p, name if len(layers) > 1 else None)
            description = description or str((meta.get("layer_metadata") or {})
                                             .get("DESCRIPTION") or "")
            if not geoms:
                continue
            crs_seen.append(str(meta.get("crs") or ""))
            geoms = [shapely.force_2d(g) if g is not None else None for g in geoms]
            geoms = _to_lonlat(p, meta.get("crs"), geoms)
            _check_geometries(p, geoms, props)
            for g, pr in zip(geoms, props, strict=True):
                if g is None or g.is_empty:
                    continue
                if len(layers) > 1:
                    pr.setdefault("layer", name)
                feats.append({"type": "Feature", "properties": pr,
                              "geometry": json.loads(json.dumps(mapping(g)))})
                if len(feats) > MAX_FEATURES:
                    raise ContextLayerError(f"more than {MAX_FEATURES} features", p)
    if not feats:
        raise ContextLayerError("no features with a geometry in this file", p)
    digest, _ = sha256_file(p, error=ContextLayerError)
    meta_out = LayerMeta(
        source=" ".join((source or description or f"file {p.name}").split()),
        licence=" ".join((licence or "not stated").split()), as_of=when.text,
        class_attribute=class_attribute, file_name=p.name, sha256=digest,
        crs=", ".join(sorted(set(crs_seen))))
    return {"type": "FeatureCollection", "features": feats,
            "workbench_layer": meta_out.to_json()}, digest


def layer_meta(fc: dict[str, Any]) -> LayerMeta:
    """The :class:`LayerMeta` stored with a layer (defaults for layers stored before it)."""
    return LayerMeta.from_json(fc.get("workbench_layer") if isinstance(fc, dict) else None)
