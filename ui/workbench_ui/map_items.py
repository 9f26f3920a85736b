"""What the overview map shows, and the graphics items that draw it.

Scene coordinates of the map are metres in a local azimuthal-equidistant frame centred
on the case (:func:`workbench.claim.geodesy.aeqd`, pyproj): ``x`` east, ``y`` **south**
(Qt's y axis points down), so north is up at the centre and distances and bearings
from the centre are true.  :class:`MapProjection` is the only place lon/lat become
scene coordinates; the maths is the core's, this module only flips ``y`` for display.

:class:`MapContent` is the Qt-free description of one map (built from the session by
:mod:`workbench_ui.map_dock`); :func:`build_items` turns it into graphics items.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PyQt6.QtCore import QPointF, QRectF, Qt
from PyQt6.QtGui import QBrush, QColor, QFont, QPainterPath, QPen, QPixmap, QPolygonF, QTransform
from PyQt6.QtWidgets import (
    QGraphicsEllipseItem,
    QGraphicsItem,
    QGraphicsItemGroup,
    QGraphicsPathItem,
    QGraphicsPixmapItem,
    QGraphicsPolygonItem,
    QGraphicsSimpleTextItem,
)

from workbench.claim.geodesy import aeqd
from workbench.imagery.preview import FootprintPreview
from workbench_ui.images import bgr_to_qimage

RANK_ROLE = 0  # QGraphicsItem.data(RANK_ROLE): the candidate rank of a marker
FOOTPRINT = QColor(255, 140, 0)
CANDIDATE = QColor(0, 200, 255)
SELECTED = QColor(255, 230, 0)
CONFIRMED = QColor(40, 200, 80)
REJECTED = QColor(150, 150, 150)
CLAIMED = QColor(230, 40, 60)
POI = QColor(255, 80, 220)
RULER = QColor(255, 255, 255)
PALETTE = (QColor(31, 119, 180), QColor(44, 160, 44), QColor(148, 103, 189),
           QColor(140, 86, 75), QColor(188, 189, 34), QColor(23, 190, 207),
           QColor(227, 119, 194), QColor(127, 127, 127))  # no red: red is the claim
MAX_CLASSES = 12


class MapProjection:
    """WGS84 lon/lat <-> map scene metres (x east, y south) around ``(lon0, lat0)``."""

    def __init__(self, lon0: float, lat0: float) -> None:
        self.lon0, self.lat0 = float(lon0), float(lat0)
        self._fwd, self._back = aeqd(self.lon0, self.lat0)

    def to_scene(self, lonlat: np.ndarray | Sequence[Sequence[float]]) -> np.ndarray:
        """``(N, 2)`` lon/lat -> ``(N, 2)`` float64 scene metres (non-finite where undefined)."""
        pts = np.asarray(lonlat, np.float64).reshape(-1, 2)
        x, y = self._fwd.transform(pts[:, 0], pts[:, 1], errcheck=False)
        return np.column_stack([np.asarray(x, float), -np.asarray(y, float)])

    def point(self, lon: float, lat: float) -> QPointF:
        x, y = self.to_scene([[lon, lat]])[0]
        return QPointF(float(x), float(y))

    def to_lonlat(self, x: float, y: float) -> tuple[float, float]:
        lon, lat = self._back.transform(float(x), -float(y), errcheck=False)
        return float(lon), float(lat)


@dataclass(frozen=True)
class MapCandidate:
    rank: int
    lon: float
    lat: float
    uncertainty_m: float | None
    decision: str = ""  # "confirmed" | "rejected" | ""
    tile: str = ""  # the raster it matched on


@dataclass(frozen=True)
class MapPoint:
    label: str
    lon: float
    lat: float


@dataclass(frozen=True)
class MapLayer:
    """A context layer: ``geojson`` FeatureCollection in lon/lat, its classes taken from
    property ``class_attribute`` (None: unstyled)."""

    name: str
    geojson: dict[str, Any]
    class_attribute: str | None


@dataclass
class MapContent:
    """Everything drawn on the map (all positions WGS84 lon/lat)."""

    candidates: list[MapCandidate] = field(default_factory=list)
    points: list[MapPoint] = field(default_factory=list)
    claim_point: tuple[float, float] | None = None
    claim_area: dict[str, Any] | None = None
    layers: list[MapLayer] = field(default_factory=list)
    footprints: list[tuple[str, list[list[float]]]] = field(default_factory=list)

    def lonlat(self, *, focus: bool) -> np.ndarray:
        """``(N, 2)`` lon/lat of what is drawn; ``focus``: only the case itself (the
        candidates, points, claim and the rasters the candidates matched on), else
        everything (every footprint).  Without candidates the focus is every footprint."""
        pts: list[Sequence[float]] = [(c.lon, c.lat) for c in self.candidates]
        pts += [(p.lon, p.lat) for p in self.points]
        if self.claim_point:
            pts.append(self.claim_point)
        area = self.claim_area or {}
        coords: Any = area.get("coordinates")
        polys: list[Any] = ([coords] if area.get("type") == "Polygon" else
                            list(coords or []) if area.get("type") == "MultiPolygon" else [])
        with contextlib.suppress(TypeError, IndexError, ValueError):
            for poly in polys:
                pts += [(float(p[0]), float(p[1])) for p in poly[0]]
        used = {c.tile for c in self.candidates}
        for name, ring in self.footprints:
            if not focus or not self.candidates or name in used:
                pts += [(float(p[0]), float(p[1])) for p in ring]
        arr = np.array(pts, float).reshape(-1, 2)
        return arr[np.all(np.isfinite(arr), axis=1)]

    def centre(self) -> tuple[float, float] | None:
        """A lon/lat to centre the projection on (the middle of the focus), or None."""
        arr = self.lonlat(focus=True)
        if not len(arr):
            return None
        lo, hi = arr.min(axis=0), arr.max(axis=0)
        return float((lo[0] + hi[0]) / 2), float((lo[1] + hi[1]) / 2)


def _pen(color: QColor, width: float, style: Qt.PenStyle = Qt.PenStyle.SolidLine) -> QPen:
    pen = QPen(color, width, style)
    pen.setCosmetic(True)
    return pen


def _polygon(proj: MapProjection, ring: Sequence[Sequence[float]] | np.ndarray) -> QPolygonF:
    poly = QPolygonF()
    for x, y in proj.to_scene(np.asarray(ring, float)[:, :2]):
        if math.isfinite(x) and math.isfinite(y):
            poly.append(QPointF(float(x), float(y)))
    return poly


def _label(text: str, color: QColor, bold: bool = True) -> QGraphicsSimpleTextItem:
    item = QGraphicsSimpleTextItem(text)
    font = QFont()
    font.setPointSize(8)
    font.setBold(bold)
    item.setFont(font)
    item.setBrush(QBrush(color))
    item.setPen(QPen(QColor(0, 0, 0), 0.5))
    return item


def boxed_label(text: str, color: QColor | None = None) -> QGraphicsItemGroup:
    """Bold text on a dark translucent box, of constant screen size (place with setPos:
    the box's top-left is there, offset a little)."""
    group = QGraphicsItemGroup()
    lab = _label(text, color or QColor(255, 255, 255))
    font = lab.font()
    font.setPointSize(9)
    lab.setFont(font)
    lab.setPen(QPen(Qt.PenStyle.NoPen))
    br = lab.boundingRect()
    bg = QGraphicsPathItem()
    path = QPainterPath()
    path.addRoundedRect(QRectF(-3, -2, br.width() + 6, br.height() + 4), 3, 3)
    bg.setPath(path)
    bg.setBrush(QBrush(QColor(0, 0, 0, 170)))
    bg.setPen(QPen(Qt.PenStyle.NoPen))
    group.addToGroup(bg)
    group.addToGroup(lab)
    group.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations, True)
    return group


def _screen_marker(shape: str, color: QColor, text: str = "", size: float = 7.0, *,
                   below: bool = False) -> QGraphicsItemGroup:
    """A marker of constant screen size: ``shape`` "disk", "diamond" or "cross"; its
    ``text`` above right (``below``: below right)."""
    group = QGraphicsItemGroup()
    r = size
    path = QPainterPath()
    if shape == "diamond":
        path.addPolygon(QPolygonF([QPointF(0, -r), QPointF(r, 0), QPointF(0, r), QPointF(-r, 0),
                                   QPointF(0, -r)]))
    elif shape == "cross":
        for a, b in (((-r, -r), (r, r)), ((-r, r), (r, -r))):
            path.moveTo(*a)
            path.lineTo(*b)
    else:
        path.addEllipse(QPointF(0, 0), r, r)
    halo = QGraphicsPathItem(path)
    halo.setPen(QPen(QColor(0, 0, 0), 4 if shape == "cross" else 3))
    body = QGraphicsPathItem(path)
    body.setPen(QPen(color, 2.5 if shape == "cross" else 1.5))
    if shape != "cross":
        body.setBrush(QBrush(color))
    group.addToGroup(halo)
    group.addToGroup(body)
    if text:
        lab = _label(text, QColor(255, 255, 255))
        lab.setPos(r + 1, 1 if below else -r - 10)
        group.addToGroup(lab)
    group.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations, True)
    return group


def class_colours(layers: Sequence[MapLayer]) -> dict[str, QColor]:
    """``{class value: colour}`` over all layers' features, in order of appearance."""
    out: dict[str, QColor] = {}
    for layer in layers:
        if not layer.class_attribute:
            continue
        for f in layer.geojson.get("features") or []:
            props = f.get("properties") if isinstance(f, dict) else None
            value = props.get(layer.class_attribute) if isinstance(props, dict) else None
            key = str(value) if value not in (None, "") else "(no class)"
            if key not in out and len(out) < MAX_CLASSES:
                out[key] = PALETTE[len(out) % len(PALETTE)]
    return out


def _layer_items(proj: MapProjection, layer: MapLayer, colours: dict[str, QColor]
                 ) -> list[QGraphicsItem]:
    items: list[QGraphicsItem] = []
    for f in layer.geojson.get("features") or []:
        if not isinstance(f, dict) or not isinstance(f.get("geometry"), dict):
            continue
        geom = f["geometry"]
        raw = f.get("properties")
        props: dict[str, Any] = raw if isinstance(raw, dict) else {}
        value = props.get(layer.class_attribute) if layer.class_attribute else None
        key = str(value) if value not in (None, "") else "(no class)"
        color = colours.get(key, QColor(120, 120, 120)) if layer.class_attribute else \
            QColor(120, 120, 120)
        gtype, coords = geom.get("type"), geom.get("coordinates")
        try:
            if gtype in ("Polygon", "MultiPolygon"):
                polys = [coords] if gtype == "Polygon" else coords
                for poly in polys:
                    path = QPainterPath()
                    for ring in poly:
                        path.addPolygon(_polygon(proj, ring))
                        path.closeSubpath()
                    item = QGraphicsPathItem(path)
                    fill = QColor(color)
                    fill.setAlpha(55)
                    item.setBrush(QBrush(fill))
                    item.setPen(_pen(color, 1.5))
                    items.append(item)
            elif gtype in ("LineString", "MultiLineString"):
                lines = [coords] if gtype == "LineString" else coords
                for line in lines:
                    path = QPainterPath()
                    path.addPolygon(_polygon(proj, line))
                    item = QGraphicsPathItem(path)
                    item.setPen(_pen(color, 2))
                    items.append(item)
            elif gtype in ("Point", "MultiPoint"):
                pts = [coords] if gtype == "Point" else coords
                for p in pts:
                    m = _screen_marker("disk", color, size=5)
                    m.setPos(proj.point(float(p[0]), float(p[1])))
                    m.setToolTip(f"{layer.name}: {key}")
                    items.append(m)
        except (TypeError, ValueError, IndexError):
            continue  # a malformed feature is skipped; the core validated the layer on import
    for it in items:
        it.setZValue(2)
    return items


def preview_item(proj: MapProjection, preview: FootprintPreview) -> QGraphicsPixmapItem | None:
    """The preview image placed on its ground corners (projective map of the 4 corners)."""
    h, w = preview.image.shape[:2]
    alpha = np.where(preview.valid, 255, 0).astype(np.uint8)
    pix = QGraphicsPixmapItem(QPixmap.fromImage(bgr_to_qimage(np.dstack([preview.image, alpha]))))
    dst = _polygon(proj, preview.corners_lonlat)
    if dst.count() != 4:
        return None
    src = QPolygonF([QPointF(0, 0), QPointF(w, 0), QPointF(w, h), QPointF(0, h)])
    tf = QTransform()
    if not QTransform.quadToQuad(src, dst, tf):
        return None
    pix.setTransform(tf)
    pix.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
    pix.setZValue(0)
    pix.setOpacity(0.9)
    return pix


def build_items(proj: MapProjection, content: MapContent, selected: int
                ) -> tuple[list[QGraphicsItem], dict[str, QColor]]:
    """Graphics items for ``content`` (previews excluded) and the legend's class colours."""
    items: list[QGraphicsItem] = []
    colours = class_colours(content.layers)
    for layer in content.layers:
        items += _layer_items(proj, layer, colours)
    for name, ring in content.footprints:
        poly = QGraphicsPolygonItem(_polygon(proj, ring))
        poly.setPen(_pen(FOOTPRINT, 1.5, Qt.PenStyle.DashLine))
        poly.setToolTip(f"imagery: {name}")
        poly.setZValue(1)
        items.append(poly)
    if content.claim_area:
        area = content.claim_area
        polys: list[Any] = ([area.get("coordinates")] if area.get("type") == "Polygon"
                            else list(area.get("coordinates") or []))
        for poly_coords in polys:
            try:
                item = QGraphicsPolygonItem(_polygon(proj, poly_coords[0]))
            except (TypeError, IndexError, ValueError):
                continue
            item.setPen(_pen(CLAIMED, 2, Qt.PenStyle.DashLine))
            item.setToolTip("claimed area")
            item.setZValue(3)
            items.append(item)
    if content.claim_point:
        m = _screen_marker("cross", CLAIMED, "claimed", 7, below=True)
        m.setPos(proj.point(*content.claim_point))
        m.setZValue(6)
        items.append(m)
    for p in content.points:
        m = _screen_marker("diamond", POI, p.label, 5, below=True)
        m.setPos(proj.point(p.lon, p.lat))
        m.setZValue(7)
        items.append(m)
    for c in sorted(content.candidates, key=lambda c: (c.rank == selected, -c.rank)):
        color = {"confirmed": CONFIRMED, "rejected": REJECTED}.get(c.decision, CANDIDATE)
        if c.rank == selected:
            color = SELECTED
        centre = proj.point(c.lon, c.lat)
        if c.uncertainty_m is not None and math.isfinite(c.uncertainty_m) and c.uncertainty_m > 0:
            r = float(c.uncertainty_m)
            circle = QGraphicsEllipseItem(QRectF(centre.x() - r, centre.y() - r, 2 * r, 2 * r))
            circle.setPen(_pen(color, 2 if c.rank == selected else 1.2, Qt.PenStyle.DashLine))
            fill = QColor(color)
            fill.setAlpha(40)
            circle.setBrush(QBrush(fill))
            circle.setZValue(4)
            circle.setData(RANK_ROLE, c.rank)
            items.append(circle)
        m = _screen_marker("disk", color, str(c.rank), 6 if c.rank == selected else 5)
        m.setPos(centre)
        m.setZValue(9 if c.rank == selected else 8)
        m.setData(RANK_ROLE, c.rank)
        m.setToolTip(f"candidate {c.rank}" + (f" ({c.decision})" if c.decision else ""))
        items.append(m)
    return items, colours
