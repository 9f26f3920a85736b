"""Report figures for the claim and the time check, drawn with OpenCV/numpy (offline: no
basemap is fetched).

* :func:`locator_map`: the located point with its uncertainty circle, the claimed point
  or area, imagery footprints and context features (polygons outlined, points coloured by
  class), in an azimuthal-equidistant frame centred on the located point (north up at
  the point, true distances and bearings from it), with a scale bar, north arrow and
  legend.
* :func:`sun_day_figure`: the sun's azimuth over the claimed day, the band the shadow
  allows, the fitting windows and the claimed time.
* :func:`shadow_figure`: the keyframe with the measured shadow (foot -> tip) drawn.

Outputs are ``(h, w, 3) uint8`` BGR images; text is ASCII (OpenCV's Hershey fonts), so
other characters are shown as ``?``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import cv2
import numpy as np
import shapely
from shapely.geometry import shape

from workbench.claim import ShadowMeasure, TimeCheck, aeqd, layer_meta
from workbench.report.figures import FONT, PALETTE, scale_bar

INK = (40, 40, 40)
LOCATED = (40, 40, 220)  # red (BGR)
CLAIMED = (0, 140, 255)  # orange
FOOTPRINT = (200, 120, 30)  # blue
MAX_CLASSES = 8
LEGEND_W = 330  # px of the right-hand legend strip


def ascii_text(text: object, limit: int = 60) -> str:
    """Printable ASCII for OpenCV text (others become ``?``), cut to ``limit``."""
    s = "".join(c if 32 <= ord(c) < 127 else "?" for c in " ".join(str(text).split()))
    return s if len(s) <= limit else s[: limit - 3] + "..."


def _text(img: np.ndarray, text: str, xy: tuple[int, int], colour: tuple[int, int, int] = INK,
          scale: float = 0.45, bold: int = 1, limit: int = 140) -> None:
    line = ascii_text(text, limit)
    cv2.putText(img, line, xy, FONT, scale, (255, 255, 255), bold + 3, cv2.LINE_AA)
    cv2.putText(img, line, xy, FONT, scale, colour, bold, cv2.LINE_AA)


class _Frame:
    """WGS84 lon/lat -> canvas pixels through an AEQD frame centred on the point."""

    def __init__(self, lon: float, lat: float, centre_m: tuple[float, float],
                 half_extent_m: float, size: tuple[int, int]):
        self.fwd, _ = aeqd(float(lon), float(lat))
        self.w, self.h = size
        self.cx, self.cy = centre_m
        self.m_per_px = 2.0 * half_extent_m / min(self.w, self.h)

    def px(self, lonlat: np.ndarray) -> np.ndarray:
        """``(N, 2)`` lon/lat -> ``(N, 2)`` int32 canvas pixels (clipped far outside)."""
        ll = np.asarray(lonlat, dtype=np.float64).reshape(-1, 2)
        x, y = self.fwd.transform(ll[:, 0], ll[:, 1])
        cx = self.w / 2 + (np.asarray(x) - self.cx) / self.m_per_px
        cy = self.h / 2 - (np.asarray(y) - self.cy) / self.m_per_px
        out = np.column_stack([cx, cy])
        out = np.nan_to_num(out, nan=-1e5, posinf=1e5, neginf=-1e5)
        return np.clip(np.round(out), -1e5, 1e5).astype(np.int32)

    def inside(self, p: np.ndarray) -> bool:
        return bool(0 <= p[0] < self.w and 0 <= p[1] < self.h)


def _rings(geom: Any) -> list[np.ndarray]:
    if geom.geom_type == "Polygon":
        return [np.asarray(geom.exterior.coords)] + [np.asarray(r.coords)
                                                      for r in geom.interiors]
    if geom.geom_type in ("MultiPolygon", "GeometryCollection"):
        return [r for g in geom.geoms for r in _rings(g)]
    if geom.geom_type in ("LineString", "LinearRing"):
        return [np.asarray(geom.coords)]
    if geom.geom_type == "MultiLineString":
        return [np.asarray(g.coords) for g in geom.geoms]
    return []


def locator_map(lon: float, lat: float, uncertainty_m: float | None, *,
                claim_lonlat: tuple[float, float] | None = None,
                claim_area: dict[str, Any] | None = None,
                layers: Sequence[tuple[str, dict[str, Any]]] = (),
                footprints: Sequence[Sequence[Sequence[float]]] = (),
                include: Sequence[tuple[float, float]] = (),
                class_attribute: str = "controller",
                size: tuple[int, int] = (1100, 720), title: str = "") -> np.ndarray:
    """Draw the locator map (see the module docstring).

    The view spans the located point, the claimed point and the ``include`` points (e.g.
    the nearest feature of each class), at least 2 km across.  Returns ``(h, w, 3)``
    uint8 BGR.
    """
    pts = [(lon, lat), *include] + ([claim_lonlat] if claim_lonlat else [])
    fwd, _ = aeqd(float(lon), float(lat))
    xs, ys = (np.asarray(v, dtype=np.float64)
              for v in fwd.transform([p[0] for p in pts], [p[1] for p in pts]))
    ok = np.isfinite(xs) & np.isfinite(ys)
    xs, ys = xs[ok], ys[ok]
    centre = ((xs.min() + xs.max()) / 2, (ys.min() + ys.max()) / 2)
    half = max(xs.max() - xs.min(), ys.max() - ys.min()) / 2
    w, h = size
    frame = _Frame(lon, lat, (float(centre[0]), float(centre[1])), max(1000.0, half * 1.25),
                   (w - LEGEND_W, h))
    img = np.full((h, w, 3), 248, np.uint8)
    classes: dict[str, tuple[int, int, int]] = {}
    legend_layers: list[str] = []
    for name, fc in layers:
        meta = layer_meta(fc)
        legend_layers.append(f"{name}: as of {meta.as_of_date().label()}")
        for f in fc.get("features") or []:
            try:
                g = shape(f["geometry"])
            except (KeyError, TypeError, ValueError, AttributeError,
                    shapely.errors.ShapelyError):
                continue
            props = f.get("properties") if isinstance(f.get("properties"), dict) else {}
            for ring in _rings(g):
                cv2.polylines(img, [frame.px(ring[:, :2])], g.geom_type.endswith("Polygon"),
                              (150, 150, 150), 1, cv2.LINE_AA)
            if g.geom_type.endswith("Polygon"):
                c = frame.px(np.asarray(g.representative_point().coords))[0]
                if frame.inside(c) and props.get("shapeName", props.get("name")):
                    _text(img, str(props.get("shapeName", props.get("name"))),
                          (int(c[0]), int(c[1])), (120, 120, 120), 0.4)
            if g.geom_type in ("Point", "MultiPoint"):
                value = props.get(class_attribute)
                key = str(value) if value not in (None, "") else "(no class)"
                if key not in classes and len(classes) < MAX_CLASSES:
                    classes[key] = PALETTE[len(classes) % len(PALETTE)]
                colour = classes.get(key, (120, 120, 120))
                for p in frame.px(shapely.get_coordinates(g)):
                    if frame.inside(p):
                        cv2.circle(img, (int(p[0]), int(p[1])), 5, colour, -1, cv2.LINE_AA)
                        cv2.circle(img, (int(p[0]), int(p[1])), 5, INK, 1, cv2.LINE_AA)
    for fp in footprints:
        arr = np.asarray(fp, dtype=np.float64).reshape(-1, 2)
        if len(arr) >= 3:
            cv2.polylines(img, [frame.px(arr)], True, FOOTPRINT, 2, cv2.LINE_AA)
    if claim_area:
        for ring in _rings(shape(claim_area)):
            cv2.polylines(img, [frame.px(ring[:, :2])], True, CLAIMED, 2, cv2.LINE_AA)
    here = frame.px(np.array([[lon, lat]]))[0]
    if claim_lonlat:
        cp = frame.px(np.array([claim_lonlat]))[0]
        cv2.line(img, (int(here[0]), int(here[1])), (int(cp[0]), int(cp[1])), CLAIMED, 1,
                 cv2.LINE_AA)
        cv2.drawMarker(img, (int(cp[0]), int(cp[1])), CLAIMED, cv2.MARKER_TILTED_CROSS, 18, 3)
        _text(img, "claimed", (int(cp[0]) + 10, int(cp[1]) - 8), CLAIMED, 0.5, 2)
    if uncertainty_m and math.isfinite(uncertainty_m):
        r = round(uncertainty_m / frame.m_per_px)
        if r >= 3:
            cv2.circle(img, (int(here[0]), int(here[1])), r, LOCATED, 2, cv2.LINE_AA)
    cv2.drawMarker(img, (int(here[0]), int(here[1])), LOCATED, cv2.MARKER_CROSS, 22, 3)
    _text(img, "located", (int(here[0]) + 12, int(here[1]) + 18), LOCATED, 0.5, 2)
    img[:, w - LEGEND_W:] = 255  # the legend strip (covers what spills over the map)
    cv2.line(img, (w - LEGEND_W, 0), (w - LEGEND_W, h), INK, 1)
    _legend(img, classes, class_attribute, legend_layers)
    _north_arrow(img)
    scale_bar(img, frame.m_per_px)
    if title:
        _text(img, title, (12, 24), INK, 0.6, 2)
    return img


def _legend(img: np.ndarray, classes: dict[str, tuple[int, int, int]], attribute: str,
            layer_lines: list[str]) -> None:
    x, y = img.shape[1] - LEGEND_W + 12, 24
    cv2.drawMarker(img, (x + 5, y - 4), LOCATED, cv2.MARKER_CROSS, 12, 2)
    _text(img, "located point, 1-sigma circle", (x + 18, y))
    y += 18
    cv2.drawMarker(img, (x + 5, y - 4), CLAIMED, cv2.MARKER_TILTED_CROSS, 12, 2)
    _text(img, "claimed point / area", (x + 18, y))
    y += 18
    cv2.rectangle(img, (x, y - 10), (x + 10, y), FOOTPRINT, 2)
    _text(img, "imagery footprint", (x + 18, y))
    y += 18
    if classes:
        _text(img, f"{attribute}:", (x, y))
        y += 18
    for key, colour in classes.items():
        cv2.circle(img, (x + 5, y - 4), 5, colour, -1, cv2.LINE_AA)
        _text(img, key, (x + 18, y), INK, 0.4, 1, 44)
        y += 18
    y += 8
    for line in layer_lines:
        _text(img, line, (x, y), (90, 90, 90), 0.4, 1, 48)
        y += 18


def _north_arrow(img: np.ndarray) -> None:
    x, y = 34, 80
    cv2.arrowedLine(img, (x, y), (x, y - 40), INK, 3, cv2.LINE_AA, tipLength=0.35)
    _text(img, "N", (x - 7, y + 20), INK, 0.6, 2)


def sun_day_figure(check: TimeCheck, times: Sequence[datetime], azimuth: np.ndarray,
                   elevation: np.ndarray, size: tuple[int, int] = (960, 420)) -> np.ndarray:
    """The sun's azimuth over the day (local time on x, azimuth 0-360 on y; dimmed while
    below the horizon), the shadow's band (implied azimuth ± tolerance), the windows that
    fit and the claimed time.  Returns ``(h, w, 3)`` uint8 BGR."""
    w, h = size
    img = np.full((h, w, 3), 255, np.uint8)
    left, right, top, bottom = 60, w - 20, 30, h - 50

    def xy(hours: float, az: float) -> tuple[int, int]:
        return (round(left + (right - left) * hours / 24.0),
                round(bottom - (bottom - top) * az / 360.0))

    for hh in range(0, 25, 3):
        cv2.line(img, xy(hh, 0), xy(hh, 360), (225, 225, 225), 1)
        _text(img, f"{hh:02d}:00", (xy(hh, 0)[0] - 20, bottom + 20), INK, 0.4)
    for az in range(0, 361, 90):
        cv2.line(img, xy(0, az), xy(24, az), (225, 225, 225), 1)
        _text(img, f"{az}", (12, xy(0, az)[1] + 5), INK, 0.4)
    lo = check.implied_sun_azimuth_deg - check.tolerance_deg
    hi = check.implied_sun_azimuth_deg + check.tolerance_deg
    for a, b in ((lo, hi), (lo + 360, hi + 360), (lo - 360, hi - 360)):
        a, b = max(a, 0.0), min(b, 360.0)
        if a < b:
            cv2.rectangle(img, xy(0, b), xy(24, a), (200, 230, 255), -1)
    cv2.line(img, xy(0, check.implied_sun_azimuth_deg), xy(24, check.implied_sun_azimuth_deg),
             CLAIMED, 1, cv2.LINE_AA)
    t0 = times[0]
    hours = np.array([(t - t0).total_seconds() / 3600.0 for t in times])
    for i in range(len(hours) - 1):
        if abs(azimuth[i + 1] - azimuth[i]) > 180:
            continue  # wrap through north
        up = elevation[i] > 0 and elevation[i + 1] > 0
        cv2.line(img, xy(hours[i], azimuth[i]), xy(hours[i + 1], azimuth[i + 1]),
                 (0, 160, 230) if up else (200, 200, 200), 3 if up else 1, cv2.LINE_AA)
    for win in check.windows:
        for t in (win.start, win.end):
            hx = (t - t0).total_seconds() / 3600.0
            cv2.line(img, xy(hx, 0), xy(hx, 360), (0, 150, 0), 1, cv2.LINE_AA)
    if check.claimed_time is not None:
        hx = (check.claimed_time - t0).total_seconds() / 3600.0
        colour = (0, 150, 0) if check.consistent else LOCATED
        cv2.line(img, xy(hx, 0), xy(hx, 360), colour, 2, cv2.LINE_AA)
        _text(img, "claimed " + check.claimed_time.strftime("%H:%M"), (xy(hx, 0)[0] + 4,
              top + 14), colour, 0.45, 2)
    _text(img, f"Sun azimuth over {check.day.isoformat()} ({check.tz_label}); band: shadow's "
          f"sun azimuth {check.implied_sun_azimuth_deg:.1f} +/- {check.tolerance_deg:.1f} deg",
          (left, 20), INK, 0.45, 1)
    _text(img, "local time", (w // 2 - 30, h - 8), INK, 0.4)
    return img


def shadow_figure(keyframe: np.ndarray, shadow: ShadowMeasure) -> np.ndarray:
    """The keyframe ``(H, W, 3) uint8`` BGR with the shadow drawn from foot (circle) to tip
    (arrow head) and its azimuths written in a strip below.  Returns a new BGR image."""
    img = np.vstack([keyframe, np.full((30, keyframe.shape[1], 3), 255, np.uint8)])
    foot = (round(shadow.foot_px[0]), round(shadow.foot_px[1]))
    tip = (round(shadow.tip_px[0]), round(shadow.tip_px[1]))
    cv2.arrowedLine(img, foot, tip, (0, 0, 0), 5, cv2.LINE_AA, tipLength=0.15)
    cv2.arrowedLine(img, foot, tip, (0, 220, 255), 2, cv2.LINE_AA, tipLength=0.15)
    cv2.circle(img, foot, 7, (0, 220, 255), 2, cv2.LINE_AA)
    _text(img, f"shadow {shadow.shadow_azimuth_deg:.1f} deg, sun {shadow.sun_azimuth_deg:.1f}"
          f" +/- {shadow.sigma_deg:.1f} deg, {shadow.length_m:.1f} m", (8, img.shape[0] - 10),
          (0, 0, 0), 0.45, 1)
    return img
