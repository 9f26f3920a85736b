"""Graphics helpers of the comparison view: the swipe-clipped overlay and the line layer."""

from __future__ import annotations

from PyQt6.QtCore import QEvent, QObject, QPointF, QRectF, Qt
from PyQt6.QtGui import QColor, QPainter, QPaintEvent, QPen
from PyQt6.QtWidgets import QGraphicsPixmapItem, QStyleOptionGraphicsItem, QWidget

from workbench_ui.image_view import ImageView

#: numbered landmarks: ``(number, (keyframe x, y), (crop x, y))``, pixel centres
Landmarks = list[tuple[int, tuple[float, float], tuple[float, float]]]


class SwipeItem(QGraphicsPixmapItem):
    """The warped keyframe, drawn only left of the swipe divider."""

    def __init__(self) -> None:
        super().__init__()
        self.divider = 1.0  # fraction of the width shown

    def paint(self, painter: QPainter | None, option: QStyleOptionGraphicsItem | None,
              widget: QWidget | None = None) -> None:
        if painter is None:
            return
        pm = self.pixmap()
        painter.save()
        painter.setClipRect(QRectF(0, 0, pm.width() * self.divider, pm.height()))
        super().paint(painter, option, widget)
        painter.restore()


class LinkLines(QWidget):
    """Transparent layer over the two views drawing lines between numbered landmarks.

    ``landmarks`` are drawn while ``shown`` (both set by the comparison view).
    """

    def __init__(self, left: ImageView, right: ImageView, parent: QWidget) -> None:
        super().__init__(parent)
        self.left, self.right = left, right
        self.landmarks: Landmarks = []
        self.shown = False
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents, True)
        self.setAttribute(Qt.WidgetAttribute.WA_NoSystemBackground, True)
        parent.installEventFilter(self)

    def eventFilter(self, obj: QObject | None, event: QEvent | None) -> bool:
        if event is not None and event.type() == QEvent.Type.Resize:
            parent = self.parentWidget()
            if parent is not None:
                self.setGeometry(parent.rect())
                self.raise_()
        return False

    def paintEvent(self, event: QPaintEvent | None) -> None:
        if not self.shown or not self.landmarks:
            return
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        pen = QPen(QColor(120, 255, 120, 170), 1.2)
        painter.setPen(pen)
        lv, rv, parent = self.left.viewport(), self.right.viewport(), self.parentWidget()
        if lv is None or rv is None or parent is None:
            return
        for _n, (kx, ky), (cx, cy) in self.landmarks:
            a = self.left.map_px_to_viewport(kx, ky)
            b = self.right.map_px_to_viewport(cx, cy)
            if not (lv.rect().contains(a.toPoint()) and rv.rect().contains(b.toPoint())):
                continue
            pa = QPointF(lv.mapTo(parent, a.toPoint()))
            pb = QPointF(rv.mapTo(parent, b.toPoint()))
            painter.drawLine(pa, pb)
        painter.end()
