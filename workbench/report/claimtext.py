"""The claim, context and time sections of a report as plain text rows, shared by the HTML
and PDF writers (which escape every string themselves).

Every context layer is named with its source, licence and as-of date; every layer whose
date may not describe the event carries its warning in each row that quotes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from workbench.claim import (
    ClaimCheck,
    LayerMeta,
    ShadowMeasure,
    TimeCheck,
    format_distance,
)

LOCATOR_CAPTION = (
    "Locator map: the located point (red cross, 1-sigma circle), the claimed point or area "
    "(orange), imagery footprints (blue) and the context layers, each labelled with its "
    "as-of date. Azimuthal-equidistant frame centred on the located point; no basemap.")
SHADOW_CAPTION = "The shadow marked in the keyframe (foot to tip)."
SUN_CAPTION = ("The sun's azimuth over the claimed day (local time), the band the shadow "
               "allows and the claimed time.")

SHADOW_ASSUMPTIONS = (
    "Assumes a vertical object on flat ground, with the object's foot and the shadow's tip "
    "both on the ground plane that the confirmed homography maps."
)


@dataclass
class TextSection:
    """A titled table of ``(label, text)`` rows plus warnings, all plain text."""

    title: str
    rows: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def layer_rows(name: str, meta: LayerMeta, features: int) -> list[tuple[str, str]]:
    """What the report says of where a layer comes from."""
    when = meta.as_of_date()
    return [
        (f"Layer '{name}'", f"{features} features from {meta.file_name or 'a file'}"
                            + (f" (CRS {meta.crs})" if meta.crs else "")),
        ("Source", meta.source or "not stated"),
        ("Licence", meta.licence or "not stated"),
        ("As of", when.label() + (" (approximate)" if when.approximate else "")),
        ("Layer SHA-256", meta.sha256 or "not recorded"),
    ]


def claim_section(check: ClaimCheck, category: str | None = None) -> TextSection:
    """The geolocated point against the claim and each layer."""
    sec = TextSection("Claim and context")
    sec.rows.append(("Summary", check.summary()))
    if check.distance_m is not None and check.bearing_deg is not None:
        sec.rows.append(("Claimed location lies", f"{format_distance(check.distance_m)} "
                         f"at a bearing of {check.bearing_deg:.0f}° from the located point"))
    if check.containing:
        sec.rows.append(("Within", "; ".join(f"{h.feature} ({h.layer})"
                                            for h in check.containing)))
    for rep in check.layers:
        label = f"{rep.name} (as of {rep.meta.as_of_date().label()})"
        if rep.nearest is not None:
            sec.rows.append((f"Nearest in {label}", f"{rep.nearest.feature}, "
                                                    f"{rep.nearest.words()}"))
        for n in rep.nearest_by_class:
            sec.rows.append((f"Nearest marked '{n.class_value}' in {label}",
                             f"{n.feature}, {n.words()}"))
        if rep.date_flag:
            sec.warnings.append(f"Layer '{rep.name}': {rep.date_flag}.")
    if category:
        sec.rows.append(("Claim category", category))
    for cat in check.categories:
        sec.rows.append((f"Category against '{cat.layer}'", cat.sentence()))
    return sec


def time_section(shadow: ShadowMeasure, check: TimeCheck | None,
                 claimed_time: str | None) -> TextSection:
    """The measured shadow and, when a date is known, the sun against it."""
    sec = TextSection("Time check (sun and shadow)")
    sec.rows += [
        ("Shadow marked in keyframe", f"{shadow.keyframe_id}: foot ({shadow.foot_px[0]:.1f}, "
                                      f"{shadow.foot_px[1]:.1f}) px, tip "
                                      f"({shadow.tip_px[0]:.1f}, {shadow.tip_px[1]:.1f}) px"),
        ("On the ground", f"foot {shadow.foot[1]:.6f}, {shadow.foot[0]:.6f}; tip "
                          f"{shadow.tip[1]:.6f}, {shadow.tip[0]:.6f} (lat, lon); "
                          f"{shadow.length_m:.1f} m long"),
        ("Shadow azimuth", f"{shadow.shadow_azimuth_deg:.1f}° ± {shadow.sigma_deg:.1f}° "
                           f"(1 sigma: clicks ±{shadow.click_px:g} px → "
                           f"{shadow.sigma_click_deg:.1f}°, homography fit → "
                           f"{shadow.sigma_fit_deg:.1f}°)"),
        ("Sun azimuth it implies", f"{shadow.sun_azimuth_deg:.1f}°"),
    ]
    sec.warnings.append(SHADOW_ASSUMPTIONS)
    if check is None:
        sec.warnings.append("No claimed time or date was recorded: the shadow was not "
                            "compared with the sun." if not claimed_time else
                            f"The claimed time {claimed_time} could not be checked.")
        return sec
    for i, text in enumerate(check.sentences()):
        sec.rows.append(("Sun" if i == 0 else "", text))
    sec.rows.append(("Sun positions", "NREL Solar Position Algorithm (pvlib), apparent "
                                      "elevation with standard refraction, sea level"))
    return sec
