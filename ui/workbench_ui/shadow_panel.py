"""Shadow panel (time check): two clicks on the keyframe — an object's foot, then its
shadow's tip — and a button that asks to measure and record the shadow in the case.

The measurement and the sun check are the core's (:meth:`workbench.case.Case.add_shadow`,
:func:`workbench.claim.check_time`); this panel only collects the two pixels and shows
the result lines it is given.  :class:`ShadowController` wires it into the main window:
while "Mark on keyframe" is on, clicks on the comparison's keyframe are the foot and the
tip; recording writes the shadow into the open case (audit-logged) and the sun check runs
off the GUI thread (pvlib).
"""

from __future__ import annotations

from typing import Any

from PyQt6.QtCore import QObject, Qt, pyqtSignal
from PyQt6.QtGui import QColor, QPen
from PyQt6.QtWidgets import (
    QGraphicsEllipseItem,
    QGraphicsItem,
    QGraphicsLineItem,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from workbench.errors import WorkbenchError
from workbench_ui.workers import Task, TaskPool

HINT = ("Time check: click an object's foot in the keyframe, then the tip of its shadow "
        "(both on the ground). Vertical objects on flat ground only.")


class ShadowPanel(QWidget):
    """Collects a foot and a tip pixel of the current keyframe.

    Signals:
        recordRequested(float, float, float, float): foot x, y, tip x, y (keyframe px).
    """

    recordRequested = pyqtSignal(float, float, float, float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.foot: tuple[float, float] | None = None
        self.tip: tuple[float, float] | None = None
        self.hint = QLabel(HINT)
        self.hint.setWordWrap(True)
        self.points = QLabel("foot: —   tip: —")
        self.result = QLabel("")
        self.result.setWordWrap(True)
        self.result.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        scroll = QScrollArea()  # the sun check is several sentences: never clip them
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(self.result)
        self.mark_btn = QPushButton("Mark on keyframe")
        self.mark_btn.setCheckable(True)
        self.mark_btn.setToolTip("While on, clicks on the keyframe (Compare tab) mark the "
                                 "object's foot, then its shadow's tip")
        self.mark_btn.toggled.connect(lambda on: self.clear() if on else None)
        self.clear_btn = QPushButton("Start again")
        self.record_btn = QPushButton("Record shadow in case")
        self.record_btn.setToolTip("Measure the shadow through the confirmed homography and "
                                   "record it (audit-logged); checked against the claimed time")
        self.clear_btn.clicked.connect(self.clear)
        self.record_btn.clicked.connect(self._record)
        buttons = QHBoxLayout()
        buttons.addWidget(self.mark_btn)
        buttons.addWidget(self.clear_btn)
        buttons.addWidget(self.record_btn)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.hint)
        lay.addWidget(self.points)
        lay.addLayout(buttons)
        lay.addWidget(scroll, 1)
        self.clear()

    @property
    def marking(self) -> bool:
        """Whether keyframe clicks are shadow points now."""
        return self.mark_btn.isChecked()

    def add_click(self, x: float, y: float) -> None:
        """A keyframe pixel was clicked: the foot first, then the tip (a third click starts
        a new pair)."""
        if self.foot is None or self.tip is not None:
            self.foot, self.tip = (x, y), None
        else:
            self.tip = (x, y)
        self._refresh()

    def clear(self) -> None:
        self.foot = self.tip = None
        self.result.setText("")
        self._refresh()

    def show_result(self, lines: list[str]) -> None:
        """Show the core's sentences (measured azimuth, the sun against the claimed time)."""
        self.result.setText("\n".join(lines))

    def _refresh(self) -> None:
        def fmt(p: tuple[float, float] | None) -> str:
            return "—" if p is None else f"({p[0]:.1f}, {p[1]:.1f})"

        self.points.setText(f"foot: {fmt(self.foot)}   tip: {fmt(self.tip)}")
        self.record_btn.setEnabled(self.foot is not None and self.tip is not None)

    def _record(self) -> None:
        if self.foot is not None and self.tip is not None:
            self.recordRequested.emit(self.foot[0], self.foot[1], self.tip[0], self.tip[1])


def _time_lines(lon: float, lat: float, sun_azimuth: float, sigma: float,
                claimed_time: str) -> list[str]:
    """The sun against the claimed time (runs in a worker thread: pvlib is slow to load)."""
    from workbench.claim import check_time, parse_time  # pvlib/pandas: loaded on first use

    chk = check_time(lon, lat, sun_azimuth, sigma, claimed_time=parse_time(claimed_time))
    return list(chk.sentences())


class ShadowController(QObject):
    """Connects the panel to the comparison view's keyframe clicks and the open case.

    ``compare``: emits ``pointPicked(x, y)`` keyframe pixels; ``session``: holds the open
    ``case`` and the ``decisionsChanged`` signal (audit panel refresh); ``review``: its
    ``current_rank`` is the candidate being reviewed; ``pool``: runs the sun check.
    """

    def __init__(self, panel: ShadowPanel, compare: Any, session: Any, review: Any,
                 pool: TaskPool, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.panel, self.session, self.review, self.pool = panel, session, review, pool
        self.view = compare.left  # the keyframe view: foot, tip and the line between
        self._items: list[QGraphicsItem] = []
        self._rank = 0
        compare.pointPicked.connect(self.on_click)
        panel.recordRequested.connect(self.record)
        panel.clear_btn.clicked.connect(self._draw)
        panel.mark_btn.toggled.connect(lambda _on: self._draw())

    def _draw(self) -> None:
        """Show the marked foot (ring), tip (ring) and the shadow line on the keyframe
        (image pixels, centre convention; the scene uses the corner convention)."""
        scene = self.view.scene()
        old, self._items = self._items, []
        if scene is not None:
            for item in old:
                try:
                    if item.scene() is not None:
                        scene.removeItem(item)
                except RuntimeError:  # the view replaced its scene content: already gone
                    pass
        foot, tip = self.panel.foot, self.panel.tip
        if foot is None or not self.panel.marking:
            return
        pen = QPen(QColor(0, 230, 255), 2)
        pen.setCosmetic(True)
        pts = [p for p in (foot, tip) if p is not None]
        for x, y in pts:
            ring = QGraphicsEllipseItem(-6, -6, 12, 12)
            ring.setPen(pen)
            ring.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations, True)
            ring.setPos(x + 0.5, y + 0.5)
            self._items.append(ring)
        if tip is not None:
            line = QGraphicsLineItem(foot[0] + 0.5, foot[1] + 0.5, tip[0] + 0.5, tip[1] + 0.5)
            line.setPen(pen)
            self._items.append(line)
        for item in self._items:
            item.setZValue(22)
            self.view.add_item(item)

    def on_click(self, x: float, y: float) -> None:
        if not self.panel.marking:
            return
        if self.panel.foot is None or self.panel.tip is not None:
            self._rank = int(self.review.current_rank)
        self.panel.add_click(x, y)
        self._draw()

    def record(self, fx: float, fy: float, tx: float, ty: float) -> None:
        case = self.session.case
        rank = int(self.review.current_rank)
        if case is None or rank <= 0:
            self.panel.show_result(["Not recorded: open a case and select a candidate first."])
            return
        if rank != self._rank:
            self.panel.show_result([f"Not recorded: the points were marked on candidate "
                                    f"{self._rank}, now {rank} is shown; start again."])
            return
        try:
            rec = case.add_shadow(rank, (fx, fy), (tx, ty))
            claim = case.claim()
        except WorkbenchError as exc:
            self.panel.show_result([f"Not recorded: {exc.message}"])
            return
        self.session.decisionsChanged.emit()  # the audit panel shows the new entry
        m = rec.measure
        lines = [f"Shadow {rec.id} recorded by {rec.user}: {m.length_m:.1f} m toward "
                 f"{m.shadow_azimuth_deg:.1f}°; sun azimuth {m.sun_azimuth_deg:.1f}° "
                 f"± {m.sigma_deg:.1f}° (1 sigma)."]
        if claim is None or not claim.claimed_time:
            self.panel.show_result([*lines, "No claimed time recorded: the sun is not "
                                    "checked (record the claim with its time)."])
            return
        self.panel.show_result([*lines, "Checking the sun at the claimed time…"])
        task = Task(_time_lines, m.foot[0], m.foot[1], m.sun_azimuth_deg, m.sigma_deg,
                    claim.claimed_time, name="sun check", with_progress=False, parent=self)
        task.succeeded.connect(lambda more: self.panel.show_result([*lines, *more]))
        task.failed.connect(lambda msg: self.panel.show_result(
            [*lines, f"Sun check failed: {msg}"]))
        self.pool.run(task)
