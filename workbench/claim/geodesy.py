"""Geodesic distance, bearing and nearest point on the WGS84 ellipsoid (pyproj.Geod).

All positions are WGS84 ``(lon, lat)`` degrees; distances metres; bearings degrees
clockwise from true north in ``[0, 360)``.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import shapely
from pyproj import CRS, Geod, Transformer
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry
from shapely.ops import nearest_points

GEOD = Geod(ellps="WGS84")


def inverse(lon1: float, lat1: float, lon2: float, lat2: float) -> tuple[float, float]:
    """``(distance_m, bearing_deg)`` of the geodesic from point 1 to point 2."""
    az, _, dist = GEOD.inv(lon1, lat1, lon2, lat2)
    return float(dist), float(az) % 360.0


def inverse_many(lon: float, lat: float, lons: np.ndarray,
                 lats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised :func:`inverse` from one point to ``(N,)`` float64 points."""
    lons = np.asarray(lons, dtype=np.float64)
    lats = np.asarray(lats, dtype=np.float64)
    az, _, dist = GEOD.inv(np.full_like(lons, lon), np.full_like(lats, lat), lons, lats)
    return np.asarray(dist, dtype=np.float64), np.asarray(az, dtype=np.float64) % 360.0


@lru_cache(maxsize=32)
def aeqd(lon: float, lat: float) -> tuple[Transformer, Transformer]:
    """``always_xy`` transformers WGS84 -> azimuthal-equidistant metres centred on the
    point (distances and azimuths from the centre are geodesic; north is up at the
    centre), and back."""
    crs = CRS.from_proj4(f"+proj=aeqd +lat_0={lat!r} +lon_0={lon!r} +datum=WGS84 +units=m")
    wgs = CRS.from_epsg(4326)
    return (Transformer.from_crs(wgs, crs, always_xy=True),
            Transformer.from_crs(crs, wgs, always_xy=True))


def nearest_on(geom: BaseGeometry, lon: float, lat: float) -> tuple[float, float | None,
                                                                     tuple[float, float]]:
    """Nearest point of a lon/lat geometry to ``(lon, lat)``.

    Points: exact geodesic minimum over the vertices.  Lines and polygons: found in an
    azimuthal-equidistant projection centred on the point (edges taken straight there,
    adequate for edges up to tens of km), then measured geodesically.  Inside a polygon
    the distance is 0 and the bearing ``None``.

    Returns:
        ``(distance_m, bearing_deg or None, (lon, lat) of the nearest point)``.
    """
    pt = Point(lon, lat)
    if geom.geom_type in ("Point", "MultiPoint"):
        xy = shapely.get_coordinates(geom)
        dists, azs = inverse_many(lon, lat, xy[:, 0], xy[:, 1])
        i = int(np.argmin(dists))
        best = float(dists[i])
        return best, (float(azs[i]) if best > 0 else None), (float(xy[i, 0]), float(xy[i, 1]))
    if geom.geom_type in ("Polygon", "MultiPolygon") and geom.covers(pt):
        return 0.0, None, (lon, lat)
    fwd, back = aeqd(float(lon), float(lat))
    g = shapely.transform(geom, lambda a: np.column_stack(fwd.transform(a[:, 0], a[:, 1])))
    near = nearest_points(g, Point(0.0, 0.0))[0]
    nlon, nlat = back.transform(near.x, near.y)
    d, az = inverse(lon, lat, float(nlon), float(nlat))
    return d, (az if d > 0 else None), (float(nlon), float(nlat))
