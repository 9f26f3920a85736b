"""Share-ready figures: the current side-by-side, overlay/swipe or map view as PNG or SVG.

The figure is what the analyst sees (the views are rendered as they are zoomed), with
the numbered landmarks, a scale bar and north arrow on the imagery (and the map), a
title over each panel and a caption strip: the candidate's position (lat/lon, MGRS,
uncertainty, decision), the imagery's attribution and date, and the SHA-256 of the case
file at export time, so a reader can ask for the exact case the figure came from.

SVG goes through ``PyQt6.QtSvg.QSvgGenerator``: the caption, titles, scale bar and north
arrow stay text and paths; each view is embedded as a raster of what the screen shows.
Files are written atomically.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePath

import numpy as np
from PyQt6.QtCore import QBuffer, QByteArray, QIODevice, QPointF, QRect, QRectF, QSize, Qt
from PyQt6.QtGui import QColor, QFont, QFontMetrics, QImage, QPainter
from PyQt6.QtSvg import QSvgGenerator
from PyQt6.QtWidgets import QGraphicsView

from workbench.atomic import atomic_write_bytes
from workbench.errors import OutputError, UsageError
from workbench.geo import format_mgrs, format_uncertainty, grid_north_deg
from workbench.hashing import sha256_file
from workbench.results import TileRef
from workbench_ui.compare import CompareWidget
from workbench_ui.image_view import ImageView
from workbench_ui.map_view import MapView, paint_north_arrow, paint_scale_bar
from workbench_ui.session import Session

KINDS = ("side_by_side", "overlay", "map")
TITLE_H = 22
MARGIN = 6
CAPTION_FONT_PT = 9
MIN_WIDTH = 900
MIN_PANEL_H = 480
MAX_UPSCALE = 3.0


@dataclass(frozen=True)
class Panel:
    """One view in the figure.  ``metres_per_px``: ground metres per *screen* pixel of the
    view (NaN: no scale bar, e.g. a keyframe); ``north_deg``: true north clockwise from up
    (NaN: no arrow); ``map_overlays``: the view is the map (draws its own legend too)."""

    view: QGraphicsView
    title: str
    metres_per_px: float = float("nan")
    north_deg: float = float("nan")
    map_overlays: bool = False


def _caption_font() -> QFont:
    f = QFont()
    f.setPointSize(CAPTION_FONT_PT)
    return f


def wrap_lines(lines: Sequence[str], width_px: float, font: QFont) -> list[str]:
    """``lines`` word-wrapped to ``width_px`` in ``font`` (a word longer than the width,
    e.g. a SHA-256, stays whole)."""
    fm = QFontMetrics(font)
    out: list[str] = []
    for line in lines:
        cur = ""
        for word in line.split(" "):
            trial = f"{cur} {word}" if cur else word
            if cur and fm.horizontalAdvance(trial) > width_px:
                out.append(cur)
                cur = "    " + word  # continuation lines are indented
            else:
                cur = trial
        out.append(cur)
    return out


def source_rect(view: QGraphicsView) -> QRect:
    """The part of ``view``'s viewport worth exporting: for an image view, where the image
    is (no empty margins); else the whole viewport."""
    vp = view.viewport()
    assert vp is not None  # QAbstractScrollArea always has one
    full = vp.rect()
    size = getattr(view, "image_size", None)
    if size is None:
        return full
    w, h = size()
    if w <= 0 or h <= 0:
        return full
    shown = view.mapFromScene(QRectF(0, 0, w, h)).boundingRect()
    part = shown.intersected(full)
    return part if part.width() >= 32 and part.height() >= 32 else full


def panel_scales(panels: Sequence[Panel]) -> list[float]:
    """How much larger than on screen each panel is drawn: the views are rendered again
    (not screenshotted) so that all panels share one height of at least
    :data:`MIN_PANEL_H` (and a lone panel is at least :data:`MIN_WIDTH` wide), never more
    than :data:`MAX_UPSCALE` times the screen."""
    rects = [source_rect(p.view) for p in panels]
    if not rects or min(r.height() for r in rects) <= 0:
        return [1.0] * len(rects)
    height = max(MIN_PANEL_H, *(r.height() for r in rects))
    scales = [min(MAX_UPSCALE, height / r.height()) for r in rects]
    width = sum(r.width() * k for r, k in zip(rects, scales, strict=True))
    if width < MIN_WIDTH:
        grow = MIN_WIDTH / width
        scales = [min(MAX_UPSCALE, k * grow) for k in scales]
    return [max(1.0, k) for k in scales]


def _layout(panels: Sequence[Panel], caption: Sequence[str]
            ) -> tuple[QSize, list[QRectF], int, list[str]]:
    sizes = [source_rect(p.view).size() * k
             for p, k in zip(panels, panel_scales(panels), strict=True)]
    width = max(MIN_WIDTH, sum(s.width() for s in sizes) + MARGIN * (len(sizes) + 1))
    img_h = max(s.height() for s in sizes)
    rects, x = [], float(MARGIN)
    for s in sizes:
        rects.append(QRectF(x, MARGIN + TITLE_H, s.width(), s.height()))
        x += s.width() + MARGIN
    font = _caption_font()
    lines = wrap_lines(caption, width - 2 * MARGIN - 4, font)
    line_h = QFontMetrics(font).height() + 3
    cap_h = line_h * len(lines) + 2 * MARGIN
    return QSize(width, MARGIN + TITLE_H + img_h + MARGIN + cap_h), rects, line_h, lines


def paint_figure(painter: QPainter, size: QSize, panels: Sequence[Panel], rects: list[QRectF],
                 caption: Sequence[str], line_h: int) -> None:
    """Paint the whole figure (background, panels, overlays, titles, caption strip)."""
    painter.setRenderHints(QPainter.RenderHint.Antialiasing
                           | QPainter.RenderHint.SmoothPixmapTransform
                           | QPainter.RenderHint.TextAntialiasing)
    painter.fillRect(QRectF(0, 0, size.width(), size.height()), QColor(255, 255, 255))
    title_font = QFont()
    title_font.setPointSize(10)
    title_font.setBold(True)
    for panel, rect in zip(panels, rects, strict=True):
        view = panel.view
        vp = view.viewport()
        assert vp is not None  # QAbstractScrollArea always has one
        overlays = getattr(view, "overlays", None)
        if overlays is not None:
            view.overlays = False  # type: ignore[attr-defined]  # the figure draws them
        # each view is rendered to a raster first: an SVG painter does not clip, so a view
        # drawn straight into it would spill over its neighbours
        src = source_rect(view)
        shot = QImage(rect.size().toSize(), QImage.Format.Format_RGB32)
        shot.fill(QColor(40, 40, 44))
        sp = QPainter(shot)
        try:
            sp.setRenderHints(painter.renderHints())
            view.render(sp, QRectF(shot.rect()), src)
        finally:
            sp.end()
            if overlays is not None:
                view.overlays = overlays  # type: ignore[attr-defined]
        painter.drawImage(rect, shot)
        painter.save()
        painter.setClipRect(rect)
        k = rect.width() / max(src.width(), 1)  # figure px per screen px
        if panel.map_overlays and hasattr(view, "paint_overlays"):
            mpp = view.metres_per_px()  # type: ignore[attr-defined]
            view.paint_overlays(painter, rect, metres_per_px=mpp / k)
        else:
            paint_scale_bar(painter, rect, panel.metres_per_px / k)
            paint_north_arrow(painter, rect, panel.north_deg)
        painter.restore()
        painter.setFont(title_font)
        painter.setPen(QColor(20, 20, 20))
        title = QFontMetrics(title_font).elidedText(panel.title, Qt.TextElideMode.ElideRight,
                                                     int(rect.width()))
        painter.drawText(QRectF(rect.left(), MARGIN, rect.width(), TITLE_H),
                         int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), title)
    top = max(r.bottom() for r in rects) + MARGIN
    painter.fillRect(QRectF(0, top, size.width(), size.height() - top), QColor(245, 245, 242))
    painter.setPen(QColor(20, 20, 20))
    painter.setFont(_caption_font())
    y = top + MARGIN
    for line in caption:
        painter.drawText(QPointF(MARGIN + 2, y + QFontMetrics(painter.font()).ascent()), line)
        y += line_h


def export_figure(path: str | Path, panels: Sequence[Panel], caption: Sequence[str], *,
                  title: str = "Geolocation figure") -> Path:
    """Write the figure of ``panels`` with the ``caption`` lines to ``path``: SVG when it
    ends in ``.svg``, PNG when ``.png``.

    Raises:
        UsageError: no panel, a view with nothing shown, or another suffix.
        OutputError: the file cannot be written (nothing half-written is left).
    """
    out = Path(path)
    suffix = out.suffix.lower()
    if suffix not in (".png", ".svg"):
        raise UsageError(f"a figure is saved as .png or .svg, not {out.suffix or 'no suffix'!r}",
                         out)
    if not panels:
        raise UsageError("nothing to export: no view is shown", out)
    size, rects, line_h, lines = _layout(panels, caption)
    buf = QBuffer()
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    if suffix == ".svg":
        gen = QSvgGenerator()
        gen.setOutputDevice(buf)
        gen.setSize(size)
        gen.setViewBox(QRectF(0, 0, size.width(), size.height()))
        gen.setResolution(96)  # as a QImage: the same text size in PNG and SVG
        gen.setTitle(title)
        gen.setDescription("\n".join(caption))
        painter = QPainter(gen)
        try:
            paint_figure(painter, size, panels, rects, lines, line_h)
        finally:
            painter.end()
    else:
        image = QImage(size, QImage.Format.Format_RGB32)
        painter = QPainter(image)
        try:
            paint_figure(painter, size, panels, rects, lines, line_h)
        finally:
            painter.end()
        if not image.save(buf, "PNG"):
            raise OutputError("cannot encode the figure as PNG", out)
    data: QByteArray = buf.data()
    buf.close()
    try:
        return atomic_write_bytes(out, bytes(data.data()))
    except OSError as exc:
        raise OutputError(f"cannot write the figure ({exc.strerror or exc})", out) from exc


# --- what goes into the app's figures -------------------------------------------------------
def figure_caption(kind: str, s: Session, compare: CompareWidget, selected: int,
                   footprints: Sequence[str]) -> list[str]:
    """The caption lines of figure ``kind``: candidate ``selected``'s position (lat/lon,
    MGRS, 1-sigma, confidence, decision), each raster's attribution, date and resolution
    (those named in ``footprints`` for the map), and the case file's SHA-256 now."""
    lines: list[str] = []
    cand = s.candidate(selected)
    tiles: list[TileRef] = []
    if cand is not None:
        decision = s.decisions().get(cand.rank, "")
        mgrs = format_mgrs(cand.lat, cand.lon)
        lines.append(
            f"Candidate {cand.rank}: {cand.lat:.6f}, {cand.lon:.6f} (WGS84)"
            + (f", MGRS {mgrs}" if mgrs else "")
            + f", {format_uncertainty(cand.uncertainty_m)} (1-sigma), confidence "
            f"{cand.confidence:.0%}, " + (f"{decision} by the analyst" if decision
                                           else "not yet decided by the analyst"))
        tile = s.tile_ref(cand.tile)
        if tile is not None:
            tiles.append(tile)
    if kind == "map" or not tiles:
        tiles = [t for n in footprints if (t := s.tile_ref(n)) is not None] or tiles
    for t in tiles[:3]:
        lines.append(f"Imagery: {PurePath(t.path).name}: "
                     f"{t.attribution or 'attribution not recorded'}, "
                     f"acquired {t.acquired or 'date unknown'}, {t.gsd_m:.2f} m/px")
    if kind == "side_by_side" and compare.landmarks:
        lines.append("Numbered circles: the same number marks the same landmark in the "
                     "keyframe and the imagery.")
    if s.case_path is not None and s.case_path.is_file():
        sha, _size = sha256_file(s.case_path)
        lines.append(f"Case {s.case_path.name} SHA-256 {sha} (at export)")
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines.append(f"Exported {stamp} with the OSINT Geolocation Workbench.")
    return lines


def figure_panels(kind: str, s: Session, compare: CompareWidget, map_view: MapView
                  ) -> list[Panel]:
    """The views of figure ``kind`` (``side_by_side``, ``overlay``, ``map``) with their
    titles, ground metres per screen pixel and north direction; empty when not shown."""
    c = compare
    if kind == "map":
        if map_view.projection is None:
            return []
        return [Panel(map_view, "Overview map (local azimuthal equidistant, north up)",
                      map_overlays=True)]
    if c.crop is None or c.candidate is None:
        return []
    crop, cand = c.crop, c.candidate
    tile = crop.tile
    ch, cw = crop.image.shape[:2]
    centre = crop.to_tile(np.array([[cw / 2, ch / 2]]))[0]
    north = grid_north_deg(tile.transform, tile.crs, (float(centre[0]), float(centre[1])))
    name = PurePath(tile.path).name
    kf = s.keyframe(cand.keyframe_id)
    when = f" at {kf.time_s:.2f} s" if kf is not None else ""

    def mpp(view: ImageView) -> float:
        z = view.zoom()
        return tile.gsd_m * crop.scale / z if z > 0 else math.nan

    if kind == "overlay":
        return [Panel(c.overlay_view, f"Keyframe {cand.keyframe_id} over {name} "
                      "(swipe: keyframe left of the divider)", mpp(c.overlay_view), north)]
    return [Panel(c.left, f"Keyframe {cand.keyframe_id} of the footage{when}"),
            Panel(c.right, f"Reference imagery: {name}", mpp(c.right), north)]
