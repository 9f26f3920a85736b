"""KML export via simplekml: candidate placemarks, frame footprints, target, claim.

Opens in Google Earth.  All user text (notes, file names, claim) is XML-escaped by
us (simplekml's own parsing is off: it passes ``<![CDATA[`` through unescaped), after
control characters XML 1.0 cannot hold are made visible (``workbench.textsafe.visible_controls``);
non-finite or malformed positions are left out rather than written as ``nan``;
descriptions are HTML inside a CDATA section whose content is escaped, so a
``]]>`` in a note cannot end it.  simplekml numbers ids from a process-wide
counter, so ids are renumbered in order of appearance for byte-identical output.
"""

from __future__ import annotations

import math
import re
from html import escape
from typing import Any

import simplekml

from workbench.geo import format_metres, format_uncertainty
from workbench.report.model import ReportData, confidence_words
from workbench.textsafe import visible_controls

_STATUS_COLOUR = {"confirmed": "ff00c000", "rejected": "ff0000ff", "undecided": "ff00ffff"}


def _t(text: object) -> str:
    """Escape for an XML text node (control characters, which XML 1.0 forbids, and bidi
    overrides shown as ``[U+XXXX]``)."""
    return escape(visible_controls(str(text)), quote=False)


def _desc(rows: list[tuple[str, object]]) -> str:
    body = "".join(f"<tr><th align='left'>{_t(k)}</th><td>{_t(v)}</td></tr>"
                   for k, v in rows)
    html = f"<table>{body}</table>".replace("]]>", "]]&gt;")  # cannot occur: '>' escaped
    return f"<![CDATA[{html}]]>"


def _lonlat(p: Any) -> tuple[float, float] | None:
    """A finite ``(lon, lat)`` from untrusted case content, else ``None``."""
    try:
        lon, lat = float(p[0]), float(p[1])
    except (TypeError, ValueError, IndexError, KeyError):
        return None
    if not (math.isfinite(lon) and math.isfinite(lat)) or abs(lat) > 90:
        return None
    return lon, lat


def _ring(ring: Any) -> list[tuple[float, float]] | None:
    """A ring of finite points (at least 4), else ``None``."""
    if not isinstance(ring, list | tuple):
        return None
    pts = [_lonlat(p) for p in ring]
    if len(pts) < 4 or any(p is None for p in pts):
        return None
    return [p for p in pts if p is not None]


def _renumber_ids(text: str) -> str:
    mapping: dict[str, str] = {}

    def new_id(old: str) -> str:
        if old not in mapping:
            mapping[old] = f"wb{len(mapping) + 1}"
        return mapping[old]

    text = re.sub(r'id="(\d+)"', lambda m: f'id="{new_id(m.group(1))}"', text)
    return re.sub(r"<styleUrl>#(\d+)</styleUrl>",
                  lambda m: f"<styleUrl>#{new_id(m.group(1))}</styleUrl>", text)


def build_kml(data: ReportData) -> str:
    """The KML document text for a report."""
    kml = simplekml.Kml()
    kml.parsetext(parse=False)
    kml.document.name = _t(f"Workbench case {data.case_name}")
    kml.document.description = _desc([("verdict", data.headline),
                                      ("footage", data.footage.name),
                                      ("footage SHA-256", data.footage.video.sha256)])
    cands = kml.newfolder(name="Candidate locations")
    foots = kml.newfolder(name="Frame footprints")
    kf = {k.id: k for k, _ in data.keyframes}
    for c, d in data.candidates:
        status = d.status if d else "undecided"
        status = status if status in _STATUS_COLOUR else "undecided"
        ref = kf.get(c.keyframe_id)
        if (ll := _lonlat((c.lon, c.lat))) is None:
            continue  # no position to place (malformed case content)
        p = cands.newpoint(name=_t(f"#{c.rank} {status}"), coords=[ll])
        rows: list[tuple[str, Any]] = [
            ("status", status), ("confidence", f"{c.confidence:.2f} "
                                               f"({confidence_words(c.confidence)})"),
            # same wording as HTML/PDF: "±0 m" for 0.3 m, "±nan m" for none would mislead
            ("uncertainty", format_uncertainty(c.uncertainty_m)),
            ("lat, lon", f"{c.lat:.6f}, {c.lon:.6f}"),
            ("keyframe", f"{c.keyframe_id} at {ref.time_s:.3f} s" if ref else c.keyframe_id),
            ("keyframe SHA-256", ref.sha256 if ref else "n/a"), ("imagery", c.tile)]
        if d:
            rows += [("decision", f"{d.status} by {d.user} at {d.time}"), ("note", d.note)]
        p.description = _desc(rows)
        p.style.iconstyle.color = _STATUS_COLOUR[status]
        p.style.iconstyle.icon.href = "http://maps.google.com/mapfiles/kml/paddle/wht-circle.png"
        if (ring := _ring(c.footprint)) is not None:
            poly = foots.newpolygon(name=_t(f"#{c.rank} frame footprint ({c.keyframe_id})"),
                                    outerboundaryis=ring)
            poly.style.linestyle.color = _STATUS_COLOUR[status]
            poly.style.linestyle.width = 2
            poly.style.polystyle.color = "3300ffff"
        tll = _lonlat((c.target.get("lon"), c.target.get("lat"))) \
            if isinstance(c.target, dict) else None
        if tll is not None and c.target:
            t = cands.newpoint(name=_t(f"#{c.rank} target"), coords=[tll])
            t.description = _desc([("keyframe pixel", f"{c.target.get('x')}, "
                                                      f"{c.target.get('y')}")])
    for poi in data.points:
        if (pll := _lonlat((poi.lon, poi.lat))) is None:
            continue
        pp = cands.newpoint(name=_t(poi.label), coords=[pll])
        pp.description = _desc([("candidate", poi.rank), ("keyframe", poi.keyframe_id),
                                ("pixel", f"{poi.x:.1f}, {poi.y:.1f}"),
                                ("recorded", f"{poi.user} at {poi.time}")])
    if data.claim is not None:
        folder = kml.newfolder(name="Claim")
        rows2: list[tuple[str, Any]] = [("claim", data.claim.text)]
        if data.claim.claimed_time:
            rows2.append(("claimed time", data.claim.claimed_time))
        if data.claim.category:
            rows2.append(("category", data.claim.category))
        cr = data.claim_report
        for rep in cr.check.layers if cr is not None and cr.check is not None else []:
            rows2.append((f"layer {rep.name}", f"as of {rep.meta.as_of_date().label()}"
                          + (f"; {rep.date_flag}" if rep.date_flag else "")))
        if data.primary and data.primary.claim_check:
            rows2.append(("distance to geolocation",
                          format_metres(data.primary.claim_check.distance_m)))
        cll = _lonlat(data.claim.lonlat) if data.claim.lonlat else None
        if cll is not None:
            cp = folder.newpoint(name=_t("Claimed location"), coords=[cll])
            cp.description = _desc(rows2)
            cp.style.iconstyle.color = "ffff00ff"
        area = data.claim.area_geojson
        if isinstance(area, dict) and area.get("type") == "Feature":
            area = area.get("geometry")
        if isinstance(area, dict) and area.get("type") in ("Polygon", "MultiPolygon"):
            coords = area.get("coordinates")
            polys = [coords] if area["type"] == "Polygon" else coords
            for rings in polys if isinstance(polys, list) else []:
                parts = [_ring(r) for r in rings] if isinstance(rings, list) and rings else [None]
                if any(r is None for r in parts):
                    continue  # malformed or non-finite ring: not drawn
                ap = folder.newpolygon(name=_t("Claimed area"),
                                       outerboundaryis=parts[0],
                                       innerboundaryis=parts[1:])
                ap.description = _desc(rows2)
                ap.style.polystyle.color = "33ff00ff"
    return _renumber_ids(kml.kml())


def kml_bytes(data: ReportData) -> bytes:
    """UTF-8 KML bytes."""
    return build_kml(data).encode("utf-8")
