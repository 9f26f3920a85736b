"""Types of the claim check: layer metadata and dates, nearest features, the claim check,
the measured shadow and the time check.

Positions are WGS84 ``(lon, lat)`` degrees; distances are geodesic metres on the WGS84
ellipsoid; azimuths and bearings are degrees clockwise from true north in ``[0, 360)``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from workbench.errors import UsageError
from workbench.geo import format_metres

COMPASS_16 = (
    "north", "north-northeast", "northeast", "east-northeast",
    "east", "east-southeast", "southeast", "south-southeast",
    "south", "south-southwest", "southwest", "west-southwest",
    "west", "west-northwest", "northwest", "north-northwest",
)
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")


class ShadowError(UsageError):
    """A shadow measurement cannot be made (no homography, points outside the matched
    area, foot and tip too close)."""


def compass_word(bearing_deg: float) -> str:
    """The 16-point compass word for a bearing: ``112.5 -> "east-southeast"``."""
    return COMPASS_16[int(((bearing_deg % 360.0) + 11.25) // 22.5) % 16]


def format_distance(m: float) -> str:
    """``"76 km"`` from 10 km on, ``"2.4 km"`` from 1 km, else ``"350 m"``."""
    if m >= 10_000:
        return f"{m / 1000:.0f} km"
    if m >= 1000:
        return f"{m / 1000:.1f} km"
    return f"{m:.0f} m"


@dataclass(frozen=True)
class AsOf:
    """The date a context layer describes: a year, a month or a day, possibly approximate.

    ``text`` is what the analyst entered (``"2017"``, ``"c. 2017"``, ``"2015-09-30"``,
    ``"unknown"``); ``start``/``end`` bound the period (``None`` when unknown).
    """

    text: str
    start: date | None
    end: date | None
    approximate: bool

    @classmethod
    def parse(cls, text: str | None) -> AsOf:
        """Parse ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``, optionally prefixed ``c.``,
        ``ca.``, ``about``, ``circa`` or ``~`` (approximate); empty/``unknown`` is unknown.

        Raises:
            UsageError: anything else (e.g. ``"30/09/2015"``).
        """
        raw = " ".join(str(text or "").split())
        if raw.lower() in ("", "unknown", "none"):
            return cls("unknown", None, None, False)
        m = re.fullmatch(r"(?i)(c\.|ca\.|circa|about|approx\.?|~)?\s*"
                         r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?", raw)
        if not m:
            raise UsageError(f"as-of date {raw!r} is not YYYY, YYYY-MM or YYYY-MM-DD "
                             "(prefix 'c.' when approximate)")
        y, mo, d = int(m.group(2)), m.group(3), m.group(4)
        try:
            if d is not None:
                start = end = date(y, int(mo), int(d))
            elif mo is not None:
                start = date(y, int(mo), 1)
                end = (date(y + 1, 1, 1) if int(mo) == 12 else date(y, int(mo) + 1, 1))
                end = date.fromordinal(end.toordinal() - 1)
            else:
                start, end = date(y, 1, 1), date(y, 12, 31)
        except ValueError as exc:
            raise UsageError(f"as-of date {raw!r} is not a calendar date") from exc
        return cls(raw, start, end, m.group(1) is not None)

    @property
    def known(self) -> bool:
        return self.start is not None

    def label(self) -> str:
        """``"about 2017"``, ``"June 2017"``, ``"30 September 2015"`` or ``"unknown"``."""
        if self.start is None or self.end is None:
            return "unknown"
        if self.start == self.end:
            core = f"{self.start.day} {_MONTHS[self.start.month - 1]} {self.start.year}"
        elif self.start.month == 1 and self.end.month == 12 and self.start.day == 1:
            core = str(self.start.year)
        else:
            core = f"{_MONTHS[self.start.month - 1]} {self.start.year}"
        return f"about {core}" if self.approximate else core

    def flag(self, event: date | None) -> str | None:
        """Why this layer's date may not describe the event; ``None`` when it matches.

        Unknown as-of dates, approximate dates and dates outside the event are all flagged.
        """
        if self.start is None or self.end is None:
            return "as-of date unknown" + (f"; event {event.isoformat()}" if event else "")
        if event is None:
            return f"as of {self.label()}; no event date given to compare"
        if self.start <= event <= self.end:
            if self.approximate:
                return f"as of {self.label()} (approximate); event {event.isoformat()}"
            return None
        gap = (self.start - event).days if event < self.start else (event - self.end).days
        when = "after" if event < self.start else "before"
        span = f"{gap / 365.25:.1f} years" if gap >= 365 else f"{gap} days"
        return (f"as of {self.label()}, about {span} {when} the event "
                f"({event.isoformat()})")


@dataclass(frozen=True)
class LayerMeta:
    """Where a context layer comes from, as recorded with it.

    ``class_attribute``: the property whose values are classes (e.g. ``controller``);
    ``None`` picks ``controller`` when the features carry it.
    """

    source: str = ""
    licence: str = ""
    as_of: str = "unknown"
    class_attribute: str | None = None
    file_name: str = ""
    sha256: str = ""
    crs: str = ""

    def as_of_date(self) -> AsOf:
        return AsOf.parse(self.as_of)

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "licence": self.licence, "as_of": self.as_of,
                "class_attribute": self.class_attribute, "file_name": self.file_name,
                "sha256": self.sha256, "crs": self.crs}

    @classmethod
    def from_json(cls, obj: Any) -> LayerMeta:
        """From the ``workbench_layer`` member of a stored layer (missing keys default)."""
        if not isinstance(obj, dict):
            return cls()
        attr = obj.get("class_attribute")
        return cls(str(obj.get("source") or ""), str(obj.get("licence") or ""),
                   str(obj.get("as_of") or "unknown"), str(attr) if attr else None,
                   str(obj.get("file_name") or ""), str(obj.get("sha256") or ""),
                   str(obj.get("crs") or ""))


@dataclass(frozen=True)
class LayerHit:
    """A context polygon containing the point: layer name, feature name and properties."""

    layer: str
    feature: str
    properties: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class NearestFeature:
    """The nearest feature (of a layer, or of one class of it) to the point.

    ``distance_m`` is 0 when the point is inside (a polygon) or on the feature;
    ``bearing_deg`` is from the point to the feature's nearest point (``None`` at 0 m).
    """

    layer: str
    feature: str
    distance_m: float
    bearing_deg: float | None
    lon: float
    lat: float
    class_value: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)

    def words(self) -> str:
        """``"76 km east-southeast"`` (``"here"`` at 0 m)."""
        if self.bearing_deg is None or self.distance_m < 0.5:
            return "here"
        return f"{format_distance(self.distance_m)} {compass_word(self.bearing_deg)}"


@dataclass(frozen=True)
class LayerReport:
    """What one context layer says about the point."""

    name: str
    meta: LayerMeta
    date_flag: str | None
    nearest: NearestFeature | None
    class_attribute: str | None
    nearest_by_class: list[NearestFeature]

    def sentences(self) -> list[str]:
        dated = f"layer '{self.name}' (as of {self.meta.as_of_date().label()})"
        out = []
        if self.nearest is not None:
            out.append(f"Nearest feature of {dated}: {self.nearest.feature}, "
                       f"{self.nearest.words()}.")
        for n in self.nearest_by_class:
            out.append(f"Nearest feature marked {n.class_value!r} ({self.class_attribute}) in "
                       f"{dated}: {n.feature}, {n.words()}.")
        if self.date_flag:
            out.append(f"Date warning for layer '{self.name}': {self.date_flag}.")
        return out


@dataclass(frozen=True)
class CategoryCheck:
    """The claim's category (e.g. "Islamic State target") against one layer's classes.

    ``verdict``: ``"consistent"`` (the class at/nearest the point matches the category),
    ``"not supported"`` (it is another class), ``"no matching class"`` (the layer has no
    class matching the category) or ``"no data near the point"``.
    """

    category: str
    layer: str
    as_of_label: str
    date_flag: str | None
    attribute: str
    at_point: NearestFeature | None
    matching_classes: list[str]
    nearest_matching: NearestFeature | None
    verdict: str

    def sentence(self) -> str:
        head = (f"Claim category {self.category!r} against layer '{self.layer}' "
                f"(as of {self.as_of_label}): ")
        if self.at_point is not None:
            where = ("at the point" if self.at_point.distance_m < 0.5 else
                     f"at {self.at_point.feature}, {self.at_point.words()}")
            head += f"{where} the layer marks {self.at_point.class_value!r}"
        else:
            head += "the layer marks nothing within reach of the point"
        if self.nearest_matching is not None:
            head += (f"; nearest marked {self.nearest_matching.class_value!r}: "
                     f"{self.nearest_matching.feature}, {self.nearest_matching.words()}")
        elif not self.matching_classes:
            head += "; no class of the layer matches the category"
        head += f" — {self.verdict}."
        if self.date_flag:
            head += f" Date warning: {self.date_flag}."
        return head


@dataclass(frozen=True)
class ClaimCheck:
    """How a geolocated point relates to the claim and the context layers.

    ``distance_m``: geodesic metres to the claimed point (``None`` without one), with its
    ``bearing_deg`` from the geolocated point.  ``area_distance_m``: 0 inside the claimed
    area, else geodesic metres to its edge (``None`` without an area).  ``containing``:
    context polygons that contain the point.  ``layers``: per layer, its nearest feature
    and nearest feature of each class.  ``categories``: the claim's category against each
    layer with classes.
    """

    lon: float
    lat: float
    distance_m: float | None
    inside_claimed_area: bool | None
    area_distance_m: float | None
    containing: list[LayerHit]
    layers_checked: list[str]
    bearing_deg: float | None = None
    layers: list[LayerReport] = field(default_factory=list)
    categories: list[CategoryCheck] = field(default_factory=list)
    event_date: date | None = None

    def summary(self) -> str:
        """One plain sentence for reports."""
        parts = []
        if self.distance_m is not None:
            way = (f" {compass_word(self.bearing_deg)}" if self.bearing_deg is not None
                   and self.distance_m >= 1 else "")
            parts.append(f"{format_metres(self.distance_m)} from the claimed location"
                         + (f" (which lies{way})" if way else ""))
        if self.inside_claimed_area is not None:
            parts.append("inside the claimed area" if self.inside_claimed_area else
                         f"outside the claimed area ({format_metres(self.area_distance_m or 0)} "
                         "from its edge)")
        if self.layers_checked:
            if self.containing:
                parts.append("within " + "; ".join(f"{h.layer}: {h.feature}"
                                                  for h in self.containing))
            else:
                parts.append("in none of the context polygons")
        return ("The geolocated point is " + ", ".join(parts) + ".") if parts else \
            "No claimed location or context layers were recorded."

    def sentences(self) -> list[str]:
        """The summary, then every layer's and category's sentences (with date warnings)."""
        out = [self.summary()]
        for rep in self.layers:
            out.extend(rep.sentences())
        out.extend(c.sentence() for c in self.categories)
        return out


@dataclass(frozen=True)
class ShadowMeasure:
    """A shadow measured in a keyframe and mapped to the ground through the homography.

    ``foot_px``/``tip_px``: keyframe pixels ``(x, y)`` (centre of the top-left pixel at
    ``(0, 0)``); ``foot``/``tip``: WGS84 ``(lon, lat)``.  ``shadow_azimuth_deg``: geodesic
    azimuth foot -> tip; ``sun_azimuth_deg`` = shadow + 180.  ``sigma_deg``: 1-sigma of
    the azimuth, the root-sum-square of ``sigma_click_deg`` (the two clicks, ``click_px``
    each) and ``sigma_fit_deg`` (the homography's inlier residuals at both ends).
    Assumes a vertical object on flat ground, foot and tip both on the ground.
    """

    keyframe_id: str
    foot_px: tuple[float, float]
    tip_px: tuple[float, float]
    foot: tuple[float, float]
    tip: tuple[float, float]
    length_m: float
    shadow_azimuth_deg: float
    sun_azimuth_deg: float
    sigma_deg: float
    sigma_click_deg: float
    sigma_fit_deg: float
    click_px: float

    def to_json(self) -> dict[str, Any]:
        return {"keyframe_id": self.keyframe_id, "foot_px": list(self.foot_px),
                "tip_px": list(self.tip_px), "foot": list(self.foot), "tip": list(self.tip),
                "length_m": self.length_m, "shadow_azimuth_deg": self.shadow_azimuth_deg,
                "sun_azimuth_deg": self.sun_azimuth_deg, "sigma_deg": self.sigma_deg,
                "sigma_click_deg": self.sigma_click_deg, "sigma_fit_deg": self.sigma_fit_deg,
                "click_px": self.click_px}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ShadowMeasure:
        """Inverse of :meth:`to_json`.  Raises ``KeyError``/``TypeError``/``ValueError``
        on a malformed record (the caller names the file)."""

        def pair(key: str) -> tuple[float, float]:
            a, b = d[key]
            return float(a), float(b)

        return cls(str(d["keyframe_id"]), pair("foot_px"), pair("tip_px"), pair("foot"),
                   pair("tip"), float(d["length_m"]), float(d["shadow_azimuth_deg"]),
                   float(d["sun_azimuth_deg"]), float(d["sigma_deg"]),
                   float(d["sigma_click_deg"]), float(d["sigma_fit_deg"]),
                   float(d["click_px"]))


@dataclass(frozen=True)
class TimeWindow:
    """A span of local time (aware datetimes) in which the sun's azimuth fits."""

    start: datetime
    end: datetime

    def label(self) -> str:
        return f"{self.start:%H:%M} to {self.end:%H:%M}"


@dataclass(frozen=True)
class DateSpan:
    """A span of dates (inclusive) on which the claimed clock time fits the shadow."""

    start: date
    end: date

    def label(self) -> str:
        if self.start == self.end:
            return f"{self.start.day} {_MONTHS[self.start.month - 1]}"
        return (f"{self.start.day} {_MONTHS[self.start.month - 1]} to "
                f"{self.end.day} {_MONTHS[self.end.month - 1]}")


@dataclass(frozen=True)
class TimeCheck:
    """The shadow's sun azimuth against the sun on the claimed date (and time).

    ``tolerance_deg`` = ``k`` x the shadow's sigma (``k = 2`` by default).  ``windows``:
    local times on the claimed date when the sun (above the horizon) stands within the
    tolerance.  With a claimed time: the sun's azimuth/elevation then, the difference,
    whether it is ``consistent``, and ``dates`` of that year on which the same clock time
    fits.  Sun positions: NREL SPA (pvlib), apparent (refracted) elevation.
    """

    lon: float
    lat: float
    day: date
    tz_label: str
    implied_sun_azimuth_deg: float
    sigma_deg: float
    tolerance_deg: float
    windows: list[TimeWindow]
    claimed_time: datetime | None = None
    sun_azimuth_deg: float | None = None
    sun_elevation_deg: float | None = None
    difference_deg: float | None = None
    consistent: bool | None = None
    dates: list[DateSpan] = field(default_factory=list)

    def sentences(self) -> list[str]:
        imp = (f"The shadow implies a sun azimuth of {self.implied_sun_azimuth_deg:.1f}° "
               f"± {self.sigma_deg:.1f}° (1 sigma; tolerance ± {self.tolerance_deg:.1f}°).")
        out = [imp]
        if self.windows:
            out.append(f"On {self.day.isoformat()} the sun stood there at "
                       + ", ".join(w.label() for w in self.windows)
                       + f" ({self.tz_label}).")
        else:
            out.append(f"On {self.day.isoformat()} the sun never stood at that azimuth "
                       "while above the horizon.")
        if self.claimed_time is not None and self.sun_azimuth_deg is not None:
            verdict = "consistent" if self.consistent else "NOT consistent"
            out.append(
                f"At the claimed time {self.claimed_time.isoformat()} the sun's azimuth was "
                f"{self.sun_azimuth_deg:.1f}° (elevation {self.sun_elevation_deg:.1f}°), "
                f"{abs(self.difference_deg or 0):.1f}° from the shadow's: {verdict} with "
                "the shadow.")
            if self.dates:
                out.append("At that clock time the shadow fits on: "
                           + ", ".join(d.label() for d in self.dates)
                           + f" {self.day.year}.")
            else:
                out.append(f"At that clock time the shadow fits on no date of "
                           f"{self.day.year}.")
        return out
