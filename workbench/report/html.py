"""The HTML report: one self-contained file (figures as PNG data URIs, inline CSS, no JS).

Every piece of case text (notes, file names, claim, audit details) goes through
:func:`html.escape`, after bidi controls and other invisible characters are made visible
(:func:`workbench.textsafe.visible_controls`); a strict Content-Security-Policy
forbids scripts, remote loads and forms even if something slipped through.  The only
varying part between two runs on the same case is the generation timestamp.
"""

from __future__ import annotations

import base64
import json
from html import escape
from typing import Any

from workbench.geo import format_metres, format_uncertainty
from workbench.report.claimtext import LOCATOR_CAPTION, SHADOW_CAPTION, SUN_CAPTION
from workbench.report.model import (
    GENERATED_BASIS,
    UNCERTAINTY_NOTE,
    LocationSection,
    ReportData,
    ResidualRow,
    confidence_words,
    crs_label,
    fmt_float,
)
from workbench.report.provtext import (
    audit_summary,
    audit_time,
    imagery_caption,
    imagery_fields,
    source_rows,
)
from workbench.textsafe import visible_controls

CSP = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; "
       "form-action 'none'; frame-ancestors 'none'")

CSS = """
body{font-family:"DejaVu Sans",Helvetica,Arial,sans-serif;font-size:13px;color:#111;
 max-width:1100px;margin:24px auto;padding:0 16px;line-height:1.4}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;border-bottom:2px solid #333;
 padding-bottom:3px;margin-top:28px}h3{font-size:14px;margin:18px 0 6px}
.meta{color:#555;font-size:12px}.verdict{border:2px solid #333;padding:10px 14px;
 margin:14px 0;background:#f6f6f6}.verdict .head{font-size:17px;font-weight:bold}
.ok{color:#0a6b1f}.warn{color:#9a5b00}.bad{color:#b00020}
table{border-collapse:collapse;margin:6px 0 10px;width:100%}
th,td{border:1px solid #bbb;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#eee}td.num{text-align:right;font-variant-numeric:tabular-nums}
.kv th{width:210px}.hash{font-family:"DejaVu Sans Mono",monospace;font-size:11px;
 word-break:break-all}figure{margin:10px 0}figure img{max-width:100%;border:1px solid #999}
figcaption{font-size:12px;color:#333}.small{font-size:11px}
.kv td,li,p{overflow-wrap:anywhere}td{overflow-wrap:break-word}
pre.raw{white-space:pre-wrap;overflow-wrap:anywhere;
 font-size:10px;background:#f8f8f8;border:1px solid #ccc;padding:4px;margin:2px 0}
.missing{border:2px solid #b00020;padding:8px;background:#fff0f0}
@media print{body{max-width:none}h2{page-break-after:avoid}figure{page-break-inside:avoid}}
"""


def e(value: object) -> str:
    """HTML-escape any value's text (quotes too), bidi/control characters made visible."""
    return escape(visible_controls(str(value)), quote=True)


def _img(png: bytes, alt: str) -> str:
    return (f'<img alt="{e(alt)}" src="data:image/png;base64,'
            f'{base64.b64encode(png).decode("ascii")}">')


def _kv(rows: list[tuple[str, Any]], cls: str = "kv") -> str:
    body = "".join(f"<tr><th>{e(k)}</th><td>{v}</td></tr>" for k, v in rows)
    return f'<table class="{cls}">{body}</table>'


def _table(head: list[str], rows: list[list[str]], num_cols: tuple[int, ...] = ()) -> str:
    h = "".join(f"<th>{e(x)}</th>" for x in head)
    body = "".join("<tr>" + "".join(
        f'<td class="num">{c}</td>' if i in num_cols else f"<td>{c}</td>"
        for i, c in enumerate(r)) + "</tr>" for r in rows)
    return f"<table><thead><tr>{h}</tr></thead><tbody>{body}</tbody></table>"


def _hash(h: str) -> str:
    return f'<span class="hash">{e(h)}</span>'


def _summary(d: ReportData) -> str:
    p = d.primary
    cls = "ok" if p and p.decision else ("warn" if p else "bad")
    out = [f'<div class="verdict"><div class="head {cls}">{e(d.headline)}</div>']
    if p is not None:
        c = p.candidate
        rows: list[tuple[str, Any]] = [
            ("Position (WGS84 lat, lon)", f"<b>{c.lat:.6f}, {c.lon:.6f}</b>"),
            ("DMS", e(p.dms)), ("MGRS", e(p.mgrs or "n/a")),
            ("Uncertainty", f"{format_uncertainty(c.uncertainty_m)}"
                 f" {UNCERTAINTY_NOTE}"),
            ("Confidence", f"{c.confidence:.2f} ({e(confidence_words(c.confidence))})"),
            ("Keyframe", e(f"{c.keyframe_id} at {p.keyframe.time_s:.3f} s (frame "
                           f"{p.keyframe.frame_index})" if p.keyframe else c.keyframe_id)),
        ]
        if c.target and {"lat", "lon"} <= set(c.target):
            rows.append(("Target pixel position", e(f"{c.target['lat']:.6f}, "
                                                    f"{c.target['lon']:.6f}")))
        if p.decision:
            rows.append(("Analyst decision", e(f"{p.decision.status} by {p.decision.user} at "
                                               f"{p.decision.time}: {p.decision.note}")))
        else:
            rows.append(("Analyst decision", '<span class="warn">none yet: this location has '
                                             "not been reviewed</span>"))
        out.append(_kv(rows))
    if d.reason:
        out.append(f"<p>Software reasoning: {e(d.reason)}</p>")
    if d.missing_rasters:
        out.append('<p class="bad">Imagery missing at report time: '
                   + e(", ".join(d.missing_rasters)) + " (figures for it are omitted).</p>")
    out.append("</div>")
    return "".join(out)


def _claim(d: ReportData) -> str:
    cr = d.claim_report
    if d.claim is None and not d.context_layers and cr is None:
        return "<p>No claim was recorded for this case.</p>"
    rows: list[tuple[str, Any]] = []
    if d.claim:
        rows.append(("Claim tested", e(d.claim.text)))
        rows.append(("Claimed location", e(f"{d.claim.lonlat[1]:.6f}, {d.claim.lonlat[0]:.6f}")
                     if d.claim.lonlat else "not given"))
        rows.append(("Claimed area", "given (GeoJSON polygon)" if d.claim.area_geojson
                     else "not given"))
        rows.append(("Claimed time", e(d.claim.claimed_time or "not given")))
        rows.append(("Claimed target category", e(d.claim.category or "not given")))
        rows.append(("Recorded", e(f"by {d.claim.user} at {d.claim.time}")))
    chk = d.primary.claim_check if d.primary else None
    if chk is not None:
        rows.append(("Finding", f"<b>{e(chk.summary())}</b>"))
        rows.append(("Distance to claimed location", e(format_metres(chk.distance_m))))
        if chk.inside_claimed_area is not None:
            rows.append(("Inside claimed area", "yes" if chk.inside_claimed_area else
                         e(f"no ({format_metres(chk.area_distance_m)} outside)")))
        rows.append(("Context polygons containing it", e("; ".join(
            f"{h.layer}: {h.feature}" for h in chk.containing) or "none")))
    elif d.claim:
        rows.append(("Finding", "no geolocated point to compare (not located)"))
    out = _kv(rows)
    if cr is not None:
        for sec in cr.sections:
            out += f"<h3>{e(sec.title)}</h3>" + _kv([(k, e(v)) for k, v in sec.rows])
            out += "".join(f'<p class="warn">{e(w)}</p>' for w in sec.warnings)
        for png, alt, cap in (
                (cr.locator_png, "Locator map", LOCATOR_CAPTION),
                (cr.shadow_png, "Shadow", SHADOW_CAPTION),
                (cr.sun_png, "Sun azimuth over the day", SUN_CAPTION)):
            if png:
                out += f"<figure>{_img(png, alt)}<figcaption>{e(cap)}</figcaption></figure>"
    if d.context_layers:
        metas = {name: (meta, n) for name, meta, n in cr.layers} if cr else {}
        out += "<h3>Context layers</h3>" + _table(
            ["Layer", "As of", "Source", "Licence", "File / SHA-256", "Features", "Added"],
            [[e(c.name), e(metas[c.name][0].as_of_date().label()) if c.name in metas else
              "unknown", e(metas[c.name][0].source) if c.name in metas else "",
              e(metas[c.name][0].licence) if c.name in metas else "",
              e(c.source_path) + "<br>" + _hash(c.sha256), str(len(c.geojson["features"])),
              e(f"{c.user}, {c.time}")] for c in d.context_layers], (5,))
    return out


def _location(s: LocationSection, n: int, d: ReportData) -> str:
    c = s.candidate
    status = s.decision.status if s.decision else "NOT CONFIRMED"
    out = [f"<h3>Location {n}: candidate #{c.rank} ({e(status)})</h3>"]
    out.append(_kv([("Position", e(f"{c.lat:.6f}, {c.lon:.6f} | {s.dms} | {s.mgrs}")),
                    ("Uncertainty / confidence", e(f"{format_uncertainty(c.uncertainty_m)}, "
                                                   f"{c.confidence:.2f} "
                                                   f"({confidence_words(c.confidence)})")),
                    ("Decision", e(f"{s.decision.status} by the analyst {s.decision.user} "
                                   f"at {s.decision.time}: {s.decision.note}")
                     if s.decision else "none yet")]))
    r = s.raster
    img_txt = imagery_caption(r, d.imagery_meta.get(r.sha256)) if r else c.tile
    if s.side_by_side_png:
        out.append(f"<figure>{_img(s.side_by_side_png, 'keyframe and satellite crop')}"
                   f"<figcaption>Left: keyframe {e(c.keyframe_id)}"
                   + (e(f" at {s.keyframe.time_s:.3f} s") if s.keyframe else "")
                   + f" (burned-in overlay dimmed). Right: reference imagery ({e(img_txt)}). "
                   "The same number and colour mark the same landmark on both; squares are "
                   "tie points added by the analyst.</figcaption></figure>")
    if s.overlay_png:
        out.append(f"<figure>{_img(s.overlay_png, 'keyframe warped onto imagery')}"
                   "<figcaption>Overlay: the keyframe warped onto the reference imagery "
                   "through the fitted homography, as a checkerboard (alternate squares show "
                   "the keyframe; roads and edges continue across square borders when the "
                   "registration is right). Yellow outline = frame footprint; red crosses "
                   "P1, P2... = target / points of interest.</figcaption></figure>")
    if s.raster_missing:
        out.append(f'<p class="missing">Figures omitted: {e(s.raster_missing)}</p>')
    if s.marks:
        out.append(_table(["", "Label", "Keyframe px", "lat, lon", "± m (1 sigma)",
                           "Recorded by"], [
            [f"P{i}", e(m.label), f"{m.x:.1f}, {m.y:.1f}", f"{m.lat:.6f}, {m.lon:.6f}",
             e(format_uncertainty(m.uncertainty_m)), e(m.recorded)]
            for i, m in enumerate(s.marks, start=1)], (4,)))
    out.append(f"<p>Tie points: {len(s.residuals)}; RMS reprojection error "
               f"{fmt_float(s.rms_px, 2)} px = {fmt_float(s.rms_m, 2)} m on the ground.</p>")
    head = ["#", "Keyframe x, y", "Imagery x, y", "lat, lon", "Residual px", "Residual m",
            "Source"]

    def cells(rows: list[ResidualRow]) -> list[list[str]]:
        return [[str(r.number or ""), f"{r.kx:.1f}, {r.ky:.1f}", f"{r.tx:.1f}, {r.ty:.1f}",
                 f"{r.lat:.6f}, {r.lon:.6f}", fmt_float(r.residual_px, 2),
                 fmt_float(r.residual_m, 2), "analyst" if r.manual else "matcher"]
                for r in rows]

    numbered = sorted((r for r in s.residuals if r.number), key=lambda r: r.number or 0)
    rest = [r for r in s.residuals if not r.number]
    out.append(_table(head, cells(numbered), (0, 4, 5)))
    if rest:
        out.append(f"<details><summary>All other {len(rest)} tie points</summary>"
                   f"{_table(head, cells(rest), (0, 4, 5))}</details>")
    return "".join(out)


def _evidence(d: ReportData) -> str:
    v = d.footage.video
    src = d.source
    arch = src.archive_path if src and src.archive_path else None
    out = "<h3>Where the footage was obtained</h3>" + _kv(
        [(k, e(val)) for k, val in source_rows(src, v.sha256, arch)])
    out += "<h3>The file analysed</h3>" + _kv([
               ("File name", e(d.footage.name)),
               ("Original path", e(v.path + (" (folder redacted)" if d.redacted else ""))),
               ("SHA-256", _hash(v.sha256)), ("Size", f"{d.footage.size_bytes:,} bytes"),
               ("Duration", f"{v.duration_s:.3f} s"), ("Frame rate", f"{v.fps:.3f} fps"),
               ("Resolution", f"{v.width} x {v.height}"), ("Codec", e(v.codec or "n/a")),
               ("Copy stored in case", "yes" if d.footage.has_copy else "no")])
    out += "<h3>Keyframes</h3>" + _table(
        ["Id", "Frame", "PTS (s)", "Size", "Origin", "PNG SHA-256"],
        [[e(k.id), str(k.frame_index), f"{k.time_s:.3f}", f"{i['width']}x{i['height']}",
          "analyst" if i["manual"] else "automatic", _hash(k.sha256)]
         for k, i in d.keyframes], (1, 2))
    return out


def _imagery(d: ReportData) -> str:
    rows = []
    for r, st in d.rasters:
        acq, att, gsd = imagery_fields(r, d.imagery_meta.get(r.sha256))
        rows.append([e(r.path), _hash(r.sha256), e(crs_label(r.crs)), e(gsd), e(acq), e(att),
                     e(st) if st == "present" else f'<b class="bad">{e(st)}</b>'])
    return _table(["File", "SHA-256", "CRS", "GSD", "Acquired", "Attribution", "Status"],
                  rows) + ("<p class=\"small\">Values marked \u201centered by the analyst\u201d "
                           "were established by the analyst (e.g. from the provider's "
                           "catalogue), not read from the file.</p>")


def _method(d: ReportData) -> str:
    rows: list[tuple[str, Any]] = [("Report generated by", e(d.software)),
                                   ("Case created by", e(d.case_software)),
                                   ("Case schema version", str(d.schema_version)),
                                   ("Case created", e(d.created))]
    rows += [(f"method: {k}", e(json.dumps(v, sort_keys=True, ensure_ascii=False)
                                if not isinstance(v, str) else v))
             for k, v in sorted(d.method.items())]
    rows += [(f"time: {k}", f"{v:.2f} s") for k, v in sorted(d.timing_s.items())]
    out = _kv(rows)
    if d.warnings:
        out += "<h3>Warnings</h3><ul>" + "".join(f"<li>{e(w)}</li>" for w in d.warnings) + \
            "</ul>"
    out += ("<p>Each location is the keyframe centre mapped through a homography fitted to "
            "the tie points (keyframe pixel to imagery pixel), then through the imagery's "
            "georeferencing to WGS84. <code>workbench verify</code> recomputes it from the "
            "stored tie points.</p>")
    return out


def _integrity(d: ReportData) -> str:
    v = d.verification
    if v is None:
        return "<p>Verification was not run.</p>"
    head = '<p class="ok"><b>VERIFIED</b>: ' if v.ok else '<p class="bad"><b>MISMATCH</b>: ' \
        if v.tampered else '<p class="bad"><b>NOT FULLY CHECKED</b>: '
    out = head + e(f"{len(v.checked)} checks passed, "
                   f"{sum(f.severity == 'error' for f in v.findings)} problems.") + "</p>"
    out += "<ul>" + "".join(f"<li>{e(c)}</li>" for c in v.checked) + \
        "".join(f'<li class="bad">{e(f)}</li>' for f in v.findings) + "</ul>"
    out += "".join(f"<p>Partly checkable: {e(p)}</p>" for p in v.partly + v.not_checked)
    out += f"<p>Anchoring: {e(v.anchoring)}</p>"  # signed audit head (workbench case sign)
    out += f"<p>Audit-log head hash (record it to detect truncation): {_hash(v.audit_head)}</p>"
    return out


def _audit(d: ReportData) -> str:
    return _table(["#", "Time (UTC)", "Analyst", "Action", "What was done"], [
        [str(a.seq), e(audit_time(a.time)), e(a.user), e(a.action), e(audit_summary(a))]
        for a in d.audit], (0,)) + ("<p class=\"small\">Every entry in full, with its hash "
                                    "chain, is in Appendix A.</p>")


def _audit_raw(d: ReportData) -> str:
    note = ("Local paths in the entries are redacted here, so their hashes cannot be "
            "recomputed from this page; <code>workbench verify</code> checks the chain in the "
            "case file itself. " if d.redacted else "")
    out = [f"<p>{note}Each entry: sequence number, then its canonical JSON fields, the "
           "previous entry's hash and its own (SHA-256).</p>"]
    for a in d.audit:
        doc = {"seq": a.seq, "time": a.time, "user": a.user, "action": a.action,
               "details": a.details}
        out.append(f'<pre class="raw">{e(json.dumps(doc, sort_keys=True, ensure_ascii=False))}'
                   f"\nprev {e(a.prev_hash)}\nhash {e(a.hash)}</pre>")
    return "".join(out)


def render_html(d: ReportData) -> str:
    """The complete HTML document."""
    cands = _table(["Rank", "lat, lon", "Confidence", "Uncertainty", "Keyframe", "Decision"], [
        [str(c.rank), f"{c.lat:.6f}, {c.lon:.6f}", f"{c.confidence:.2f}",
         e(format_uncertainty(c.uncertainty_m)), e(c.keyframe_id),
         e(f"{dd.status} by {dd.user} at {dd.time}: {dd.note}") if dd else "undecided"]
        for c, dd in d.candidates], (0, 2))
    locs = "".join(_location(s, i, d) for i, s in enumerate(d.sections, start=1)) or \
        "<p>No location was confirmed or proposed.</p>"
    notes = "".join(f"<li>{e(n.text)} <span class='meta'>({e(n.user)}, {e(n.time)})</span></li>"
                    for n in d.notes)
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="referrer" content="no-referrer">',
        f"<title>Geolocation report: {e(d.case_name)}</title><style>{CSS}</style></head><body>",
        f"<h1>Geolocation report: {e(d.case_name)}</h1>",
        f'<div class="meta">Generated {e(d.generated_at)} '
        f"({e(GENERATED_BASIS.get(d.generated_basis, d.generated_basis))}) by {e(d.software)}; "
        f"footage {e(d.footage.name)} (SHA-256 {e(d.footage.video.sha256[:16])}...)"
        + ("; local paths redacted (file name and SHA-256 shown)" if d.redacted else
           "; local paths shown") + "</div>",
        "<h2>1. Summary</h2>", _summary(d),
        "<h2>2. Claim check</h2>", _claim(d),
        "<h2>3. Confirmed locations</h2>", locs,
        "<h2>4. All candidates</h2>", cands,
        "<h2>5. Footage evidence</h2>", _evidence(d),
        "<h2>6. Imagery used</h2>", _imagery(d),
        "<h2>7. Method</h2>", _method(d),
        "<h2>8. Analyst notes</h2>", f"<ul>{notes}</ul>" if notes else "<p>None.</p>",
        "<h2>9. Integrity check</h2>", _integrity(d),
        "<h2>10. Audit log</h2>", _audit(d),
        "<h2>Appendix A. Audit log entries (raw JSON)</h2>", _audit_raw(d),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"
