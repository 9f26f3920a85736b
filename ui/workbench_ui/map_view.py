"""The overview map's view: zoom, pan, clicks, and the scale bar, north arrow and legend.

Scene units are metres of the local frame of :class:`workbench_ui.map_items.MapProjection`
(x east, y south), so the scale bar is ``1 / zoom`` metres per screen pixel and north is
up.  Nothing here is fetched from a network: the map shows only the case's own data.
"""

from __future__ import annotations

import math

from PyQt6.QtCore import QPointF, QRectF, Qt, pyqtSignal
from PyQt6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QMouseEvent,
    QPainter,
    QPen,
    QPolygonF,
    QResizeEvent,
    QTransform,
    QWheelEvent,
)
from PyQt6.QtWidgets import (
    QGraphicsItem,
    QGraphicsLineItem,
    QGraphicsScene,
    QGraphicsSimpleTextItem,
    QGraphicsView,
    QWidget,
)

from workbench.geo import format_metres
from workbench_ui.image_view import ClickFilter
from workbench_ui.map_items import RANK_ROLE, RULER, MapProjection, boxed_label

MIN_SPAN_M = 200.0


def nice_length(max_m: float) -> float:
    """The largest 1, 2 or 5 x 10^k metres not above ``max_m`` (``max_m`` > 0)."""
    if not (math.isfinite(max_m) and max_m > 0):
        return 0.0
    k = 10 ** math.floor(math.log10(max_m))
    return next(m * k for m in (5, 2, 1) if m * k <= max_m)


def paint_scale_bar(painter: QPainter, rect: QRectF, metres_per_px: float,
                    color: QColor | None = None) -> None:
    """A scale bar in the bottom-left of ``rect`` (device pixels), about 1/5 of its width."""
    color = color or QColor(255, 255, 255)
    if not (math.isfinite(metres_per_px) and metres_per_px > 0):
        return
    length_m = nice_length(rect.width() / 5 * metres_per_px)
    if length_m <= 0:
        return
    px = length_m / metres_per_px
    x0, y0 = rect.left() + 14, rect.bottom() - 16
    painter.save()
    for pen_color, width in ((QColor(0, 0, 0), 5.0), (color, 2.0)):
        painter.setPen(QPen(pen_color, width))
        painter.drawLine(QPointF(x0, y0), QPointF(x0 + px, y0))
        for x in (x0, x0 + px):
            painter.drawLine(QPointF(x, y0 - 6), QPointF(x, y0 + 1))
    _outlined_text(painter, QPointF(x0, y0 - 9), format_metres(length_m), color)
    painter.restore()


def paint_north_arrow(painter: QPainter, rect: QRectF, north_deg: float = 0.0,
                      color: QColor | None = None) -> None:
    """A north arrow in the top-left of ``rect``; ``north_deg``: direction of true north,
    clockwise from up."""
    color = color or QColor(255, 255, 255)
    if not math.isfinite(north_deg):
        return
    cx, cy = rect.left() + 26, rect.top() + 40
    painter.save()
    painter.translate(cx, cy)
    painter.rotate(north_deg)
    arrow = QPolygonF([QPointF(0, -20), QPointF(8, 10), QPointF(0, 4), QPointF(-8, 10)])
    painter.setPen(QPen(QColor(0, 0, 0), 2))
    painter.setBrush(QBrush(color))
    painter.drawPolygon(arrow)
    painter.restore()
    _outlined_text(painter, QPointF(cx - 5, cy + 26), "N", color)


def paint_legend(painter: QPainter, rect: QRectF, entries: list[tuple[QColor, str]],
                 title: str = "") -> None:
    """Colour swatches with labels in the top-right of ``rect``."""
    if not entries:
        return
    painter.save()
    font = QFont()
    font.setPointSize(8)
    painter.setFont(font)
    fm = painter.fontMetrics()
    rows = ([title] if title else []) + [label for _c, label in entries]
    w = max(fm.horizontalAdvance(t) for t in rows) + 30
    h = fm.height() * len(rows) + 8
    box = QRectF(rect.right() - w - 8, rect.top() + 8, w, h)
    painter.setPen(QPen(QColor(0, 0, 0, 160)))
    painter.setBrush(QBrush(QColor(255, 255, 255, 215)))
    painter.drawRect(box)
    y = box.top() + 4
    if title:
        painter.setPen(QColor(0, 0, 0))
        painter.drawText(QPointF(box.left() + 6, y + fm.ascent()), title)
        y += fm.height()
    for color, label in entries:
        painter.setPen(QPen(QColor(0, 0, 0)))
        painter.setBrush(QBrush(color))
        painter.drawRect(QRectF(box.left() + 6, y + 2, 14, fm.height() - 4))
        painter.drawText(QPointF(box.left() + 24, y + fm.ascent()), label)
        y += fm.height()
    painter.restore()


def _outlined_text(painter: QPainter, pos: QPointF, text: str, color: QColor) -> None:
    font = QFont()
    font.setPointSize(9)
    font.setBold(True)
    painter.setFont(font)
    painter.setPen(QColor(0, 0, 0))
    for dx, dy in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        painter.drawText(pos + QPointF(dx, dy), text)
    painter.setPen(color)
    painter.drawText(pos, text)


def keep_label_in_view(label: QGraphicsItem, view: QGraphicsView) -> None:
    """Shift a constant-size label left of its anchor when it would run off the right of
    ``view`` (the label ignores the view's zoom; the shift is in screen pixels)."""
    vp = view.viewport()
    if vp is None:
        return
    anchor = view.mapFromScene(label.pos())
    width = label.boundingRect().width() + 8
    shift = -width if anchor.x() + width > vp.width() else 0.0
    label.setTransform(QTransform.fromTranslate(shift, 0))


class MapView(QGraphicsView):
    """The map.  Wheel zooms under the cursor, drag pans, a click reports where.

    Signals:
        groundClicked(float lon, float lat): a click that did not drag (WGS84).
        candidateClicked(int rank): the click hit a candidate's marker or circle.
    """

    groundClicked = pyqtSignal(float, float)
    candidateClicked = pyqtSignal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._scene = QGraphicsScene(self)
        self.setScene(self._scene)
        self.setRenderHints(QPainter.RenderHint.Antialiasing
                            | QPainter.RenderHint.SmoothPixmapTransform)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setBackgroundBrush(QColor(58, 62, 66))
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setMinimumSize(160, 140)
        self.projection: MapProjection | None = None
        self.legend: list[tuple[QColor, str]] = []
        self.legend_title = ""
        self.overlays = True  # scale bar, north arrow, legend (off while exporting)
        self.placeholder = "No case open: the map shows the imagery, candidates and claim."
        self._items: list[QGraphicsItem] = []
        self._ruler_items: list[QGraphicsItem] = []
        self._click_items: list[QGraphicsItem] = []
        self._clicks = ClickFilter()
        self._extent: QRectF | None = None
        self._everything: QRectF | None = None

    # --- content -------------------------------------------------------------------
    def set_items(self, projection: MapProjection | None, items: list[QGraphicsItem],
                  extent: QRectF | None, everything: QRectF | None = None) -> None:
        """Replace the drawn items (scene metres of ``projection``); ``extent``: what
        :meth:`fit` shows, ``everything``: what :meth:`fit_all` shows (default ``extent``)."""
        for it in self._items + self._click_items:
            self._scene.removeItem(it)
        self._items, self._click_items = list(items), []
        self.clear_ruler()
        self.projection = projection
        for it in self._items:
            self._scene.addItem(it)
        self._extent = extent
        self._everything = everything or extent
        if self._everything is not None:
            e = self._everything
            big = e.adjusted(-5 * e.width() - 5000, -5 * e.height() - 5000,
                             5 * e.width() + 5000, 5 * e.height() + 5000)
            self._scene.setSceneRect(big)
        self.viewport().update()  # type: ignore[union-attr]

    def add_items(self, items: list[QGraphicsItem]) -> None:
        """Add items (e.g. imagery previews arriving later) to the current content."""
        for it in items:
            self._scene.addItem(it)
        self._items += items

    def item_count(self) -> int:
        return len(self._items)

    def fit(self) -> None:
        """Show the focus (the candidates, the claim, the imagery they matched on)."""
        self._fit(self._extent)

    def fit_all(self) -> None:
        """Show everything drawn (every raster's footprint)."""
        self._fit(self._everything)

    def _fit(self, r: QRectF | None) -> None:
        if r is None:
            return
        cx, cy = r.center().x(), r.center().y()
        half = max(r.width(), r.height(), MIN_SPAN_M) / 2 * 1.15
        self.fitInView(QRectF(cx - half, cy - half, 2 * half, 2 * half),
                       Qt.AspectRatioMode.KeepAspectRatio)

    def zoom(self) -> float:
        """Screen pixels per metre (at the projection centre)."""
        return float(self.transform().m11())

    def metres_per_px(self) -> float:
        z = self.zoom()
        return 1.0 / z if z > 0 else math.nan

    def scene_pos_of(self, lon: float, lat: float) -> QPointF | None:
        """Viewport position of a lon/lat (None without a projection)."""
        if self.projection is None:
            return None
        return QPointF(self.mapFromScene(self.projection.point(lon, lat)))

    # --- marks ---------------------------------------------------------------------------
    def mark_click(self, lon: float, lat: float) -> None:
        """A small crosshair where the analyst last clicked (NaN: none)."""
        for it in self._click_items:
            self._scene.removeItem(it)
        self._click_items = []
        if self.projection is None or not (math.isfinite(lon) and math.isfinite(lat)):
            return  # (NaN: just clear the mark)
        p = self.projection.point(lon, lat)
        for dx, dy in ((1, 0), (0, 1)):
            line = QGraphicsLineItem(-10 * dx, -10 * dy, 10 * dx, 10 * dy)
            pen = QPen(QColor(255, 230, 0), 2)
            pen.setCosmetic(True)
            line.setPen(pen)
            self._place(line, 20, self._click_items, at=p)

    def clear_ruler(self) -> None:
        for it in self._ruler_items:
            self._scene.removeItem(it)
        self._ruler_items = []

    def show_ruler(self, points: list[tuple[float, float]], text: str) -> None:
        """The ruler's first point, or its segment with ``text`` (lon/lat points)."""
        self.clear_ruler()
        if self.projection is None or not points:
            return
        ps = [self.projection.point(lon, lat) for lon, lat in points]
        pen = QPen(RULER, 2, Qt.PenStyle.DashLine)
        pen.setCosmetic(True)
        if len(ps) == 2:
            line = QGraphicsLineItem(ps[0].x(), ps[0].y(), ps[1].x(), ps[1].y())
            line.setPen(pen)
            self._place(line, 30, self._ruler_items)
        for i, p in enumerate(ps):
            dot = QGraphicsSimpleTextItem("AB"[i])
            dot.setBrush(QBrush(RULER))
            dot.setPen(QPen(QColor(0, 0, 0), 0.6))
            f = QFont()
            f.setBold(True)
            dot.setFont(f)
            self._place(dot, 31, self._ruler_items, at=p)
        if len(ps) == 2 and text:
            lab = boxed_label(text)
            lab.setPos((ps[0] + ps[1]) / 2)
            self._place(lab, 31, self._ruler_items)
            keep_label_in_view(lab, self)

    def _place(self, item: QGraphicsItem, z: float, into: list[QGraphicsItem],
               at: QPointF | None = None) -> None:
        """Add a mark to the scene at height ``z`` and remember it in ``into``; ``at``: a
        scene point the mark is drawn at in screen pixels (it ignores the zoom)."""
        if at is not None:
            item.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations, True)
            item.setPos(at)
        item.setZValue(z)
        self._scene.addItem(item)
        into.append(item)

    # --- painting ------------------------------------------------------------------
    def paint_overlays(self, painter: QPainter, rect: QRectF, *, legend: bool = True,
                       metres_per_px: float | None = None) -> None:
        """Scale bar, north arrow and (``legend``) the legend into ``rect`` (device pixels
        of ``painter``, ``metres_per_px`` of them: default the view's own).  On screen the
        legend is a line under the map instead."""
        if self.projection is None:
            return
        paint_scale_bar(painter, rect, self.metres_per_px() if metres_per_px is None
                        else metres_per_px)
        paint_north_arrow(painter, rect)
        if legend:
            paint_legend(painter, rect, self.legend, self.legend_title)

    def drawForeground(self, painter: QPainter | None, rect: QRectF) -> None:
        super().drawForeground(painter, rect)
        if painter is None or not self.overlays:
            return
        painter.save()
        painter.resetTransform()
        vp = QRectF(self.viewport().rect())  # type: ignore[union-attr]
        if self.projection is None:
            painter.setPen(QColor(200, 200, 200))
            painter.drawText(vp, Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                             self.placeholder)
        else:
            self.paint_overlays(painter, vp, legend=False)
        painter.restore()

    # --- events --------------------------------------------------------------------
    def wheelEvent(self, event: QWheelEvent | None) -> None:
        if event is None or self.projection is None:
            return
        steps = event.angleDelta().y() / 120.0
        if steps:
            f = 1.25**steps
            z = self.zoom() * f
            if 1e-5 < z < 200:
                self.scale(f, f)
        event.accept()

    def mousePressEvent(self, event: QMouseEvent | None) -> None:
        self._clicks.press(event)
        super().mousePressEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent | None) -> None:
        super().mouseReleaseEvent(event)
        at = self._clicks.release(event)
        if at is None or self.projection is None:
            return
        pos = at.toPoint()
        rank = self.rank_at(pos.x(), pos.y())
        if rank:
            self.candidateClicked.emit(rank)
        p = self.mapToScene(pos)
        lon, lat = self.projection.to_lonlat(p.x(), p.y())
        if math.isfinite(lon) and math.isfinite(lat):
            self.groundClicked.emit(lon, lat)

    def rank_at(self, x: int, y: int) -> int:
        """Rank of the topmost candidate marker (else circle) at viewport ``(x, y)``, 0 if none."""
        circle = 0
        for it in self.items(x, y):
            node: QGraphicsItem | None = it
            while node is not None:
                r = node.data(RANK_ROLE)
                if isinstance(r, int) and r > 0:
                    if node.flags() & QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations:
                        return r  # a marker wins over any circle
                    circle = circle or r
                    break
                node = node.parentItem()
        return circle

    def mouseDoubleClickEvent(self, event: QMouseEvent | None) -> None:
        self.fit()

    def resizeEvent(self, event: QResizeEvent | None) -> None:
        super().resizeEvent(event)
