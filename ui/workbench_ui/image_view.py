"""A zoomable, pannable image view with numbered markers and a pixel-click signal.

Scene coordinates: the pixmap's top-left *corner* is at ``(0, 0)``, so the centre of
image pixel ``(x, y)`` (OpenCV convention) is at scene ``(x + 0.5, y + 0.5)``.  All
public methods take and emit image-pixel (centre convention) coordinates.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PyQt6.QtCore import QPointF, QRectF, Qt, pyqtSignal
from PyQt6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QImage,
    QMouseEvent,
    QPainter,
    QPen,
    QPixmap,
    QResizeEvent,
    QWheelEvent,
)
from PyQt6.QtWidgets import (
    QGraphicsEllipseItem,
    QGraphicsItem,
    QGraphicsItemGroup,
    QGraphicsLineItem,
    QGraphicsPixmapItem,
    QGraphicsScene,
    QGraphicsSimpleTextItem,
    QGraphicsView,
    QWidget,
)

from workbench_ui.images import bgr_to_pixmap, mask_overlay

CLICK_SLOP_PX = 4


class ClickFilter:
    """Tells a left click (press and release at most :data:`CLICK_SLOP_PX` apart) from a
    drag that pans the view; a view calls :meth:`press` and :meth:`release` from its
    mouse handlers."""

    def __init__(self) -> None:
        self._press: QPointF | None = None

    def press(self, event: QMouseEvent | None) -> None:
        if event is not None and event.button() == Qt.MouseButton.LeftButton:
            self._press = event.position()

    def release(self, event: QMouseEvent | None) -> QPointF | None:
        """The viewport position of a click that ``event`` ends, else ``None``."""
        if event is None or event.button() != Qt.MouseButton.LeftButton or self._press is None:
            return None
        moved, self._press = event.position() - self._press, None
        return event.position() if abs(moved.x()) + abs(moved.y()) <= CLICK_SLOP_PX else None
MIN_ZOOM, MAX_ZOOM = 0.02, 64.0


def _marker(number: int, color: QColor) -> QGraphicsItemGroup:
    """A numbered circle that keeps its on-screen size at any zoom."""
    group = QGraphicsItemGroup()
    r = 7.0
    ring = QGraphicsEllipseItem(-r, -r, 2 * r, 2 * r)
    ring.setPen(QPen(QColor(0, 0, 0), 3))
    ring.setBrush(QBrush(Qt.BrushStyle.NoBrush))
    inner = QGraphicsEllipseItem(-r, -r, 2 * r, 2 * r)
    inner.setPen(QPen(color, 2))
    dot = QGraphicsEllipseItem(-1.5, -1.5, 3, 3)
    dot.setPen(QPen(Qt.PenStyle.NoPen))
    dot.setBrush(QBrush(color))
    label = QGraphicsSimpleTextItem(str(number))
    font = QFont()
    font.setPointSize(8)
    font.setBold(True)
    label.setFont(font)
    label.setBrush(QBrush(QColor(255, 255, 255)))
    label.setPen(QPen(QColor(0, 0, 0), 0.6))
    label.setPos(r - 1, -r - 12)
    for item in (ring, inner, dot, label):
        group.addToGroup(item)
    group.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations, True)
    group.setZValue(10)
    return group


class ImageView(QGraphicsView):
    """Shows one BGR image; wheel zooms under the cursor, left-drag pans, click picks a pixel.

    Signals:
        pixelClicked(float x, float y): image pixel (centre convention) of a click
            that did not move more than a few screen pixels.
        viewChanged(): zoom or pan changed (used to link two views).
    """

    pixelClicked = pyqtSignal(float, float)
    viewChanged = pyqtSignal()

    def __init__(self, parent: QWidget | None = None, placeholder: str = "") -> None:
        super().__init__(parent)
        self._scene = QGraphicsScene(self)
        self.setScene(self._scene)
        self.setRenderHints(
            QPainter.RenderHint.Antialiasing | QPainter.RenderHint.SmoothPixmapTransform
        )
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setBackgroundBrush(QColor(40, 40, 44))
        self.setMinimumSize(160, 120)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._pixmap = QGraphicsPixmapItem()
        self._pixmap.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        self._scene.addItem(self._pixmap)
        self._mask_item = QGraphicsPixmapItem()
        self._mask_item.setZValue(1)
        self._mask_item.setVisible(False)
        self._scene.addItem(self._mask_item)
        self._markers: list[QGraphicsItem] = []
        self._point_items: list[QGraphicsItem] = []
        self._clicks = ClickFilter()
        self._fitted = False
        self._placeholder = placeholder
        for bar in (self.horizontalScrollBar(), self.verticalScrollBar()):
            if bar is not None:
                bar.valueChanged.connect(lambda _v: self.viewChanged.emit())

    def _vp(self) -> QWidget:
        vp = self.viewport()
        if vp is None:  # never happens: QAbstractScrollArea always has one
            raise RuntimeError("view has no viewport")
        return vp

    # --- content -------------------------------------------------------------------
    def set_image(self, image: np.ndarray | QImage | None, *, keep_view: bool = False) -> None:
        """Show a BGR ``(H, W, 3) uint8`` array (or a QImage); ``None`` clears the view."""
        if image is None:
            self._pixmap.setPixmap(QPixmap())
            self._mask_item.setPixmap(QPixmap())
            self.clear_markers()
            self.clear_point()
            self._vp().update()
            return
        pm = QPixmap.fromImage(image) if isinstance(image, QImage) else bgr_to_pixmap(image)
        self._pixmap.setPixmap(pm)
        self._scene.setSceneRect(QRectF(pm.rect()).adjusted(-pm.width(), -pm.height(),
                                                             pm.width(), pm.height()))
        if not keep_view:
            self._fitted = False
            self.fit()

    def has_image(self) -> bool:
        return not self._pixmap.pixmap().isNull()

    def image_size(self) -> tuple[int, int]:
        """``(width, height)`` of the shown image, ``(0, 0)`` if none."""
        pm = self._pixmap.pixmap()
        return pm.width(), pm.height()

    def set_mask(self, mask: np.ndarray | None) -> None:
        """Set the ``(H, W) uint8`` overlay mask (255 = HUD) drawn as a tint when visible."""
        if mask is None:
            self._mask_item.setPixmap(QPixmap())
        else:
            self._mask_item.setPixmap(QPixmap.fromImage(mask_overlay(mask)))

    def set_mask_visible(self, visible: bool) -> None:
        self._mask_item.setVisible(bool(visible))

    def mask_visible(self) -> bool:
        return self._mask_item.isVisible() and not self._mask_item.pixmap().isNull()

    def add_item(self, item: QGraphicsItem) -> None:
        """Add an extra graphics item in scene coordinates (image corner convention)."""
        self._scene.addItem(item)

    # --- markers -------------------------------------------------------------------
    def clear_markers(self) -> None:
        for item in self._markers:
            self._scene.removeItem(item)
        self._markers = []

    def set_markers(self, points: Sequence[tuple[int, float, float]], color: QColor) -> None:
        """Numbered markers ``[(number, x, y), ...]`` in image pixels (centre convention)."""
        self.clear_markers()
        for number, x, y in points:
            m = _marker(number, color)
            m.setPos(x + 0.5, y + 0.5)
            self._scene.addItem(m)
            self._markers.append(m)

    def markers_visible(self, visible: bool) -> None:
        for m in self._markers:
            m.setVisible(visible)

    def marker_count(self) -> int:
        return len(self._markers)

    def clear_point(self) -> None:
        for item in self._point_items:
            self._scene.removeItem(item)
        self._point_items = []

    def set_point(self, x: float, y: float, radius_px: float = 0.0) -> None:
        """A crosshair at image pixel ``(x, y)``, with an uncertainty circle of ``radius_px``."""
        self.clear_point()
        pen = QPen(QColor(255, 230, 0), 2)
        pen.setCosmetic(True)
        cx, cy = x + 0.5, y + 0.5
        if radius_px > 0:
            circle = QGraphicsEllipseItem(cx - radius_px, cy - radius_px, 2 * radius_px,
                                          2 * radius_px)
            dashed = QPen(QColor(255, 230, 0), 1.5, Qt.PenStyle.DashLine)
            dashed.setCosmetic(True)
            circle.setPen(dashed)
            circle.setZValue(20)
            self._scene.addItem(circle)
            self._point_items.append(circle)
        cross = QGraphicsItemGroup()
        for dx, dy in ((1, 0), (0, 1)):
            line = QGraphicsLineItem(-12 * dx, -12 * dy, 12 * dx, 12 * dy)
            line.setPen(pen)
            cross.addToGroup(line)
        ring = QGraphicsEllipseItem(-5, -5, 10, 10)
        ring.setPen(pen)
        cross.addToGroup(ring)
        cross.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations, True)
        cross.setPos(cx, cy)
        cross.setZValue(21)
        self._scene.addItem(cross)
        self._point_items.append(cross)

    def point_shown(self) -> bool:
        return bool(self._point_items)

    # --- view ----------------------------------------------------------------------
    def fit(self) -> None:
        """Zoom to show the whole image."""
        if not self.has_image():
            return
        self.fitInView(self._pixmap, Qt.AspectRatioMode.KeepAspectRatio)
        self._fitted = True
        self.viewChanged.emit()

    def fit_px_rect(self, x0: float, y0: float, x1: float, y1: float) -> None:
        """Zoom to show image pixels ``[x0, x1] x [y0, y1]`` (clipped to the image)."""
        if not self.has_image():
            return
        w, h = self.image_size()
        x0, x1 = max(0.0, min(x0, x1)), min(float(w), max(x0, x1) + 1)
        y0, y1 = max(0.0, min(y0, y1)), min(float(h), max(y0, y1) + 1)
        if x1 - x0 < 4 or y1 - y0 < 4:
            self.fit()
            return
        self.fitInView(QRectF(x0, y0, x1 - x0, y1 - y0), Qt.AspectRatioMode.KeepAspectRatio)
        self._fitted = False
        self.viewChanged.emit()

    def zoom(self) -> float:
        """Screen pixels per image pixel."""
        return float(self.transform().m11())

    def set_zoom(self, z: float) -> None:
        z = min(MAX_ZOOM, max(MIN_ZOOM, z))
        self._fitted = False
        anchor = self.transformationAnchor()
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setTransform(self.transform().fromScale(z, z))
        self.setTransformationAnchor(anchor)
        self.viewChanged.emit()

    def center_px(self) -> tuple[float, float]:
        """Image pixel (centre convention) at the centre of the viewport."""
        p = self.mapToScene(self._vp().rect().center())
        return p.x() - 0.5, p.y() - 0.5

    def center_on_px(self, x: float, y: float) -> None:
        self.centerOn(QPointF(x + 0.5, y + 0.5))

    def map_px_to_viewport(self, x: float, y: float) -> QPointF:
        """Viewport coordinates of image pixel ``(x, y)``."""
        return QPointF(self.mapFromScene(QPointF(x + 0.5, y + 0.5)))

    # --- events --------------------------------------------------------------------
    def wheelEvent(self, event: QWheelEvent | None) -> None:
        if event is None or not self.has_image():
            return
        steps = event.angleDelta().y() / 120.0
        if steps == 0:
            return
        factor = 1.25**steps
        z = self.zoom()
        factor = min(MAX_ZOOM, max(MIN_ZOOM, z * factor)) / z
        self._fitted = False
        self.scale(factor, factor)
        self.viewChanged.emit()
        event.accept()

    def mousePressEvent(self, event: QMouseEvent | None) -> None:
        self._clicks.press(event)
        super().mousePressEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent | None) -> None:
        super().mouseReleaseEvent(event)
        at = self._clicks.release(event)
        if at is not None and self.has_image():
            p = self.mapToScene(at.toPoint())
            w, h = self.image_size()
            x, y = p.x() - 0.5, p.y() - 0.5
            if -0.5 <= x < w - 0.5 and -0.5 <= y < h - 0.5:
                self.pixelClicked.emit(x, y)

    def mouseDoubleClickEvent(self, event: QMouseEvent | None) -> None:
        self.fit()

    def resizeEvent(self, event: QResizeEvent | None) -> None:
        super().resizeEvent(event)
        if self._fitted:
            self.fit()

    def drawForeground(self, painter: QPainter | None, rect: QRectF) -> None:
        super().drawForeground(painter, rect)
        if painter is None or self.has_image() or not self._placeholder:
            return
        painter.save()
        painter.resetTransform()
        painter.setPen(QColor(190, 190, 190))
        painter.drawText(self._vp().rect(), Qt.AlignmentFlag.AlignCenter
                         | Qt.TextFlag.TextWordWrap, self._placeholder)
        painter.restore()
