"""GeoJSON export (RFC 7946): WGS84 lon/lat, right-hand-rule polygons, reproducible bytes.

Features: every candidate (Point, with decision, confidence, uncertainty, keyframe
time and the hashes of footage, keyframe and raster), each candidate's frame
footprint (Polygon), the target / points of interest, and the claim (point/area).
Keys are sorted and floats rounded (coordinates to 1e-7 degrees, ~1 cm), so the
same case always gives the same bytes.
"""

from __future__ import annotations

import json
import math
from typing import Any

import shapely
from shapely.geometry import MultiPolygon, Polygon, mapping
from shapely.geometry.polygon import orient

from workbench.report.model import ReportData, confidence_words

COORD_DIGITS = 7
VALUE_DIGITS = 6


def _round(obj: Any, digits: int = VALUE_DIGITS) -> Any:
    if isinstance(obj, float):
        return round(obj, digits) if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): _round(v, digits) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_round(v, digits) for v in obj]
    return obj


def _lonlat(p: Any) -> tuple[float, float] | None:
    """A finite WGS84 ``(lon, lat)`` from untrusted case content, else ``None``."""
    try:
        lon, lat = float(p[0]), float(p[1])
    except (TypeError, ValueError, IndexError, KeyError):
        return None
    if not (math.isfinite(lon) and math.isfinite(lat)) or abs(lat) > 90 or abs(lon) > 540:
        return None
    return lon, lat


def _geom_point(lon: Any, lat: Any) -> dict[str, Any] | None:
    """A Point, or ``None`` (a null geometry, RFC 7946 s3.2) for a non-finite position."""
    ll = _lonlat((lon, lat))
    if ll is None:
        return None
    return {"type": "Point", "coordinates": _round(list(ll), COORD_DIGITS)}


def _polygon(rings: Any) -> Polygon | None:
    """A valid shapely polygon from ``[exterior, *holes]`` of untrusted content, or None."""
    if not isinstance(rings, list | tuple) or not rings:
        return None
    parts: list[list[tuple[float, float]]] = []
    for ring in rings:
        if not isinstance(ring, list | tuple):
            return None
        pts = [_lonlat(p) for p in ring]
        if len(pts) < 4 or any(p is None for p in pts):
            return None
        parts.append([p for p in pts if p is not None])
    try:
        poly = Polygon(parts[0], parts[1:])
    except (ValueError, TypeError, shapely.errors.ShapelyError):
        return None
    if poly.is_empty or not poly.is_valid or poly.area <= 0:
        return None
    return poly


def _geom_ring(ring: Any) -> dict[str, Any] | None:
    poly = _polygon([ring])
    if poly is None:
        return None
    return _geom_rfc7946(poly)


def _geom_rfc7946(geom: Any) -> dict[str, Any]:
    """GeoJSON of a shapely (multi)polygon with RFC 7946 s3.1.6 winding: exteriors
    counter-clockwise, holes clockwise."""
    if isinstance(geom, MultiPolygon):
        geom = MultiPolygon([orient(g, sign=1.0) for g in geom.geoms])
    else:
        geom = orient(geom, sign=1.0)
    doc = json.loads(json.dumps(mapping(geom)))
    return {"type": doc["type"], "coordinates": _round(doc["coordinates"], COORD_DIGITS)}


def _geom_area(area: Any) -> dict[str, Any] | None:
    """The claimed area (Polygon/MultiPolygon geometry or Feature) with RFC 7946 winding,
    or ``None`` when it is not a valid polygon (malformed or non-finite content)."""
    if isinstance(area, dict) and area.get("type") == "Feature":
        area = area.get("geometry")
    if not isinstance(area, dict):
        return None
    coords = area.get("coordinates")
    if area.get("type") == "Polygon":
        poly = _polygon(coords)
        return None if poly is None else _geom_rfc7946(poly)
    if area.get("type") == "MultiPolygon" and isinstance(coords, list) and coords:
        polys = [_polygon(c) for c in coords]
        if any(p is None for p in polys):
            return None
        return _geom_rfc7946(MultiPolygon([p for p in polys if p is not None]))
    return None


def _plain(obj: Any, depth: int = 0) -> Any:
    """JSON-ready copy of untrusted property values: bytes decoded (invalid UTF-8
    replaced), unknown types as text, nesting cut at 32 levels."""
    if depth > 32:
        return "(nested too deep)"
    if isinstance(obj, bytes):
        return obj.decode("utf-8", "replace")
    if isinstance(obj, dict):
        return {str(k): _plain(v, depth + 1) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(v, depth + 1) for v in obj]
    if obj is None or isinstance(obj, bool | int | float | str):
        return obj
    return str(obj)


def build_geojson(data: ReportData) -> dict[str, Any]:
    """The FeatureCollection for a report (JSON-ready, deterministic)."""
    feats: list[dict[str, Any]] = []
    kf = {k.id: k for k, _ in data.keyframes}
    footage = {"footage_file": data.footage.name, "footage_sha256": data.footage.video.sha256}
    for c, d in data.candidates:
        ref = kf.get(c.keyframe_id)
        raster = next((r for r, _ in data.rasters if c.tile in (r.ref_path, r.path)), None)
        props = {
            "kind": "candidate", "rank": c.rank,
            "status": d.status if d else "undecided",
            "decision_note": d.note if d else None, "decided_by": d.user if d else None,
            "decided_at": d.time if d else None,
            "confidence": c.confidence, "confidence_words": confidence_words(c.confidence),
            "uncertainty_m": c.uncertainty_m, "inliers": c.inliers,
            "keyframe_id": c.keyframe_id, "keyframe_time_s": ref.time_s if ref else None,
            "keyframe_frame_index": ref.frame_index if ref else None,
            "keyframe_sha256": ref.sha256 if ref else None,
            "raster_file": raster.path if raster else c.tile,
            "raster_sha256": raster.sha256 if raster else None,
            "imagery_date": raster.acquired if raster else None,
            "imagery_attribution": raster.attribution if raster else None,
            "verdict": data.verdict, **footage,
        }
        feats.append({"type": "Feature", "geometry": _geom_point(c.lon, c.lat),
                      "properties": props})
        ring = _geom_ring(c.footprint)
        if ring is not None:
            feats.append({"type": "Feature", "geometry": ring, "properties": {
                "kind": "frame_footprint", "rank": c.rank, "keyframe_id": c.keyframe_id,
                "status": props["status"]}})
        if c.target and {"lon", "lat"} <= set(c.target):
            feats.append({"type": "Feature",
                          "geometry": _geom_point(c.target["lon"], c.target["lat"]),
                          "properties": {"kind": "target", "rank": c.rank,
                                         "keyframe_id": c.keyframe_id,
                                         "keyframe_x": c.target.get("x"),
                                         "keyframe_y": c.target.get("y"),
                                         "status": props["status"]}})
    for p in data.points:
        feats.append({"type": "Feature", "geometry": _geom_point(p.lon, p.lat), "properties": {
            "kind": "point_of_interest", "label": p.label, "rank": p.rank,
            "keyframe_id": p.keyframe_id, "keyframe_x": p.x, "keyframe_y": p.y,
            "recorded_by": p.user, "recorded_at": p.time}})
    if data.claim is not None:
        cl = data.claim
        extra = {"claimed_time": cl.claimed_time, "category": cl.category}
        if cl.lonlat is not None:
            feats.append({"type": "Feature", "geometry": _geom_point(*cl.lonlat),
                          "properties": {"kind": "claimed_location", "claim": cl.text,
                                         **extra}})
        if cl.area_geojson is not None:
            area = _geom_area(cl.area_geojson)
            feats.append({"type": "Feature", "geometry": area,
                          "properties": {"kind": "claimed_area", "claim": cl.text, **extra,
                                         **({} if area is not None else
                                            {"geometry_note": "not a valid polygon"})}})
    cr = data.claim_report
    if cr is not None and cr.shadow is not None:
        m = cr.shadow.measure
        ends = [_lonlat(m.foot), _lonlat(m.tip)]
        line = None if None in ends else {"type": "LineString",
                                          "coordinates": [list(e) for e in ends if e]}
        feats.append({"type": "Feature", "geometry": line, "properties": {
            "kind": "shadow", "rank": cr.shadow.rank, "keyframe_id": m.keyframe_id,
            "shadow_azimuth_deg": m.shadow_azimuth_deg, "sun_azimuth_deg": m.sun_azimuth_deg,
            "sigma_deg": m.sigma_deg, "length_m": m.length_m,
            "consistent_with_claimed_time": cr.time_check.consistent if cr.time_check
            else None, "recorded_by": cr.shadow.user, "recorded_at": cr.shadow.time}})
    for f in feats:
        f["properties"] = _round(_plain(f["properties"]))
        f["geometry"] = _round(f["geometry"], COORD_DIGITS)
    return {"type": "FeatureCollection", "features": feats,
            "workbench": {"case": data.case_name, "verdict": data.verdict,
                          "footage_sha256": data.footage.video.sha256,
                          "audit_head": data.audit[-1].hash if data.audit else None,
                          "context_layers": _layers(data)}}


def _layers(data: ReportData) -> list[dict[str, Any]]:
    """Each context layer's provenance and its date warning (as in every other output)."""
    cr = data.claim_report
    if cr is None:
        return []
    flags = {rep.name: rep.date_flag for rep in cr.check.layers} if cr.check else {}
    return [{"name": name, "as_of": meta.as_of_date().label(), "source": meta.source,
             "licence": meta.licence, "sha256": meta.sha256, "features": n,
             "date_warning": flags.get(name)} for name, meta, n in cr.layers]


def geojson_bytes(data: ReportData) -> bytes:
    """UTF-8 GeoJSON text: sorted keys, 2-space indent, trailing newline."""
    text = json.dumps(build_geojson(data), sort_keys=True, indent=2, ensure_ascii=False,
                      allow_nan=False)
    return (text + "\n").encode("utf-8")
