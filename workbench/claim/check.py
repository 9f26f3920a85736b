"""Relate a geolocated point to the claim and the context layers.

For the point (WGS84 lon/lat): the geodesic distance and bearing to the claimed point,
the distance to the claimed area, the context polygons containing it, the nearest feature
of each layer and — for the layer's class attribute (e.g. ``controller``) — the nearest
feature of each class, with distance, bearing and compass words; the claim's category
("Islamic State target") against the class at and near the point; and each layer's
as-of date against the event date.  Distances: pyproj.Geod on WGS84.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import numpy as np
import shapely
from shapely.geometry import Point, shape
from shapely.geometry.base import BaseGeometry

from workbench.claim.geodesy import inverse, inverse_many, nearest_on
from workbench.claim.layers import layer_meta
from workbench.claim.model import (
    CategoryCheck,
    ClaimCheck,
    LayerHit,
    LayerReport,
    NearestFeature,
)

DEFAULT_CLASS_ATTRIBUTE = "controller"
#: A point feature this close to the geolocated point describes the point itself.
AT_POINT_M = 3000.0
#: Names under which one party is commonly written; a class or category naming any of a
#: group's names names the group.  Matching is on whole words, case-insensitive.
ALIASES: tuple[tuple[str, ...], ...] = (
    ("islamic state", "isis", "isil", "daesh", "da'esh"),
    ("jabhat al-nusra", "al-nusra", "nusra", "hts", "hayat tahrir al-sham", "tahrir al-sham"),
    ("syrian government", "government", "regime", "saa", "syrian arab army", "assad"),
    ("rebels", "rebel", "opposition", "fsa", "free syrian army"),
    ("sdf", "syrian democratic forces", "ypg", "kurdish forces"),
)


def _feature_name(props: dict[str, Any], index: int) -> str:
    for key in ("name", "Name", "NAME", "shapeName", "title", "label", "id"):
        if props.get(key) not in (None, ""):
            return str(props[key])
    return f"feature {index + 1}"


def _groups(text: str) -> set[int]:
    """Indices of the :data:`ALIASES` groups a text names (whole words)."""
    low = " " + re.sub(r"[^a-z0-9'\-]+", " ", text.lower()) + " "
    found = {i for i, names in enumerate(ALIASES) if any(f" {n} " in low for n in names)}
    if re.search(r"\bIS\b", text):  # "IS" only in capitals: "is" is an English word
        found.add(0)
    return found


def class_matches(category: str, value: str) -> bool:
    """Whether a layer class (``"Islamic State"``) names the party of a claim category
    (``"Islamic State target"``).  Mixed classes ("rebels + Jabhat al-Nusra/HTS") match
    each party they name."""
    if value.strip() and value.strip().lower() in category.lower():
        return True
    return bool(_groups(category) & _groups(value.replace("/", " ").replace("+", " ")))


def _features(fc: dict[str, Any]) -> list[tuple[BaseGeometry, dict[str, Any], str]]:
    out = []
    for i, f in enumerate(fc.get("features") or []):
        try:
            g = shape(f["geometry"])
        except (KeyError, TypeError, ValueError, AttributeError, IndexError,
                shapely.errors.ShapelyError):
            continue
        if g.is_empty:
            continue
        props = f.get("properties") if isinstance(f.get("properties"), dict) else {}
        out.append((g, dict(props), _feature_name(props, i)))
    return out


def _layer_report(name: str, fc: dict[str, Any], lon: float, lat: float,
                  attribute: str | None, event: date | None
                  ) -> tuple[LayerReport, list[LayerHit], list[NearestFeature]]:
    meta = layer_meta(fc)
    feats = _features(fc)
    pt = Point(lon, lat)
    hits: list[LayerHit] = []
    near: list[NearestFeature] = []
    attr = attribute or meta.class_attribute
    if attr is None and any(DEFAULT_CLASS_ATTRIBUTE in p for _, p, _ in feats):
        attr = DEFAULT_CLASS_ATTRIBUTE
    # single points (the bulk of control layers) measured in one vectorised call
    single = [i for i, (g, _, _) in enumerate(feats) if g.geom_type == "Point"]
    xy = np.array([(feats[i][0].x, feats[i][0].y) for i in single], dtype=np.float64)
    dists, azs = inverse_many(lon, lat, xy[:, 0], xy[:, 1]) if single else (xy, xy)
    point_at = {i: k for k, i in enumerate(single)}
    for i, (g, props, fname) in enumerate(feats):
        if g.geom_type in ("Polygon", "MultiPolygon") and g.covers(pt):
            hits.append(LayerHit(name, fname, props))
        if i in point_at:
            k = point_at[i]
            d = float(dists[k])
            az = float(azs[k]) if d > 0 else None
            nlon, nlat = float(xy[k, 0]), float(xy[k, 1])
        else:
            d, az, (nlon, nlat) = nearest_on(g, lon, lat)
        value = props.get(attr) if attr else None
        near.append(NearestFeature(name, fname, d, az, nlon, nlat,
                                   None if value in (None, "") else str(value), props))
    nearest = min(near, key=lambda n: n.distance_m) if near else None
    by_class: dict[str, NearestFeature] = {}
    for n in near:
        if n.class_value is not None and (n.class_value not in by_class
                                          or n.distance_m < by_class[n.class_value].distance_m):
            by_class[n.class_value] = n
    report = LayerReport(name, meta, meta.as_of_date().flag(event), nearest,
                         attr if by_class else None,
                         sorted(by_class.values(), key=lambda n: n.distance_m))
    return report, hits, near


def _category(category: str, rep: LayerReport, near: list[NearestFeature]) -> CategoryCheck:
    classes = [n.class_value for n in rep.nearest_by_class if n.class_value]
    matching = [c for c in classes if class_matches(category, c)]
    with_class = [n for n in near if n.class_value is not None]
    inside = [n for n in with_class if n.distance_m < 0.5]
    at_point = min(inside or with_class, key=lambda n: n.distance_m) if with_class else None
    if at_point is not None and at_point.distance_m > AT_POINT_M:
        at_point = None
    nearest_matching = next((n for n in rep.nearest_by_class if n.class_value in matching),
                            None)
    if at_point is not None and at_point.class_value in matching:
        verdict = "consistent: the layer marks the claimed party at the point"
    elif at_point is not None:
        verdict = "not supported: the layer marks another party at the point"
    elif not matching:
        verdict = "no class of the layer names the claimed party"
    else:
        verdict = "no data at the point"
    return CategoryCheck(category, rep.name, rep.meta.as_of_date().label(), rep.date_flag,
                         rep.class_attribute or "", at_point, matching, nearest_matching,
                         verdict)


def check_claim(lon: float, lat: float, claim_lonlat: tuple[float, float] | None = None,
                claim_area: dict[str, Any] | None = None,
                layers: list[tuple[str, dict[str, Any]]] | None = None, *,
                category: str | None = None, event_date: date | None = None,
                class_attribute: str | None = None) -> ClaimCheck:
    """Relate the geolocated point ``(lon, lat)`` (WGS84) to the claim and context layers.

    ``layers`` is ``[(name, FeatureCollection), ...]`` as stored in the case (with its
    ``workbench_layer`` metadata when present).  ``class_attribute`` overrides each
    layer's own (default ``controller`` when its features carry it).  ``category`` is
    the claim's category, compared with each layer that has classes.
    """
    dist = bearing = None
    if claim_lonlat:
        dist, bearing = inverse(lon, lat, float(claim_lonlat[0]), float(claim_lonlat[1]))
    inside = area_d = None
    if claim_area:
        geom = shape(claim_area)
        area_d, _, _ = nearest_on(geom, lon, lat)
        inside = area_d == 0.0
    hits: list[LayerHit] = []
    names: list[str] = []
    reports: list[LayerReport] = []
    cats: list[CategoryCheck] = []
    for name, fc in layers or []:
        names.append(name)
        rep, lhits, near = _layer_report(name, fc, lon, lat, class_attribute, event_date)
        hits.extend(lhits)
        reports.append(rep)
        if category and rep.class_attribute:
            cats.append(_category(category, rep, near))
    return ClaimCheck(lon, lat, dist, inside, area_d, hits, names, bearing, reports, cats,
                      event_date)


