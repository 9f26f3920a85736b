"""The claim, context and time part of a report, gathered once from a case: text sections
(:mod:`workbench.report.claimtext`) and figures (:mod:`workbench.report.claimfigs`) as
lossless PNG bytes.  Format-independent; every writer escapes the text itself.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from workbench.case.model import Claim, ContextLayer, ShadowRecord
from workbench.claim import (
    ClaimCheck,
    LayerMeta,
    TimeCheck,
    check_claim,
    check_time,
    day_curve,
    layer_meta,
    parse_time,
)
from workbench.errors import WorkbenchError
from workbench.report import claimfigs
from workbench.report.claimtext import TextSection, claim_section, time_section
from workbench.report.figures import png_bytes
from workbench.results import Candidate

log = logging.getLogger(__name__)


@dataclass
class ClaimReport:
    """Everything the report says of the claim, the context layers and the time check."""

    check: ClaimCheck | None
    layers: list[tuple[str, LayerMeta, int]]  # name, metadata, feature count
    sections: list[TextSection] = field(default_factory=list)
    time_check: TimeCheck | None = None
    shadow: ShadowRecord | None = None
    locator_png: bytes | None = None
    sun_png: bytes | None = None
    shadow_png: bytes | None = None


def event_date(claim: Claim | None) -> date | None:
    """The claimed event's local date (``None`` without a claimed time)."""
    if claim is None or not claim.claimed_time:
        return None
    try:
        return parse_time(claim.claimed_time).date()
    except WorkbenchError:
        return None


def claim_check_for(c: Candidate, claim: Claim | None,
                    layers: list[ContextLayer]) -> ClaimCheck:
    """The claim check of one located candidate (category and event date included)."""
    return check_claim(c.lon, c.lat, claim.lonlat if claim else None,
                       claim.area_geojson if claim else None,
                       [(layer.name, layer.geojson) for layer in layers],
                       category=claim.category if claim else None,
                       event_date=event_date(claim))


def build_claim_report(claim: Claim | None, layers: list[ContextLayer],
                       primary: Candidate | None, check: ClaimCheck | None,
                       shadows: list[ShadowRecord], *, keyframe_bgr: np.ndarray | None = None,
                       footprints: list[list[list[float]]] | None = None,
                       figures: bool = True) -> ClaimReport | None:
    """Gather the claim/context/time part of the report (``None`` when the case has no
    claim, layer or shadow).  ``keyframe_bgr``: the shadow's keyframe ``(H, W, 3) uint8``
    BGR for its figure, if loaded; ``footprints``: imagery footprints (WGS84 rings)."""
    if claim is None and not layers and not shadows:
        return None
    out = ClaimReport(check, [(la.name, layer_meta(la.geojson),
                               len(la.geojson.get("features") or [])) for la in layers])
    if check is not None:
        out.sections.append(claim_section(check, claim.category if claim else None))
    shadow = next((s for s in reversed(shadows) if primary is None or s.rank == primary.rank),
                  None)
    out.shadow = shadow
    if shadow is not None:
        m = shadow.measure
        if claim is not None and claim.claimed_time:
            try:
                out.time_check = check_time(m.foot[0], m.foot[1], m.sun_azimuth_deg,
                                            m.sigma_deg,
                                            claimed_time=parse_time(claim.claimed_time))
            except WorkbenchError as exc:
                log.warning("time check failed: %s", exc)
        sec = time_section(m, out.time_check, claim.claimed_time if claim else None)
        sec.rows.insert(0, ("Marked by (analyst)", f"{shadow.user} at {shadow.time}"))
        out.sections.append(sec)
    if not figures:
        return out
    if primary is not None and check is not None:
        include = [(n.lon, n.lat) for rep in check.layers for n in rep.nearest_by_class]
        img = claimfigs.locator_map(
            primary.lon, primary.lat, primary.uncertainty_m,
            claim_lonlat=claim.lonlat if claim else None,
            claim_area=claim.area_geojson if claim else None,
            layers=[(la.name, la.geojson) for la in layers], footprints=footprints or [],
            include=include)
        out.locator_png = png_bytes(img)
    if out.time_check is not None:
        tc = out.time_check
        tz = tc.claimed_time.tzinfo if tc.claimed_time is not None else None
        if tz is not None:
            times, az, elev = day_curve(tc.lon, tc.lat, tc.day, tz)
            out.sun_png = png_bytes(claimfigs.sun_day_figure(tc, times, az, elev))
    if shadow is not None and keyframe_bgr is not None:
        out.shadow_png = png_bytes(claimfigs.shadow_figure(keyframe_bgr, shadow.measure))
    return out
