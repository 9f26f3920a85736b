"""Side-by-side comparison of a keyframe and the satellite crop of a candidate.

* "Side by side": keyframe left, imagery right; both zoom (wheel) and pan (drag);
  "Link views" keeps the right view on the same ground as the left (through the
  candidate's homography); matching landmarks are numbered circles with the same
  number on both sides, optionally joined by lines.
* "Overlay": the keyframe warped onto the imagery, with an opacity slider and a
  swipe divider (keyframe left of the divider, imagery right of it).

Clicking a keyframe pixel emits :attr:`CompareWidget.pointPicked`; the caller
geolocates it (``workbench.compare.locate_pixel``) and calls :meth:`set_point`.
The pixel work (crop, warp) is in the Qt-free :mod:`workbench.compare`.
"""

from __future__ import annotations

import html
import math

import numpy as np
from PyQt6.QtCore import QPointF, Qt, pyqtSignal
from PyQt6.QtGui import (
    QColor,
    QFont,
    QImage,
    QPen,
    QPixmap,
    QPolygonF,
    QTransform,
)
from PyQt6.QtWidgets import (
    QCheckBox,
    QGraphicsItem,
    QGraphicsLineItem,
    QGraphicsPolygonItem,
    QGraphicsSimpleTextItem,
    QHBoxLayout,
    QLabel,
    QSlider,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from workbench.compare import SatelliteCrop
from workbench.geo import apply_homography, format_uncertainty
from workbench.position import Position
from workbench.results import Candidate, TileRef
from workbench_ui.compare_data import CompareData
from workbench_ui.compare_items import Landmarks, LinkLines, SwipeItem
from workbench_ui.image_view import ImageView

KF_COLOR = QColor(0, 220, 255)
SAT_COLOR = QColor(255, 140, 0)


class CompareWidget(QWidget):
    """Keyframe vs. satellite crop of one candidate, side by side or as a swipe overlay.

    Signals:
        pointPicked(float x, float y): keyframe pixel (full resolution, centre convention).
    """

    pointPicked = pyqtSignal(float, float)
    applied = pyqtSignal()  # new content shown (others redraw their marks on it)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.candidate: Candidate | None = None
        self.crop: SatelliteCrop | None = None
        self.landmarks: Landmarks = []
        self._h_kf_to_crop: np.ndarray | None = None
        self._mask_pending: np.ndarray | None = None  # tint made when first shown
        self._syncing = False

        self.title = QLabel("Select a candidate to compare the keyframe with the imagery.")
        self.title.setWordWrap(True)
        self.title.setTextFormat(Qt.TextFormat.RichText)

        # side by side
        self.left = ImageView(placeholder="keyframe")
        self.right = ImageView(placeholder="reference imagery")
        self.left.setToolTip("Keyframe: click a pixel to geolocate it; wheel zooms, drag pans")
        self.right.setToolTip("Reference imagery around the candidate; wheel zooms, drag pans")
        self.left.setDragMode(self.left.DragMode.ScrollHandDrag)
        self.left_caption = QLabel("<b>Keyframe</b> (video)")
        self.right_caption = QLabel("<b>Reference imagery</b> (satellite/aerial)")
        lbox, rbox = QWidget(), QWidget()
        for box, cap, view in ((lbox, self.left_caption, self.left),
                               (rbox, self.right_caption, self.right)):
            lay = QVBoxLayout(box)
            lay.setContentsMargins(0, 0, 0, 0)
            lay.setSpacing(2)
            lay.addWidget(cap)
            lay.addWidget(view, 1)
        # under the imagery: room for its provenance (workbench_ui.case_tools fills it)
        self.right_footer = QVBoxLayout()
        self.right_footer.setContentsMargins(0, 0, 0, 0)
        rbox_layout = rbox.layout()
        if isinstance(rbox_layout, QVBoxLayout):
            rbox_layout.addLayout(self.right_footer)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(lbox)
        self.splitter.addWidget(rbox)
        self.link_box = QCheckBox("Link views")
        self.link_box.setChecked(True)
        self.link_box.setToolTip("Zoom and pan both views together, on the same ground")
        self.marks_box = QCheckBox("Landmarks")
        self.marks_box.setChecked(True)
        self.marks_box.setToolTip("Numbered tie points: the same number is the same landmark")
        self.lines_box = QCheckBox("Lines")
        self.lines_box.setToolTip("Join each landmark to its match with a line")
        self.mask_box = QCheckBox("HUD mask")
        self.mask_box.setToolTip("Tint the burned-in overlay (HUD, captions) ignored by matching")
        sbs_bar = QHBoxLayout()
        for w in (self.link_box, self.marks_box, self.lines_box, self.mask_box):
            sbs_bar.addWidget(w)
        sbs_bar.addSpacing(12)
        self.legend = QLabel(
            "<span style='color:#00dcff'>●</span> keyframe landmark &nbsp; "
            "<span style='color:#ff8c00'>●</span> same landmark in the imagery &nbsp; "
            "<span style='color:#ffe600'>✛</span> picked point (dashed: uncertainty)"
        )
        self.legend.setWordWrap(True)
        self.legend.setMinimumWidth(120)
        sbs_bar.addWidget(self.legend, 1)
        sbs = QWidget()
        sl = QVBoxLayout(sbs)
        sl.setContentsMargins(0, 0, 0, 0)
        sl.addLayout(sbs_bar)
        sl.addWidget(self.splitter, 1)
        self._sbs_page = sbs
        self.lines_layer = LinkLines(self.left, self.right, sbs)

        # overlay
        self.overlay_view = ImageView(placeholder="overlay")
        self.overlay_view.setToolTip("Keyframe warped onto the imagery: left of the divider")
        self._warp_item = SwipeItem()
        self._warp_item.setZValue(2)
        self.overlay_view.add_item(self._warp_item)
        self._divider_line = QGraphicsLineItem()
        pen = QPen(QColor(255, 255, 255), 2)
        pen.setCosmetic(True)
        self._divider_line.setPen(pen)
        self._divider_line.setZValue(3)
        self.overlay_view.add_item(self._divider_line)
        self._outline = QGraphicsPolygonItem()
        opn = QPen(KF_COLOR, 2, Qt.PenStyle.DashLine)
        opn.setCosmetic(True)
        self._outline.setPen(opn)
        self._outline.setZValue(4)
        self.overlay_view.add_item(self._outline)
        self._side_labels = QGraphicsSimpleTextItem("◀ keyframe (warped)   imagery ▶")
        self._side_labels.setBrush(QColor(255, 255, 255))
        self._side_labels.setPen(QPen(QColor(0, 0, 0), 0.8))
        lf = QFont()
        lf.setBold(True)
        lf.setPointSize(10)
        self._side_labels.setFont(lf)
        self._side_labels.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        self._side_labels.setZValue(5)
        self.overlay_view.add_item(self._side_labels)
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setRange(0, 100)
        self.opacity.setValue(60)
        self.opacity.setToolTip("Opacity of the warped keyframe")
        self.swipe = QSlider(Qt.Orientation.Horizontal)
        self.swipe.setRange(0, 100)
        self.swipe.setValue(50)
        self.swipe.setToolTip("Swipe divider: keyframe on the left, imagery on the right")
        ov_bar = QHBoxLayout()
        ov_bar.addWidget(QLabel("Keyframe opacity"))
        ov_bar.addWidget(self.opacity, 1)
        ov_bar.addWidget(QLabel("Swipe"))
        ov_bar.addWidget(self.swipe, 1)
        ov = QWidget()
        ol = QVBoxLayout(ov)
        ol.setContentsMargins(0, 0, 0, 0)
        ol.addLayout(ov_bar)
        ol.addWidget(self.overlay_view, 1)

        self.tabs = QTabWidget()
        self.tabs.addTab(sbs, "Side by side")
        self.tabs.addTab(ov, "Overlay && swipe")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.title)
        lay.addWidget(self.tabs, 1)

        self.left.pixelClicked.connect(self.pointPicked)
        self.left.viewChanged.connect(lambda: self._sync(self.left))
        self.right.viewChanged.connect(lambda: self._sync(self.right))
        for v in (self.left, self.right):
            v.viewChanged.connect(self.lines_layer.update)
        self.link_box.toggled.connect(lambda on: self._sync(self.left) if on else None)
        self.marks_box.toggled.connect(self._show_marks)
        self.lines_box.toggled.connect(self._show_lines)
        self.mask_box.toggled.connect(self._show_mask)
        self.opacity.valueChanged.connect(self._apply_overlay_controls)
        self.swipe.valueChanged.connect(self._apply_overlay_controls)
        self._apply_overlay_controls()

    # --- content -------------------------------------------------------------------
    def clear(self, message: str = "Select a candidate to compare the keyframe with the imagery."
              ) -> None:
        self.candidate, self.crop, self.landmarks, self._h_kf_to_crop = None, None, [], None
        self._mask_pending = None
        self.lines_layer.landmarks = []
        self.title.setText(message)
        for v in (self.left, self.right, self.overlay_view):
            v.set_image(None)
        self._warp_item.setPixmap(QPixmap())
        self._divider_line.setVisible(False)
        self._outline.setVisible(False)
        self._side_labels.setVisible(False)
        self.lines_layer.update()

    def apply(self, data: CompareData, *, caption: str = "") -> None:
        """Display prepared data (GUI thread; only pixmap conversions, a few ms).  The
        HUD-mask tint is made only when it is first shown (the box is off by default)."""
        candidate, crop = data.candidate, data.crop
        self._syncing = True  # both views start fitted; linking follows the user's moves
        self.candidate, self.crop = candidate, crop
        self._h_kf_to_crop = data.h_kf_to_crop
        self.landmarks = data.landmarks
        self.lines_layer.landmarks = data.landmarks
        self.title.setText(caption or self._default_caption(candidate, crop.tile, crop))
        self.left.set_image(data.keyframe)
        self.left.set_mask(None)
        self._mask_pending = data.mask
        self._show_mask(self.mask_box.isChecked())
        self.right.set_image(crop.image)
        self.left.set_markers([(n, kx, ky) for n, (kx, ky), _c in self.landmarks], KF_COLOR)
        self.right.set_markers([(n, cx, cy) for n, _k, (cx, cy) in self.landmarks], SAT_COLOR)
        self._show_marks(self.marks_box.isChecked())
        self.overlay_view.set_image(crop.image)
        rgba = data.warped_rgba  # (prepared in the worker: RGBA, contiguous)
        h, w = rgba.shape[:2]
        # (QImage.copy: the pixmap owns its pixels, not the numpy buffer)
        self._warp_item.setPixmap(QPixmap.fromImage(
            QImage(rgba.tobytes(), w, h, rgba.strides[0], QImage.Format.Format_RGBA8888).copy()))
        self._divider_line.setVisible(True)
        self._set_outline(data)
        self._apply_overlay_controls()
        for v in (self.left, self.right, self.overlay_view):
            v.fit()
        box = self._footprint_box(data)
        if box is not None:  # the imagery where the keyframe is, with some context
            x0, y0, x1, y1 = box
            mx, my = 0.15 * (x1 - x0), 0.15 * (y1 - y0)
            self.right.fit_px_rect(x0 - mx, y0 - my, x1 + mx, y1 + my)
            self.overlay_view.fit_px_rect(x0 - 3 * mx, y0 - 3 * my, x1 + 3 * mx, y1 + 3 * my)
        self._syncing = False
        self.lines_layer.update()
        self.applied.emit()

    @staticmethod
    def _footprint_box(data: CompareData) -> tuple[float, float, float, float] | None:
        """Crop-pixel box of the keyframe's outline and landmarks, or None if degenerate."""
        h, w = data.keyframe.shape[:2]
        corners = np.array([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]], float)
        pts = apply_homography(data.h_kf_to_crop, corners)
        marks = np.array([c for _n, _k, c in data.landmarks], float).reshape(-1, 2)
        pts = np.vstack([pts, marks])
        pts = pts[np.all(np.isfinite(pts), axis=1)]
        ch, cw = data.crop.image.shape[:2]
        pts = np.clip(pts, [0, 0], [cw - 1, ch - 1]) if len(pts) else pts
        if len(pts) < 2:
            return None
        (x0, y0), (x1, y1) = pts.min(axis=0), pts.max(axis=0)
        return float(x0), float(y0), float(x1), float(y1)

    def _set_outline(self, data: CompareData) -> None:
        """The keyframe's outline on the imagery (overlay view), clipped to sane values."""
        h, w = data.keyframe.shape[:2]
        corners = np.array([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]], float)
        pts = apply_homography(data.h_kf_to_crop, corners)
        ch, cw = data.crop.image.shape[:2]
        lim = 4.0 * max(ch, cw)
        poly = QPolygonF()
        if np.all(np.isfinite(pts)):
            for x, y in np.clip(pts, -lim, lim):
                poly.append(QPointF(x + 0.5, y + 0.5))
        self._outline.setPolygon(poly)
        self._outline.setVisible(not poly.isEmpty())

    @staticmethod
    def _default_caption(candidate: Candidate, tile: TileRef, crop: SatelliteCrop) -> str:
        name = html.escape(tile.path.replace("\\", "/").rsplit("/", 1)[-1])
        return (
            f"<b>Candidate {candidate.rank}</b>: keyframe <b>{candidate.keyframe_id}</b> "
            f"matched on <b>{name}</b> with {candidate.inliers} landmarks; "
            f"confidence {candidate.confidence:.0%}, "
            f"{format_uncertainty(candidate.uncertainty_m)}. "
            f"Imagery shown at {tile.gsd_m * crop.scale:.2f} m/px."
        )

    def set_point(self, fix: Position | None) -> None:
        """Draw the picked keyframe pixel and its ground position (or clear with ``None``)."""
        for v in (self.left, self.right, self.overlay_view):
            v.clear_point()
        if fix is None or self.crop is None:
            return
        cxy = self.crop.to_crop(np.array([[fix.tile_x, fix.tile_y]]))[0]
        gsd = max(self.crop.tile.gsd_m * self.crop.scale, 1e-9)
        self.left.set_point(fix.x, fix.y)
        self.right.set_point(float(cxy[0]), float(cxy[1]), fix.uncertainty_m / gsd)
        self.overlay_view.set_point(float(cxy[0]), float(cxy[1]), fix.uncertainty_m / gsd)

    # --- controls ------------------------------------------------------------------
    def set_mode(self, overlay: bool) -> None:
        self.tabs.setCurrentIndex(1 if overlay else 0)

    def _show_mask(self, on: bool) -> None:
        if on and self._mask_pending is not None:
            self.left.set_mask(self._mask_pending)
            self._mask_pending = None
        self.left.set_mask_visible(on)

    def _show_marks(self, on: bool) -> None:
        self.left.markers_visible(on)
        self.right.markers_visible(on)
        self.lines_layer.update()

    def _show_lines(self, on: bool) -> None:
        self.lines_layer.shown = on
        self.lines_layer.update()

    def _apply_overlay_controls(self) -> None:
        self._warp_item.setOpacity(self.opacity.value() / 100.0)
        self._warp_item.divider = self.swipe.value() / 100.0
        self._warp_item.update()
        pm = self._warp_item.pixmap()
        x = pm.width() * self._warp_item.divider
        self._divider_line.setLine(x, 0, x, pm.height())
        br = self._side_labels.boundingRect()
        self._side_labels.setPos(x, 4)
        self._side_labels.setTransformOriginPoint(br.width() / 2, 0)
        self._side_labels.setVisible(not pm.isNull())
        # centre the text on the divider (the item ignores the view's zoom)
        self._side_labels.setTransform(QTransform().translate(-br.width() / 2, 0))

    def _sync(self, source: ImageView) -> None:
        """Put the other view on the same ground as ``source`` (linked mode)."""
        hm = self._h_kf_to_crop
        if self._syncing or hm is None or not self.link_box.isChecked():
            return
        target = self.right if source is self.left else self.left
        h = hm if source is self.left else np.linalg.inv(hm)
        cx, cy = source.center_px()
        pts = apply_homography(h, np.array([[cx, cy], [cx + 1, cy], [cx, cy + 1]], float))
        if not np.all(np.isfinite(pts)):
            return
        (ax, ay), (bx, by) = pts[1] - pts[0], pts[2] - pts[0]
        jac = abs(float(ax * by - ay * bx))
        local = math.sqrt(jac) if jac > 0 else 1.0  # target px per source px
        self._syncing = True
        try:
            target.set_zoom(source.zoom() / local)
            target.center_on_px(float(pts[0, 0]), float(pts[0, 1]))
        finally:
            self._syncing = False
        self.lines_layer.update()
