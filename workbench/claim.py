"""Claim check: the claim being tested, context layers, and how the finding relates to them.

Context layers are polygons (e.g. areas of control on a date) read from GeoJSON,
KML or GeoPackage files and kept as a WGS84 GeoJSON ``FeatureCollection`` (lon/lat,
RFC 7946).  :func:`check_claim` measures the great-circle distance from the
geolocated point to the claimed point / area and lists the context polygons that
contain it.  All inputs are untrusted: errors name the file.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import struct
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import Point, mapping, shape
from shapely.geometry.base import BaseGeometry
from shapely.ops import nearest_points

from workbench.errors import ContextLayerError, CRSError, UsageError
from workbench.geo import format_metres, haversine_m, wgs84_transformer
from workbench.hashing import sha256_file

MAX_LAYER_BYTES = 200 * 1024 * 1024
_POLY_TYPES = ("Polygon", "MultiPolygon")


@dataclass(frozen=True)
class LayerHit:
    """A context polygon containing the point: layer name, feature name and properties."""

    layer: str
    feature: str
    properties: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ClaimCheck:
    """How a geolocated point relates to the claim and the context layers.

    ``distance_m``: great-circle metres to the claimed point (``None`` without one).
    ``area_distance_m``: 0 inside the claimed area, else metres to its edge (``None``
    without an area; planar in degrees scaled at the point, adequate below ~100 km).
    ``containing``: context polygons that contain the point.
    """

    lon: float
    lat: float
    distance_m: float | None
    inside_claimed_area: bool | None
    area_distance_m: float | None
    containing: list[LayerHit]
    layers_checked: list[str]

    def summary(self) -> str:
        """One plain sentence for reports."""
        parts = []
        if self.distance_m is not None:
            parts.append(f"{format_metres(self.distance_m)} from the claimed location")
        if self.inside_claimed_area is not None:
            parts.append("inside the claimed area" if self.inside_claimed_area else
                         f"outside the claimed area ({format_metres(self.area_distance_m or 0)} "
                         "from its edge)")
        if self.layers_checked:
            if self.containing:
                parts.append("within " + "; ".join(f"{h.layer}: {h.feature}"
                                                  for h in self.containing))
            else:
                parts.append("in none of the context polygons")
        return ("The geolocated point is " + ", ".join(parts) + ".") if parts else \
            "No claimed location or context layers were recorded."


def normalise_area(obj: dict[str, Any]) -> dict[str, Any]:
    """A GeoJSON Polygon/MultiPolygon geometry from a geometry, Feature or FeatureCollection.

    Raises ``UsageError`` when there is no valid lon/lat polygon.
    """
    geoms = [g for g, _ in _iter_features(obj)]
    polys = [g for g in geoms if g.geom_type in _POLY_TYPES]
    if not polys:
        raise UsageError("claimed area must be a GeoJSON Polygon or MultiPolygon")
    geom = shapely.union_all(polys) if len(polys) > 1 else polys[0]
    _check_lonlat(geom, "claimed area")
    return dict(json.loads(json.dumps(mapping(shapely.make_valid(geom)))))


def _check_lonlat(geom: BaseGeometry, what: str) -> None:
    x0, y0, x1, y1 = geom.bounds
    if not (-180 <= x0 <= x1 <= 180 and -90 <= y0 <= y1 <= 90):
        raise UsageError(f"{what} coordinates are not WGS84 lon/lat degrees")


def _iter_features(obj: Any) -> list[tuple[BaseGeometry, dict[str, Any]]]:
    if not isinstance(obj, dict):
        raise UsageError("not a GeoJSON object")
    kind = obj.get("type")
    if kind == "FeatureCollection":
        out = []
        for f in obj.get("features") or []:
            out.extend(_iter_features(f))
        return out
    if kind == "Feature":
        if not obj.get("geometry"):
            return []
        props = obj.get("properties") or {}
        return [(g, dict(props)) for g, _ in _iter_features(obj["geometry"])]
    if kind == "GeometryCollection":
        out = []
        for g in obj.get("geometries") or []:
            out.extend(_iter_features(g))
        return out
    try:
        return [(shape(obj), {})]
    except (ValueError, TypeError, AttributeError, shapely.errors.ShapelyError) as exc:
        raise UsageError(f"invalid GeoJSON geometry ({exc})") from exc


def _collection(items: list[tuple[BaseGeometry, dict[str, Any]]]) -> dict[str, Any]:
    feats = []
    for geom, props in items:
        if geom.geom_type not in _POLY_TYPES or geom.is_empty:
            continue
        feats.append({"type": "Feature", "properties": {str(k): v for k, v in props.items()},
                      "geometry": json.loads(json.dumps(mapping(geom)))})
    return {"type": "FeatureCollection", "features": feats}


def _read_geojson(path: Path) -> list[tuple[BaseGeometry, dict[str, Any]]]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ContextLayerError(f"not valid GeoJSON ({exc})", path) from exc
    try:
        return _iter_features(doc)
    except UsageError as exc:
        raise ContextLayerError(exc.message, path) from exc


def _kml_coords(text: str | None) -> list[tuple[float, float]]:
    pts = []
    for tok in (text or "").split():
        parts = tok.split(",")
        if len(parts) >= 2:
            pts.append((float(parts[0]), float(parts[1])))
    return pts


def _read_kml(path: Path) -> list[tuple[BaseGeometry, dict[str, Any]]]:
    """Polygons of a KML file (expat does not fetch external entities)."""
    from shapely.geometry import Polygon

    try:
        # stdlib expat: no external entities fetched, entity expansion limited
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError) as exc:
        raise ContextLayerError(f"not valid KML ({exc})", path) from exc
    out: list[tuple[BaseGeometry, dict[str, Any]]] = []

    def local(tag: str) -> str:
        return tag.rsplit("}", 1)[-1]

    for pm in root.iter():
        if local(pm.tag) != "Placemark":
            continue
        props: dict[str, Any] = {}
        for child in pm:
            if local(child.tag) in ("name", "description") and child.text:
                props[local(child.tag)] = child.text.strip()
            if local(child.tag) == "ExtendedData":
                for d in child.iter():
                    if local(d.tag) == "Data" and d.get("name"):
                        val = next((v.text for v in d if local(v.tag) == "value"), None)
                        props[str(d.get("name"))] = val
        for poly in (e for e in pm.iter() if local(e.tag) == "Polygon"):
            try:
                outer = next(e for e in poly.iter() if local(e.tag) == "outerBoundaryIs")
                shell = _kml_coords(next(e for e in outer.iter()
                                         if local(e.tag) == "coordinates").text)
                holes = [_kml_coords(next(c for c in ib.iter()
                                          if local(c.tag) == "coordinates").text)
                         for ib in poly.iter() if local(ib.tag) == "innerBoundaryIs"]
                out.append((Polygon(shell, holes), dict(props)))
            except (StopIteration, ValueError) as exc:
                raise ContextLayerError(f"malformed KML polygon ({exc})", path) from exc
    return out


def _gpkg_geometry(blob: bytes) -> BaseGeometry | None:
    """Decode a GeoPackage geometry blob (``GP`` header + envelope + WKB)."""
    if len(blob) < 8 or blob[:2] != b"GP":
        raise ValueError("not a GeoPackage geometry")
    flags = blob[3]
    if flags & 0x10:  # empty geometry
        return None
    env = (0, 32, 48, 48, 64)[(flags >> 1) & 0x07] if ((flags >> 1) & 0x07) < 5 else None
    if env is None:
        raise ValueError("bad envelope code")
    return shapely.from_wkb(blob[8 + env:])


def _read_gpkg(path: Path) -> list[tuple[BaseGeometry, dict[str, Any]]]:
    uri = f"{path.resolve().as_uri()}?mode=ro"
    out: list[tuple[BaseGeometry, dict[str, Any]]] = []
    try:
        conn = sqlite3.connect(uri, uri=True)
        try:
            layers = conn.execute(
                "SELECT g.table_name, g.column_name, s.organization, "
                "s.organization_coordsys_id, s.definition FROM gpkg_geometry_columns g "
                "JOIN gpkg_spatial_ref_sys s ON s.srs_id = g.srs_id").fetchall()
            for table, column, org, code, definition in layers:
                src = f"{org}:{code}" if org and code and code > 0 else str(definition)
                try:  # the project's one CRS -> lon/lat (workbench.geo)
                    tr = wgs84_transformer(src, False)
                except CRSError as exc:
                    raise ContextLayerError(f"unknown CRS in layer {table} ({exc.message})",
                                            path) from exc
                qt = '"' + str(table).replace('"', '""') + '"'
                cur = conn.execute(f"SELECT * FROM {qt}")  # identifier quoted above
                names = [d[0] for d in cur.description]
                for row in cur:
                    rec = dict(zip(names, row, strict=True))
                    blob = rec.pop(column, None)
                    if not isinstance(blob, bytes | bytearray | memoryview):
                        continue
                    geom = _gpkg_geometry(bytes(blob))
                    if geom is None:
                        continue
                    geom = shapely.transform(geom, tr.transform, interleaved=False)
                    props = {k: v for k, v in rec.items()
                             if isinstance(v, str | int | float) or v is None}
                    props.setdefault("layer", str(table))
                    out.append((geom, props))
        finally:
            conn.close()
    except (sqlite3.Error, ValueError, struct.error, shapely.errors.ShapelyError) as exc:
        raise ContextLayerError(f"not a readable GeoPackage ({exc})", path) from exc
    return out


def read_context_layer(path: str | os.PathLike[str]) -> tuple[dict[str, Any], str]:
    """Read polygons from a ``.geojson``/``.json``, ``.kml`` or ``.gpkg`` file.

    Returns ``(FeatureCollection in WGS84 lon/lat, sha256 of the file)``.
    Raises ``ContextLayerError`` naming the file (missing, unknown type, malformed,
    no polygons, not lon/lat).
    """
    p = Path(path)
    if not p.is_file():
        raise ContextLayerError("context layer file not found", p)
    if p.stat().st_size > MAX_LAYER_BYTES:
        raise ContextLayerError("context layer file is too large (> 200 MB)", p)
    ext = p.suffix.lower()
    if ext in (".geojson", ".json"):
        items = _read_geojson(p)
    elif ext == ".kml":
        items = _read_kml(p)
    elif ext == ".gpkg":
        items = _read_gpkg(p)
    else:
        raise ContextLayerError("unknown context layer type (use .geojson, .kml or .gpkg)", p)
    fc = _collection(items)
    if not fc["features"]:
        raise ContextLayerError("no polygons in this file", p)
    for f in fc["features"]:
        try:
            _check_lonlat(shape(f["geometry"]), "context layer")
        except UsageError as exc:
            raise ContextLayerError(exc.message, p) from exc
    digest, _ = sha256_file(p)
    return fc, digest


def _feature_name(props: dict[str, Any], index: int) -> str:
    for key in ("name", "Name", "NAME", "title", "label", "id"):
        if props.get(key) not in (None, ""):
            return str(props[key])
    return f"feature {index + 1}"


def check_claim(lon: float, lat: float, claim_lonlat: tuple[float, float] | None = None,
                claim_area: dict[str, Any] | None = None,
                layers: list[tuple[str, dict[str, Any]]] | None = None) -> ClaimCheck:
    """Relate the geolocated point ``(lon, lat)`` (WGS84) to the claim and context layers.

    ``layers`` is ``[(name, FeatureCollection), ...]`` as stored in the case.
    """
    pt = Point(lon, lat)
    dist = haversine_m(lon, lat, *claim_lonlat) if claim_lonlat else None
    inside = area_d = None
    if claim_area:
        geom = shape(claim_area)
        inside = bool(geom.covers(pt))
        if inside:
            area_d = 0.0
        else:
            near = nearest_points(geom.boundary, pt)[0]
            area_d = haversine_m(lon, lat, near.x, near.y)
    hits: list[LayerHit] = []
    names = []
    for name, fc in layers or []:
        names.append(name)
        for i, f in enumerate(fc.get("features", [])):
            try:
                g = shape(f["geometry"])
            except (KeyError, ValueError, TypeError, AttributeError):
                continue
            if g.covers(pt):
                props = dict(f.get("properties") or {})
                hits.append(LayerHit(name, _feature_name(props, i), props))
    return ClaimCheck(lon, lat, dist, inside, area_d if math.isfinite(area_d or 0) else None,
                      hits, names)
