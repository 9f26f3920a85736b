"""Where the sun stands, and when it stood where a shadow says (chronolocation).

Sun positions come from pvlib's implementation of NREL's Solar Position Algorithm
(Reda & Andreas 2004, ±0.0003° over -2000..6000), checked in the tests against the SPA
paper's example and NOAA's solar-calculator values.  Azimuth: degrees clockwise from
true north; elevation: degrees above the horizon, ``apparent`` with standard
refraction, ``geometric`` without.  Every time is timezone-aware: a time without a zone
is refused, never guessed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta, tzinfo

import numpy as np

from workbench.claim.model import DateSpan, TimeCheck, TimeWindow
from workbench.errors import UsageError

#: A shadow fits a sun azimuth within this many sigmas of its measurement.
K_SIGMA = 2.0


def parse_time(text: str) -> datetime:
    """An ISO 8601 date-time with its zone (``2015-09-30T09:10+03:00``, ``...Z``).

    Raises:
        UsageError: not ISO 8601, or no zone (one is never guessed).
    """
    raw = str(text).strip()
    try:
        when = datetime.fromisoformat(raw[:-1] + "+00:00" if raw.endswith(("Z", "z")) else raw)
    except ValueError as exc:
        raise UsageError(f"time {raw!r} is not ISO 8601 (e.g. 2015-09-30T09:10+03:00)") \
            from exc
    if when.tzinfo is None or when.utcoffset() is None:
        raise UsageError(f"time {raw!r} has no zone: add Z or an offset such as +03:00")
    return when


def sun_positions(lon: float, lat: float, times: Sequence[datetime]
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sun ``(azimuth, apparent elevation, geometric elevation)`` in degrees, each
    ``(N,)`` float64, at aware ``times`` for the WGS84 point (sea level, standard
    atmosphere).

    Raises:
        UsageError: a naive time.
    """
    # pvlib imports pandas and scipy (~2 s): loaded on first use, not at CLI start-up
    import pandas as pd
    from pvlib.solarposition import spa_python

    if any(t.tzinfo is None or t.utcoffset() is None for t in times):
        raise UsageError("sun position asked for a time without a zone")
    idx = pd.DatetimeIndex([pd.Timestamp(t).tz_convert("UTC") for t in times])
    sp = spa_python(idx, float(lat), float(lon))
    return (np.asarray(sp["azimuth"], dtype=np.float64),
            np.asarray(sp["apparent_elevation"], dtype=np.float64),
            np.asarray(sp["elevation"], dtype=np.float64))


def angle_diff(a: np.ndarray | float, b: float) -> np.ndarray:
    """Signed smallest difference ``a - b`` of azimuths, in ``(-180, 180]`` degrees."""
    d = (np.asarray(a, dtype=np.float64) - b + 180.0) % 360.0 - 180.0
    return np.where(d == -180.0, 180.0, d)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Inclusive index ranges of the True runs of a 1-D boolean array."""
    out = []
    start = None
    for i, m in enumerate([*mask.tolist(), False]):
        if m and start is None:
            start = i
        elif not m and start is not None:
            out.append((start, i - 1))
            start = None
    return out


def azimuth_windows(lon: float, lat: float, day: date, tz: tzinfo, azimuth_deg: float,
                    tolerance_deg: float, step_min: int = 1) -> list[TimeWindow]:
    """Local times of ``day`` (zone ``tz``) at which the sun, above the horizon
    (apparent elevation > 0), stands within ``tolerance_deg`` of ``azimuth_deg``;
    resolution ``step_min`` minutes."""
    start = datetime.combine(day, time(0, 0), tzinfo=tz)
    times = [start + timedelta(minutes=m) for m in range(0, 24 * 60, step_min)]
    az, elev, _ = sun_positions(lon, lat, times)
    ok = (elev > 0) & (np.abs(angle_diff(az, azimuth_deg)) <= tolerance_deg)
    return [TimeWindow(times[a], times[b]) for a, b in _runs(ok)]


def fitting_dates(lon: float, lat: float, clock: datetime, azimuth_deg: float,
                  tolerance_deg: float) -> list[DateSpan]:
    """Dates of ``clock``'s year on which the sun, at the same local clock time and zone,
    is up and within ``tolerance_deg`` of ``azimuth_deg``."""
    year = clock.year
    days = [date(year, 1, 1) + timedelta(days=i)
            for i in range((date(year + 1, 1, 1) - date(year, 1, 1)).days)]
    times = [datetime.combine(d, clock.timetz()) for d in days]  # naive: refused below
    az, elev, _ = sun_positions(lon, lat, times)
    ok = (elev > 0) & (np.abs(angle_diff(az, azimuth_deg)) <= tolerance_deg)
    return [DateSpan(days[a], days[b]) for a, b in _runs(ok)]


def day_curve(lon: float, lat: float, day: date, tz: tzinfo, step_min: int = 10
              ) -> tuple[list[datetime], np.ndarray, np.ndarray]:
    """The sun over ``day`` (local zone ``tz``) every ``step_min`` minutes: ``(times,
    azimuth, apparent elevation)``, arrays ``(N,)`` float64 degrees (for figures)."""
    start = datetime.combine(day, time(0, 0), tzinfo=tz)
    times = [start + timedelta(minutes=m) for m in range(0, 24 * 60 + 1, step_min)]
    az, elev, _ = sun_positions(lon, lat, times)
    return times, az, elev


def check_time(lon: float, lat: float, sun_azimuth_deg: float, sigma_deg: float, *,
               claimed_time: datetime | None = None, day: date | None = None,
               tz: tzinfo | None = None, k: float = K_SIGMA) -> TimeCheck:
    """The shadow's implied sun azimuth against the sun at the geolocated point.

    Give ``claimed_time`` (aware), or ``day`` and ``tz``.  The tolerance is ``k`` x
    ``sigma_deg``.

    Raises:
        UsageError: no date, a naive time, no zone, or a non-positive sigma.
    """
    if not (sigma_deg > 0 and np.isfinite(sigma_deg)):
        raise UsageError("the shadow's azimuth uncertainty must be a positive number")
    if claimed_time is not None:
        if claimed_time.tzinfo is None or claimed_time.utcoffset() is None:
            raise UsageError(f"time {claimed_time.isoformat()} has no zone")
        day, tz = claimed_time.date(), claimed_time.tzinfo
    if day is None or tz is None:
        raise UsageError("a time check needs the claimed date and its time zone")
    tol = float(k * sigma_deg)
    windows = azimuth_windows(lon, lat, day, tz, sun_azimuth_deg, tol)
    probe = datetime.combine(day, time(12, 0), tzinfo=tz)
    tz_label = _zone_label(probe)
    if claimed_time is None:
        return TimeCheck(lon, lat, day, tz_label, sun_azimuth_deg, sigma_deg, tol, windows)
    az, elev, _ = sun_positions(lon, lat, [claimed_time])
    diff = float(angle_diff(az[0], sun_azimuth_deg))
    consistent = bool(elev[0] > 0 and abs(diff) <= tol)
    dates = fitting_dates(lon, lat, claimed_time, sun_azimuth_deg, tol)
    return TimeCheck(lon, lat, day, tz_label, sun_azimuth_deg, sigma_deg, tol, windows,
                     claimed_time, float(az[0]), float(elev[0]), diff, consistent, dates)


def _zone_label(probe: datetime) -> str:
    off = probe.utcoffset() or timedelta(0)
    minutes = int(off.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
