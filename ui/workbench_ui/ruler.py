"""The ruler: distance and bearing between two ground points the analyst clicks.

Clicks come from the map or the imagery pane as WGS84 lon/lat; the measurement is the
geodesic on the WGS84 ellipsoid (:func:`workbench.claim.geodesy.inverse`, pyproj.Geod),
so the same two points give the same numbers wherever they were clicked.
"""

from __future__ import annotations

from dataclasses import dataclass

from PyQt6.QtCore import QObject, pyqtSignal

from workbench.claim.geodesy import inverse
from workbench.claim.model import compass_word
from workbench.geo import format_metres


@dataclass(frozen=True)
class Measurement:
    """From ``a`` to ``b`` (lon, lat): geodesic ``distance_m`` and initial ``bearing_deg``
    (clockwise from true north, ``[0, 360)``)."""

    a: tuple[float, float]
    b: tuple[float, float]
    distance_m: float
    bearing_deg: float

    def text(self) -> str:
        """``"1.2 km, bearing 047° (NE)"``."""
        return (f"{format_metres(self.distance_m)}, bearing {self.bearing_deg:03.0f}° "
                f"({compass_word(self.bearing_deg)})")


class Ruler(QObject):
    """Two-click measurement.  While ``active``, :meth:`add` takes the clicks: the first
    sets A, the second B (and measures), a third starts again.

    Signals:
        changed(): points or activity changed (views redraw from :attr:`points`).
    """

    changed = pyqtSignal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.active = False
        self.points: list[tuple[float, float]] = []
        self.measurement: Measurement | None = None

    def set_active(self, on: bool) -> None:
        self.active = bool(on)
        if not on:
            self.points, self.measurement = [], None
        self.changed.emit()

    def add(self, lon: float, lat: float) -> Measurement | None:
        """Take a click; returns the measurement once two points are set."""
        if len(self.points) >= 2:
            self.points, self.measurement = [], None
        self.points.append((float(lon), float(lat)))
        if len(self.points) == 2:
            (lon1, lat1), (lon2, lat2) = self.points
            d, az = inverse(lon1, lat1, lon2, lat2)
            self.measurement = Measurement(self.points[0], self.points[1], d, az)
        self.changed.emit()
        return self.measurement

    def text(self) -> str:
        if not self.active:
            return ""
        if self.measurement is not None:
            return f"Ruler: {self.measurement.text()} (geodesic, WGS84)"
        if self.points:
            return "Ruler: click the second point."
        return "Ruler: click the first point on the map or the imagery."
