"""Is a typed claim position plausibly lon/lat in the right order?

A latitude outside ±90 degrees, or a point far from every loaded imagery footprint while
the swapped point lies near one, is most likely latitude and longitude typed the wrong
way round (a claim typed so was once reported "4924 km from the claimed location").
Positions WGS84 lon/lat; footprints closed ``[[lon, lat], ...]`` rings; distances
geodesic metres.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from shapely.geometry import Point, Polygon

from workbench.claim.geodesy import nearest_on

FAR_M = 100_000.0  # "far outside every footprint": farther than this from all of them


@dataclass(frozen=True)
class OrderCheck:
    """``suspect``: ask the analyst "did you swap latitude and longitude?"; ``reason``
    says why in one line; ``distance_m`` to the nearest footprint as typed and
    ``swapped_distance_m`` with the two numbers swapped (``None`` without footprints or
    when that point is not a position)."""

    suspect: bool
    reason: str
    distance_m: float | None
    swapped_distance_m: float | None


def _distance(lon: float, lat: float, rings: Sequence[Sequence[Sequence[float]]]
              ) -> float | None:
    best: float | None = None
    for ring in rings:
        if len(ring) < 3:
            continue
        poly = Polygon([(float(p[0]), float(p[1])) for p in ring])
        if not poly.is_valid or poly.is_empty:
            continue
        d = 0.0 if poly.covers(Point(lon, lat)) else nearest_on(poly.exterior, lon, lat)[0]
        best = d if best is None else min(best, d)
    return best


def check_order(lat: float, lon: float, footprints: Sequence[Sequence[Sequence[float]]] = (),
                *, far_m: float = FAR_M) -> OrderCheck:
    """Check a position typed as ``lat, lon`` (degrees) against the imagery footprints."""
    if not (math.isfinite(lat) and math.isfinite(lon)):
        return OrderCheck(False, "not a number", None, None)
    if abs(lat) > 90:
        ok_swapped = abs(lon) <= 90 and abs(lat) <= 180
        return OrderCheck(ok_swapped, f"latitude {lat:g} is outside ±90°", None, None)
    d = _distance(lon, lat, footprints)
    swapped_ok = abs(lon) <= 90 and abs(lat) <= 180
    ds = _distance(lat, lon, footprints) if swapped_ok else None
    if d is None or d <= far_m:
        return OrderCheck(False, "", d, ds)
    km = d / 1000
    if ds is not None and ds <= far_m:
        return OrderCheck(True, f"{km:,.0f} km from every loaded imagery footprint; swapped, "
                          "it lies on the imagery", d, ds)
    return OrderCheck(True, f"{km:,.0f} km from every loaded imagery footprint", d, ds)
