"""The analyst's tie points drawn on an :class:`~workbench_ui.image_view.ImageView`:
a magenta square with the tie point's id, in image pixels (centre convention), on top of
the engine's numbered circles so the two kinds are never confused."""

from __future__ import annotations

from collections.abc import Sequence

from PyQt6.QtCore import QRectF
from PyQt6.QtGui import QBrush, QColor, QFont, QPen
from PyQt6.QtWidgets import (
    QGraphicsItem,
    QGraphicsItemGroup,
    QGraphicsRectItem,
    QGraphicsSimpleTextItem,
)

from workbench_ui.image_view import ImageView

TIE_COLOR = QColor(255, 0, 200)
SIDE_PX = 12  # screen pixels (the squares ignore zoom)


def _square(label: str) -> QGraphicsItemGroup:
    group = QGraphicsItemGroup()
    rect = QGraphicsRectItem(QRectF(-SIDE_PX / 2, -SIDE_PX / 2, SIDE_PX, SIDE_PX))
    pen = QPen(TIE_COLOR, 2.5)
    pen.setCosmetic(True)
    rect.setPen(pen)
    text = QGraphicsSimpleTextItem(label)
    font = QFont()
    font.setBold(True)
    font.setPointSize(9)
    text.setFont(font)
    text.setBrush(QBrush(TIE_COLOR))
    text.setPen(QPen(QColor(0, 0, 0), 0.6))
    text.setPos(SIDE_PX / 2 + 1, -SIDE_PX - 2)
    group.addToGroup(rect)
    group.addToGroup(text)
    group.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
    group.setZValue(25)
    return group


class TieMarks:
    """The tie-point squares of one view (replaced as a whole by :meth:`set_points`)."""

    def __init__(self, view: ImageView) -> None:
        self.view = view
        self.items: list[QGraphicsItem] = []

    def set_points(self, points: Sequence[tuple[str, float, float]]) -> None:
        """``[(label, x, y), ...]`` in image pixels; an empty list clears."""
        scene = self.view.scene()
        for item in self.items:
            if scene is not None and item.scene() is scene:
                scene.removeItem(item)
        self.items = []
        for label, x, y in points:
            sq = _square(label)
            sq.setPos(x + 0.5, y + 0.5)
            self.view.add_item(sq)
            self.items.append(sq)

    def count(self) -> int:
        return len(self.items)
