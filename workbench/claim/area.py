"""The claimed area: a GeoJSON Polygon/MultiPolygon in WGS84 lon/lat, normalised to one
valid geometry wound as RFC 7946 asks (exterior counter-clockwise)."""

from __future__ import annotations

import json
from typing import Any

import shapely
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry

from workbench.errors import UsageError

_POLY_TYPES = ("Polygon", "MultiPolygon")


def _geometries(obj: Any, depth: int = 0) -> list[BaseGeometry]:
    if depth > 8:
        raise UsageError("GeoJSON nested too deeply")
    if not isinstance(obj, dict):
        raise UsageError("not a GeoJSON object")
    kind = obj.get("type")
    if kind == "FeatureCollection":
        feats = obj.get("features") or []
        if not isinstance(feats, list):
            raise UsageError("GeoJSON 'features' is not a list")
        return [g for f in feats for g in _geometries(f, depth + 1)]
    if kind == "Feature":
        return _geometries(obj["geometry"], depth + 1) if obj.get("geometry") else []
    if kind == "GeometryCollection":
        geoms = obj.get("geometries") or []
        if not isinstance(geoms, list):
            raise UsageError("GeoJSON 'geometries' is not a list")
        return [g for sub in geoms for g in _geometries(sub, depth + 1)]
    try:
        return [shape(obj)]
    except (ValueError, TypeError, AttributeError, KeyError, IndexError,
            shapely.errors.ShapelyError) as exc:
        raise UsageError(f"invalid GeoJSON geometry ({exc})") from exc


def check_lonlat(geom: BaseGeometry, what: str) -> None:
    """``UsageError`` unless every coordinate is finite WGS84 degrees (naming a likely
    latitude/longitude swap)."""
    xy = shapely.get_coordinates(geom)
    if len(xy) and not (abs(xy) < float("inf")).all():
        raise UsageError(f"{what} has non-finite coordinates")
    x0, y0, x1, y1 = geom.bounds
    if not (-90 <= y0 <= y1 <= 90):
        swapped = -90 <= x0 <= x1 <= 90 and -180 <= y0 <= y1 <= 180
        raise UsageError(f"{what} has a latitude outside ±90°"
                         + (" (are longitude and latitude swapped?)" if swapped else
                            " (coordinates are not WGS84 lon/lat degrees)"))
    if not -180 <= x0 <= x1 <= 180:
        raise UsageError(f"{what} coordinates are not WGS84 lon/lat degrees")


def normalise_area(obj: dict[str, Any]) -> dict[str, Any]:
    """A GeoJSON Polygon/MultiPolygon geometry from a geometry, Feature or FeatureCollection.

    Raises ``UsageError`` when there is no valid lon/lat polygon.
    """
    polys = [g for g in _geometries(obj) if g.geom_type in _POLY_TYPES and not g.is_empty]
    if not polys:
        raise UsageError("claimed area must be a GeoJSON Polygon or MultiPolygon")
    geom = shapely.union_all(polys) if len(polys) > 1 else polys[0]
    check_lonlat(geom, "claimed area")
    fixed = shapely.orient_polygons(shapely.make_valid(geom)) \
        if hasattr(shapely, "orient_polygons") else shapely.make_valid(geom)
    return dict(json.loads(json.dumps(mapping(fixed))))
