"""The overview map dock: where the candidates, the imagery, the claim and the context
layers lie relative to each other; the ground position of any click; the ruler; and
share-ready figure export.

:class:`MapPanel` is the widget (toolbar, :class:`~workbench_ui.map_view.MapView`, a
line of text for the last click); :class:`MapDock` binds it to the session, the
candidates table (one selection: clicking a candidate on the map selects its row, and
selecting a row highlights it on the map) and the comparison's imagery pane (a click
there gives the ground position too).  Imagery previews are read off the GUI thread
from the rasters' own overviews (:func:`workbench.imagery.preview.footprint_preview`).
Nothing is fetched from a network.
"""

from __future__ import annotations

import contextlib
import math
from pathlib import Path, PurePath
from typing import Any

import numpy as np
from PyQt6.QtCore import QCoreApplication, QObject, QRectF, QTimer
from PyQt6.QtGui import QAction, QColor, QPen
from PyQt6.QtWidgets import (
    QFileDialog,
    QGraphicsItem,
    QGraphicsLineItem,
    QMenu,
)

from workbench.claim.layers import layer_meta
from workbench.errors import UsageError, WorkbenchError
from workbench.geo import (
    format_mgrs,
    lonlat_to_tile_px,
    tile_px_to_lonlat,
)
from workbench.imagery.preview import FootprintPreview, footprint_preview
from workbench.position import keyframe_pixel_at
from workbench.results import Candidate, TileRef
from workbench_ui.figure_export import Panel, export_figure, figure_caption, figure_panels
from workbench_ui.image_view import ImageView
from workbench_ui.map_items import (
    CANDIDATE,
    CLAIMED,
    CONFIRMED,
    FOOTPRINT,
    POI,
    RULER,
    SELECTED,
    MapCandidate,
    MapContent,
    MapLayer,
    MapPoint,
    MapProjection,
    boxed_label,
    build_items,
    preview_item,
)
from workbench_ui.map_panel import INFO_HINT, MapPanel
from workbench_ui.map_view import keep_label_in_view
from workbench_ui.ruler import Ruler
from workbench_ui.runner import describe_error
from workbench_ui.session import Session
from workbench_ui.views import Views
from workbench_ui.workers import Task, TaskPool

FIGURE_KINDS = {"side_by_side": "Side by side", "overlay": "Overlay / swipe", "map": "Map"}


def _class_attribute(fc: dict[str, Any]) -> str | None:
    attr = layer_meta(fc).class_attribute
    if attr:
        return attr
    feats = fc.get("features") or []
    has = any(isinstance(f, dict) and isinstance(f.get("properties"), dict)
              and "controller" in f["properties"] for f in feats)
    return "controller" if has else None


class MapDock(QObject):
    """Keeps the map in step with the session; clicks, ruler and figure export."""

    def __init__(self, views: Views, session: Session, pool: TaskPool,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.v, self.s, self.pool = views, session, pool
        self.panel = MapPanel()
        self.view = self.panel.view
        self.ruler = Ruler(self)
        self.selected = 0
        self.content = MapContent()
        self.projection: MapProjection | None = None
        self.previews: dict[str, FootprintPreview | None] = {}
        self.last_ground: tuple[float, float] | None = None
        self.last_keyframe_px: tuple[float, float] | None = None
        self._pending: set[str] = set()
        self._fitted_for: tuple[str, tuple[str, ...]] | None = None
        self._pane_items: list[QGraphicsItem] = []
        self.figure_menu = QMenu("Export &figure", self.panel)
        self.figure_actions: dict[str, QAction] = {}
        for kind, label in FIGURE_KINDS.items():
            act = self.figure_menu.addAction(f"{label}…")
            assert act is not None
            act.triggered.connect(lambda _c=False, k=kind: self.ask_export_figure(k))
            self.figure_actions[kind] = act
        self.panel.export_btn.setMenu(self.figure_menu)

        s, w = self.s, self.v
        # refreshed in an event-loop turn of its own, once per burst of changes (opening a
        # case emits three signals; the case's own loading already takes a turn)
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(0)
        self._refresh_timer.timeout.connect(self.refresh)
        for sig in (s.caseChanged, s.decisionsChanged, s.imageryChanged):
            sig.connect(self._refresh_timer.start)
        w.candidates.candidateSelected.connect(self.set_selected)
        self.view.candidateClicked.connect(self._on_candidate_clicked)
        self.view.groundClicked.connect(lambda lon, lat: self._on_ground(lon, lat, "map"))
        for pane in (w.compare.right, w.compare.overlay_view):
            pane.pixelClicked.connect(lambda x, y, p=pane: self._on_imagery_click(p, x, y))
        # a new crop (another candidate) moves the ruler's line on the imagery pane
        w.compare.right.viewChanged.connect(self._crop_maybe_changed)
        self._ruler_crop: object = None
        self.panel.fit_btn.clicked.connect(self.view.fit)
        self.panel.all_btn.clicked.connect(self.view.fit_all)
        self.panel.ruler_btn.toggled.connect(self.ruler.set_active)
        self.ruler.changed.connect(self._draw_ruler)
        self.refresh()

    # --- content ----------------------------------------------------------------------------
    def build_content(self) -> MapContent:
        """What the map shows now, from the session (the case, the loaded imagery)."""
        s = self.s
        content = MapContent()
        decisions = s.decisions()
        if s.result is not None:
            content.candidates = [
                MapCandidate(c.rank, c.lon, c.lat, c.uncertainty_m, decisions.get(c.rank, ""),
                             c.tile)
                for c in s.result.candidates]
        seen: set[str] = set()
        for t in s.tiles:
            if str(t.path) not in seen:
                seen.add(str(t.path))
                content.footprints.append((str(t.path), [list(p) for p in t.footprint]))
        case = s.case
        if case is not None:
            with contextlib.suppress(WorkbenchError, OSError):
                for rec in case.rasters:
                    if str(rec.path) not in seen and rec.footprint:
                        seen.add(str(rec.path))
                        content.footprints.append((str(rec.path), list(rec.footprint)))
            with contextlib.suppress(WorkbenchError, OSError):
                content.points = [MapPoint(p.label, p.lon, p.lat)
                                  for p in case.points_of_interest()]
            with contextlib.suppress(WorkbenchError, OSError):
                claim = case.claim()
                if claim is not None:
                    content.claim_point = claim.lonlat
                    content.claim_area = claim.area_geojson
            with contextlib.suppress(WorkbenchError, OSError):
                content.layers = [MapLayer(lay.name, lay.geojson, _class_attribute(lay.geojson))
                                  for lay in case.context_layers()]
        return content

    def refresh(self) -> None:
        """Rebuild the map from the session (keeps the zoom unless the case changed)."""
        self.content = self.build_content()
        centre = self.content.centre()
        key = (str(self.s.case_path), tuple(n for n, _r in self.content.footprints))
        if key[0] != str(self._fitted_for[0] if self._fitted_for else None):
            self.forget_click()  # another case (or none): the last click was elsewhere
        if centre is None:
            self.projection, self._fitted_for = None, None
        elif self.projection is None or key != self._fitted_for:
            self.projection = MapProjection(*centre)
        self._redraw()
        if self.projection is not None and key != self._fitted_for:
            self._fitted_for = key
            self.view.fit()
        self._load_previews()

    def _redraw(self) -> None:
        proj = self.projection
        if proj is None:
            self.view.set_items(None, [], None)
            self.view.legend = []
            self.panel.set_legend([])
            return
        items, colours = build_items(proj, self.content, self.selected)
        for name, _ring in self.content.footprints:
            prev = self.previews.get(name)
            item = preview_item(proj, prev) if prev is not None else None
            if item is not None:
                item.setToolTip(f"imagery: {PurePath(name).name}")
                items.append(item)
        def box(lonlat: np.ndarray) -> QRectF | None:
            xy = proj.to_scene(lonlat) if len(lonlat) else np.zeros((0, 2))
            xy = xy[np.all(np.isfinite(xy), axis=1)]
            if not len(xy):
                return None
            return QRectF(float(xy[:, 0].min()), float(xy[:, 1].min()),
                          float(np.ptp(xy[:, 0])), float(np.ptp(xy[:, 1])))

        extent = box(self.content.lonlat(focus=True))
        everything = box(self.content.lonlat(focus=False))
        self.view.set_items(proj, items, extent, everything)
        legend: list[tuple[QColor, str]] = []
        if self.content.candidates:
            legend += [(CANDIDATE, "candidate (circle: 1-sigma)"), (SELECTED, "selected")]
            if any(c.decision == "confirmed" for c in self.content.candidates):
                legend.append((CONFIRMED, "confirmed"))
        if self.content.points:
            legend.append((POI, "point of interest"))
        if self.content.claim_point or self.content.claim_area:
            legend.append((CLAIMED, "claimed"))
        if self.content.footprints:
            legend.append((FOOTPRINT, "imagery footprint"))
        attrs = sorted({lay.class_attribute for lay in self.content.layers if lay.class_attribute})
        legend += [(c, f"{attrs[0] if attrs else 'class'}: {k}") for k, c in colours.items()]
        self.view.legend = legend
        self.panel.set_legend(legend)
        if self.last_ground is not None:
            self.view.mark_click(*self.last_ground)
        self._draw_ruler()

    def _load_previews(self) -> None:
        for name, _ring in self.content.footprints:
            if name in self.previews or name in self._pending or not Path(name).is_file():
                continue
            self._pending.add(name)
            task = Task(footprint_preview, name, name="map preview", with_progress=False,
                        parent=self)
            task.succeeded.connect(lambda prev, n=name: self._preview_ready(n, prev))
            task.failed.connect(lambda _msg, n=name: self._preview_ready(n, None))
            self.pool.run(task)

    def _preview_ready(self, name: str, preview: object) -> None:
        self._pending.discard(name)
        self.previews[name] = preview if isinstance(preview, FootprintPreview) else None
        if preview is not None:
            self._redraw()

    def previews_pending(self) -> bool:
        """True while a refresh or an imagery preview is still to come."""
        return bool(self._pending) or self._refresh_timer.isActive()

    # --- selection --------------------------------------------------------------------------
    def set_selected(self, rank: int) -> None:
        if rank != self.selected:
            self.selected = rank
            self._redraw()

    def _on_candidate_clicked(self, rank: int) -> None:
        if not self.ruler.active:
            self.v.candidates.select_rank(rank)

    # --- clicks -> ground position ---------------------------------------------------------
    def _current(self) -> tuple[Candidate, TileRef] | None:
        cand = self.s.candidate(self.selected)
        tile = self.s.tile_ref(cand.tile) if cand is not None else None
        return (cand, tile) if cand is not None and tile is not None else None

    def _on_imagery_click(self, pane: ImageView, x: float, y: float) -> None:
        crop = self.v.compare.crop
        if crop is None:
            return
        txy = crop.to_tile(np.array([[x, y]]))
        try:
            lon, lat = (float(v) for v in tile_px_to_lonlat(crop.tile.transform, crop.tile.crs,
                                                            txy, require_finite=True)[0])
        except WorkbenchError as exc:
            self.v.error(describe_error(exc))
            return
        self._on_ground(lon, lat, "imagery")

    def _on_ground(self, lon: float, lat: float, source: str) -> None:
        if self.ruler.active:
            self.ruler.add(lon, lat)
            self.panel.info.setText(self.ruler.text())
            self.v.status(self.ruler.text())
            return
        self.show_ground(lon, lat, source)

    def show_ground(self, lon: float, lat: float, source: str = "map") -> str:
        """Describe the ground point (lat/lon, MGRS, the keyframe pixel that sees it in the
        selected candidate), mark it on the map and the comparison; returns the text."""
        self.last_ground = (lon, lat)
        self.last_keyframe_px = None
        mgrs = format_mgrs(lat, lon)
        text = f"{lat:.6f}, {lon:.6f} (WGS84)" + (f" · MGRS {mgrs}" if mgrs else "")
        cur = self._current()
        if cur is not None:
            cand, tile = cur
            kf = self.s.keyframe(cand.keyframe_id)
            px = None
            if kf is not None:
                h, w = kf.image.shape[:2]
                px = keyframe_pixel_at(cand.homography, tile.transform, tile.crs, (lon, lat),
                                       (w, h))
            if px is not None:
                self.last_keyframe_px = px
                text += (f" · seen in keyframe {cand.keyframe_id} at pixel "
                         f"({px[0]:.0f}, {px[1]:.0f}) (ground level)")
            else:
                text += f" · outside keyframe {cand.keyframe_id} of candidate {cand.rank}"
        self.panel.info.setText(f"{'Map' if source == 'map' else 'Imagery'} click: {text}")
        self.v.status(text, 15_000)
        self.view.mark_click(lon, lat)
        self._mark_compare(lon, lat)
        return text

    def _crop_px(self, lon: float, lat: float) -> tuple[float, float] | None:
        crop = self.v.compare.crop
        if crop is None:
            return None
        txy = lonlat_to_tile_px(crop.tile.transform, crop.tile.crs, [[lon, lat]])
        cxy = crop.to_crop(txy)[0]
        return (float(cxy[0]), float(cxy[1])) if np.all(np.isfinite(cxy)) else None

    def _mark_compare(self, lon: float, lat: float) -> None:
        c = self.v.compare
        for pane in (c.left, c.right, c.overlay_view):
            pane.clear_point()
        cxy = self._crop_px(lon, lat)
        if cxy is not None:
            c.right.set_point(*cxy)
            c.overlay_view.set_point(*cxy)
        if self.last_keyframe_px is not None:
            c.left.set_point(*self.last_keyframe_px)

    # --- ruler ------------------------------------------------------------------------------
    def _crop_maybe_changed(self) -> None:
        if self.v.compare.crop is not self._ruler_crop and self.ruler.active:
            self._draw_ruler()

    def forget_click(self) -> None:
        """Drop the last ground click (its marks and text)."""
        self.last_ground, self.last_keyframe_px = None, None
        self.view.mark_click(math.nan, math.nan)
        self.panel.info.setText(INFO_HINT)

    def _draw_ruler(self) -> None:
        r = self.ruler
        self._ruler_crop = self.v.compare.crop
        text = r.measurement.text() if r.measurement is not None else ""
        self.view.show_ruler(r.points if r.active else [], text)
        pane = self.v.compare.right
        scene = pane.scene()
        for it in self._pane_items:
            if scene is not None and it.scene() is scene:
                scene.removeItem(it)
        self._pane_items = []
        pts = [self._crop_px(lon, lat) for lon, lat in (r.points if r.active else [])]
        if len(pts) == 2 and pts[0] is not None and pts[1] is not None:
            (x0, y0), (x1, y1) = pts[0], pts[1]
            line = QGraphicsLineItem(x0 + 0.5, y0 + 0.5, x1 + 0.5, y1 + 0.5)
            pen = QPen(RULER, 2)
            pen.setCosmetic(True)
            line.setPen(pen)
            line.setZValue(30)
            lab = boxed_label(text)
            lab.setPos((x0 + x1) / 2 + 0.5, (y0 + y1) / 2 + 0.5)
            lab.setZValue(31)
            for it in (line, lab):
                pane.add_item(it)
                self._pane_items.append(it)
            keep_label_in_view(lab, pane)
        if r.active:
            self.panel.info.setText(r.text())
        elif self.panel.info.text().startswith("Ruler:"):
            self.panel.info.setText(INFO_HINT)

    # --- figures ----------------------------------------------------------------------------
    def caption(self, kind: str) -> list[str]:
        """The figure's caption lines (position, imagery, case SHA-256)."""
        return figure_caption(kind, self.s, self.v.compare, self.selected,
                              [n for n, _r in self.content.footprints])

    def panels(self, kind: str) -> list[Panel]:
        """The views of figure ``kind`` (``side_by_side``, ``overlay``, ``map``)."""
        return figure_panels(kind, self.s, self.v.compare, self.view)

    def export(self, kind: str, path: Path) -> Path:
        """Write figure ``kind`` to ``path`` (.png / .svg); raises ``WorkbenchError``."""
        if kind not in FIGURE_KINDS:
            raise UsageError(f"unknown figure {kind!r}: one of {', '.join(FIGURE_KINDS)}", path)
        if kind in ("side_by_side", "overlay"):  # the view must be laid out to be rendered
            self.v.center_tabs.setCurrentWidget(self.v.compare)
            self.v.compare.set_mode(overlay=kind == "overlay")
            QCoreApplication.processEvents()
        panels = self.panels(kind)
        if not panels:
            raise UsageError("nothing to export: select a candidate (or open a case for the "
                             "map) first", path)
        return export_figure(path, panels, self.caption(kind),
                             title=f"{FIGURE_KINDS[kind]} figure")

    def ask_export_figure(self, kind: str) -> None:
        base = Path(self.v.settings.value("figure/dir", str(Path.home()), type=str))
        stem = self.s.case_path.stem if self.s.case_path else "figure"
        path, _f = QFileDialog.getSaveFileName(
            self.v.window, f"Export figure: {FIGURE_KINDS[kind]}",
            str(base / f"{stem}-{kind}.png"), "PNG image (*.png);;SVG drawing (*.svg)")
        if not path:
            return
        try:
            out = self.export(kind, Path(path))
        except (WorkbenchError, OSError) as exc:
            self.v.error(describe_error(exc))
            return
        self.v.settings.setValue("figure/dir", str(out.parent))
        self.v.info(f"Figure saved: {out}")
