"""The PDF report, laid out with reportlab platypus (same content as the HTML report).

Text is XML-escaped before it reaches reportlab's mini-markup, so notes containing
``<script>`` or ``<font>`` are printed literally.  DejaVu fonts are embedded when
installed (Unicode notes and file names), else the PDF base fonts are used.  Bidi
controls and other invisible characters are shown as ``[U+202E]`` markers.  The
document is written with ``invariant=1`` (no random document id) but its creation date
is the report's real generation time (``ReportData.created_utc``: now, or the case's
last audit entry when asked for a reproducible report); reportlab's invariant mode would
otherwise stamp 2000-01-01.  Table cells longer than :data:`MAX_CELL` characters are
cut (a page-high cell cannot be laid out); the HTML report keeps the full text.
"""

from __future__ import annotations

import io
import json
from typing import Any

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import (
    Image,
    KeepTogether,
    LayoutError,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from workbench.errors import ReportError, one_line
from workbench.geo import format_uncertainty
from workbench.report.claimtext import LOCATOR_CAPTION, SHADOW_CAPTION, SUN_CAPTION
from workbench.report.model import (
    GENERATED_BASIS,
    UNCERTAINTY_NOTE,
    LocationSection,
    ReportData,
    confidence_words,
    crs_label,
    fmt_float,
)
from workbench.report.pdftext import MAX_LABEL, fonts, jpeg, pdf_date, t, tc
from workbench.report.provtext import (
    audit_summary,
    audit_time,
    imagery_caption,
    imagery_fields,
    source_rows,
)
from workbench.textsafe import visible_controls

MAX_EXTRA_ROWS = 20  # residual rows beyond the numbered landmarks


class _Builder:
    def __init__(self, d: ReportData) -> None:
        self.d = d
        reg, bold, mono = fonts()
        ss = getSampleStyleSheet()
        self.body = ParagraphStyle("wb-body", parent=ss["BodyText"], fontName=reg, fontSize=9,
                                   leading=11.5)
        self.small = ParagraphStyle("wb-small", parent=self.body, fontSize=7, leading=8.5)
        self.mono = ParagraphStyle("wb-mono", parent=self.small, fontName=mono)
        self.raw = ParagraphStyle("wb-raw", parent=self.mono, fontSize=6, leading=7.2,
                                  spaceAfter=3, splitLongWords=1)
        self.h1 = ParagraphStyle("wb-h1", parent=ss["Title"], fontName=bold, fontSize=17,
                                 alignment=0, spaceAfter=2)
        self.h2 = ParagraphStyle("wb-h2", parent=ss["Heading2"], fontName=bold, fontSize=12.5,
                                 spaceBefore=10, spaceAfter=4)
        self.h3 = ParagraphStyle("wb-h3", parent=ss["Heading3"], fontName=bold, fontSize=10,
                                 spaceBefore=6, spaceAfter=3)
        self.head = ParagraphStyle("wb-head", parent=self.body, fontName=bold, fontSize=12,
                                   leading=15)
        self.bold = bold
        self.width = A4[0] - 30 * mm
        self.story: list[Any] = []

    def p(self, text: str, style: ParagraphStyle | None = None) -> Paragraph:
        return Paragraph(text, style or self.body)

    def kv(self, rows: list[tuple[str, str]]) -> Table:
        data = [[self.p(f"<b>{t(k, MAX_LABEL)}</b>"), self.p(v)] for k, v in rows]
        tab = Table(data, colWidths=[48 * mm, self.width - 48 * mm])
        tab.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                                 ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#eeeeee")),
                                 ("VALIGN", (0, 0), (-1, -1), "TOP")]))
        return tab

    def table(self, head: list[str], rows: list[list[str]], widths: list[float],
              style: ParagraphStyle | None = None) -> Table:
        st = style or self.small
        data = [[self.p(f"<b>{t(h)}</b>", st) for h in head]]
        data += [[self.p(c, st) for c in r] for r in rows]
        total = sum(widths)
        tab = Table(data, colWidths=[w * self.width / total for w in widths], repeatRows=1)
        tab.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
                                 ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e4e4e4")),
                                 ("VALIGN", (0, 0), (-1, -1), "TOP"),
                                 ("TOPPADDING", (0, 0), (-1, -1), 1.5),
                                 ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5)]))
        return tab

    def image(self, png: bytes, max_h: float = 110 * mm) -> Image:
        img = Image(io.BytesIO(jpeg(png)))  # JPEG is embedded as is (DCT): small and fast
        s = min(self.width / img.imageWidth, max_h / img.imageHeight)
        img.drawWidth, img.drawHeight = img.imageWidth * s, img.imageHeight * s
        return img

    # ---- sections ----------------------------------------------------------

    def summary(self) -> None:
        d, p = self.d, self.d.primary
        colour = "#0a6b1f" if p and p.decision else ("#9a5b00" if p else "#b00020")
        self.story.append(self.p(f'<font color="{colour}">{t(d.headline)}</font>', self.head))
        if p is not None:
            c = p.candidate
            rows = [("Position (WGS84 lat, lon)", f"<b>{c.lat:.6f}, {c.lon:.6f}</b>"),
                    ("DMS", t(p.dms)), ("MGRS", t(p.mgrs or "n/a")),
                    ("Uncertainty", f"{format_uncertainty(c.uncertainty_m)}"
                                     f" {UNCERTAINTY_NOTE}"),
                    ("Confidence", f"{c.confidence:.2f} ({t(confidence_words(c.confidence))})"),
                    ("Keyframe", t(f"{c.keyframe_id} at {p.keyframe.time_s:.3f} s" if p.keyframe
                                   else c.keyframe_id))]
            if c.target and {"lat", "lon"} <= set(c.target):
                rows.append(("Target pixel position",
                             f"{c.target['lat']:.6f}, {c.target['lon']:.6f}"))
            rows.append(("Analyst decision", tc(
                f"{p.decision.status} by {p.decision.user} at {p.decision.time}: "
                f"{p.decision.note}") if p.decision else
                '<font color="#9a5b00">none yet: not reviewed</font>'))
            self.story.append(self.kv(rows))
        if d.reason:
            self.story.append(self.p(f"Software reasoning: {t(d.reason)}"))
        if d.missing_rasters:
            self.story.append(self.p('<font color="#b00020">Imagery missing at report time: '
                                     f"{t(', '.join(d.missing_rasters))}</font>"))

    def claim(self) -> None:
        d, cr = self.d, self.d.claim_report
        if d.claim is None and not d.context_layers and cr is None:
            self.story.append(self.p("No claim was recorded for this case."))
            return
        rows: list[tuple[str, str]] = []
        if d.claim:
            rows += [("Claim tested", tc(d.claim.text)),
                     ("Claimed location", f"{d.claim.lonlat[1]:.6f}, {d.claim.lonlat[0]:.6f}"
                      if d.claim.lonlat else "not given"),
                     ("Claimed area", "given" if d.claim.area_geojson else "not given"),
                     ("Claimed time", tc(d.claim.claimed_time or "not given")),
                     ("Claimed target category", tc(d.claim.category or "not given")),
                     ("Recorded", tc(f"by the analyst {d.claim.user} at {d.claim.time}"))]
        chk = d.primary.claim_check if d.primary else None
        if chk is not None:
            rows += [("Finding", f"<b>{t(chk.summary())}</b>")]
        elif d.claim:
            rows.append(("Finding", "no geolocated point to compare (not located)"))
        if rows:
            self.story.append(self.kv(rows))
        if cr is not None:
            for sec in cr.sections:
                self.story.append(self.p(t(sec.title), self.h3))
                self.story.append(self.kv([(k, tc(v)) for k, v in sec.rows]))
                for w in sec.warnings:
                    self.story.append(self.p(f'<font color="#9a5b00">{t(w)}</font>'))
            for png, cap in ((cr.locator_png, LOCATOR_CAPTION), (cr.shadow_png, SHADOW_CAPTION),
                             (cr.sun_png, SUN_CAPTION)):
                if png:
                    self.story.append(KeepTogether([self.image(png, 95 * mm),
                                                    self.p(t(cap), self.small)]))
        if d.context_layers:
            metas = {name: meta for name, meta, _ in cr.layers} if cr else {}
            self.story.append(self.table(["Layer", "As of", "Source / licence", "SHA-256",
                                          "Features"], [
                [tc(c.name), t(metas[c.name].as_of_date().label()) if c.name in metas
                 else "unknown",
                 tc(f"{metas[c.name].source} ({metas[c.name].licence})") if c.name in metas
                 else tc(c.source_path), t(c.sha256), str(len(c.geojson["features"]))]
                for c in d.context_layers], [2, 1.5, 4, 4, 1]))

    def location(self, s: LocationSection, n: int) -> None:
        c = s.candidate
        status = s.decision.status if s.decision else "NOT CONFIRMED"
        self.story.append(self.p(f"Location {n}: candidate #{c.rank} ({t(status)})", self.h3))
        if s is not self.d.primary:  # the primary one is already in the summary
            self.story.append(self.kv([
                ("Position", t(f"{c.lat:.6f}, {c.lon:.6f} | {s.dms} | {s.mgrs}")),
                ("Uncertainty / confidence", t(f"{format_uncertainty(c.uncertainty_m)}, "
                                               f"{c.confidence:.2f} "
                                               f"({confidence_words(c.confidence)})")),
                ("Decision", tc(f"{s.decision.status} by the analyst {s.decision.user} at "
                                f"{s.decision.time}: {s.decision.note}")
                 if s.decision else "none yet")]))
        r = s.raster
        img_txt = imagery_caption(r, self.d.imagery_meta.get(r.sha256)) if r else c.tile
        if s.side_by_side_png:
            self.story.append(KeepTogether([
                self.image(s.side_by_side_png, 78 * mm),
                self.p(f"Left: keyframe {t(c.keyframe_id)} (overlay dimmed). Right: reference "
                       f"imagery ({t(img_txt)}). Same number and colour = same landmark; "
                       "squares = analyst tie points.", self.small)]))
        if s.overlay_png:
            self.story.append(KeepTogether([
                Spacer(1, 3 * mm), self.image(s.overlay_png, 95 * mm),
                self.p("Overlay: keyframe warped onto the imagery as a checkerboard (edges "
                       "continue across squares when registration is right); yellow = frame "
                       "footprint, red crosses P1, P2... = target / points of interest.",
                       self.small)]))
        if s.raster_missing:
            self.story.append(self.p(f'<font color="#b00020">Figures omitted: '
                                     f"{t(s.raster_missing)}</font>"))
        if s.marks:
            self.story.append(self.table(["", "Label", "Keyframe px", "lat, lon", "± m",
                                          "Recorded by"], [
                [f"P{i}", tc(m.label), f"{m.x:.1f}, {m.y:.1f}", f"{m.lat:.6f}, {m.lon:.6f}",
                 tc(format_uncertainty(m.uncertainty_m)), tc(m.recorded)]
                for i, m in enumerate(s.marks, start=1)], [1, 4, 3, 4, 2, 4]))
        self.story.append(self.p(f"Tie points: {len(s.residuals)}; RMS reprojection error "
                                 f"{fmt_float(s.rms_px, 2)} px = {fmt_float(s.rms_m, 2)} m."))
        numbered = sorted((r for r in s.residuals if r.number), key=lambda r: r.number or 0)
        rest = sorted((r for r in s.residuals if not r.number),
                      key=lambda r: -r.residual_px if r.residual_px == r.residual_px else 0)
        rows = numbered + rest[:MAX_EXTRA_ROWS]
        if len(rest) > MAX_EXTRA_ROWS:
            self.story.append(self.p(
                f"Numbered landmarks and the {MAX_EXTRA_ROWS} largest other residuals are "
                f"listed; {len(rest) - MAX_EXTRA_ROWS} more tie points are in the HTML report.",
                self.small))
        self.story.append(self.table(
            ["#", "Keyframe x, y", "Imagery x, y", "lat, lon", "Resid. px", "Resid. m", "By"],
            [[str(r.number or ""), f"{r.kx:.1f}, {r.ky:.1f}", f"{r.tx:.1f}, {r.ty:.1f}",
              f"{r.lat:.6f}, {r.lon:.6f}", fmt_float(r.residual_px, 2),
              fmt_float(r.residual_m, 2), "analyst" if r.manual else "matcher"] for r in rows],
            [1, 3, 3, 4, 2, 2, 2]))

    def rest(self) -> None:
        d, h2 = self.d, self.h2
        self.story.append(self.p("4. All candidates", h2))
        self.story.append(self.table(["Rank", "lat, lon", "Conf.", "Uncert.", "Keyframe",
                                      "Decision"], [
            [str(c.rank), f"{c.lat:.6f}, {c.lon:.6f}", f"{c.confidence:.2f}",
             t(format_uncertainty(c.uncertainty_m)), t(c.keyframe_id),
             tc(f"{dd.status} by {dd.user} at {dd.time}: {dd.note}") if dd else "undecided"]
            for c, dd in d.candidates], [1, 4, 1.5, 1.5, 2, 6]))
        v = d.footage.video
        self.story.append(self.p("5. Footage evidence", h2))
        src = d.source
        self.story.append(self.p("Where the footage was obtained", self.h3))
        self.story.append(self.kv([(k, tc(val)) for k, val in source_rows(
            src, v.sha256, src.archive_path if src else None)]))
        self.story.append(self.p("The file analysed", self.h3))
        self.story.append(self.kv([
            ("File name", tc(d.footage.name)),
            ("Original path", tc(v.path + (" (folder redacted)" if d.redacted else ""))),
            ("SHA-256", f'<font name="{self.mono.fontName}" size="8">{t(v.sha256)}</font>'),
            ("Size", f"{d.footage.size_bytes:,} bytes"), ("Duration", f"{v.duration_s:.3f} s"),
            ("Frame rate / resolution", f"{v.fps:.3f} fps, {v.width} x {v.height}, "
                                        f"{t(v.codec or 'n/a')}")]))
        self.story.append(self.table(["Id", "Frame", "PTS (s)", "Origin", "PNG SHA-256"], [
            [t(k.id), str(k.frame_index), f"{k.time_s:.3f}",
             "analyst" if i["manual"] else "auto", t(k.sha256)] for k, i in d.keyframes],
            [1.3, 1.2, 1.3, 1.3, 7.5], self.mono))
        self.story.append(self.p("6. Imagery used", h2))
        rows_i = []
        for r, st in d.rasters:
            acq, att, gsd = imagery_fields(r, d.imagery_meta.get(r.sha256))
            rows_i.append([tc(r.path), tc(r.sha256), tc(f"{crs_label(r.crs)}; GSD {gsd}"),
                           tc(acq), tc(att), tc(st) if st == "present" else
                           f'<font color="#b00020"><b>{tc(st)}</b></font>'])
        self.story.append(self.table(["File", "SHA-256", "CRS / GSD", "Acquired", "Attribution",
                                      "Status"], rows_i, [3, 4, 3, 2.4, 2.4, 1.4]))
        self.story.append(self.p("Values marked \u201centered by the analyst\u201d were "
                                 "established by the analyst, not read from the file.",
                                 self.small))
        self.story.append(self.p("7. Method", h2))
        rows = [("Report generated by", t(d.software)), ("Case created by", t(d.case_software)),
                ("Case schema / created", t(f"{d.schema_version} / {d.created}"))]
        rows += [(f"method: {k}", t(v if isinstance(v, str) else
                                    json.dumps(v, sort_keys=True, ensure_ascii=False)))
                 for k, v in sorted(d.method.items())]
        rows += [(f"time: {k}", f"{val:.2f} s") for k, val in sorted(d.timing_s.items())]
        self.story.append(self.kv(rows))
        for w in d.warnings:
            self.story.append(self.p(f"Warning: {t(w)}"))
        self.story.append(self.p("8. Analyst notes", h2))
        for n in d.notes or []:
            self.story.append(self.p(f"{t(n.text)} <i>({t(n.user)}, {t(n.time)})</i>"))
        if not d.notes:
            self.story.append(self.p("None."))
        self.story.append(self.p("9. Integrity check", h2))
        ver = d.verification
        if ver is None:
            self.story.append(self.p("Verification was not run."))
        else:
            word = '<font color="#0a6b1f"><b>VERIFIED</b></font>' if ver.ok else \
                '<font color="#b00020"><b>MISMATCH</b></font>' if ver.tampered else \
                '<font color="#b00020"><b>NOT FULLY CHECKED</b></font>'
            self.story.append(self.p(f"{word}: {len(ver.checked)} checks passed, "
                                     f"{sum(f.severity == 'error' for f in ver.findings)} "
                                     "problems."))
            for line in ver.checked:
                self.story.append(self.p(f"- {t(line)}", self.small))
            for f in ver.findings:
                self.story.append(self.p(f'<font color="#b00020">- {t(f)}</font>', self.small))
            for line in ver.partly + ver.not_checked:
                self.story.append(self.p(f"- Partly checkable: {t(line)}", self.small))
            self.story.append(self.p(f"Anchoring: {t(ver.anchoring)}", self.small))
            self.story.append(self.p(f"Audit-log head hash: {t(ver.audit_head)}", self.mono))
        self.story.append(self.p("10. Audit log", h2))
        self.story.append(self.table(["#", "Time (UTC)", "Analyst", "Action", "What was done"], [
            [str(a.seq), tc(audit_time(a.time)), tc(a.user), tc(a.action), tc(audit_summary(a))]
            for a in d.audit], [0.7, 3.3, 1.3, 2.3, 7.1]))
        self.story.append(self.p("Every entry in full, with its hash chain, is in Appendix A.",
                                 self.small))
        self.story.append(self.p("Appendix A. Audit log entries (raw JSON)", h2))
        if d.redacted:
            self.story.append(self.p(
                "Local paths in the entries are redacted here, so their hashes cannot be "
                "recomputed from this page; workbench verify checks the chain in the case "
                "file itself.", self.small))
        for a in d.audit:
            doc = {"seq": a.seq, "time": a.time, "user": a.user, "action": a.action,
                   "details": a.details}
            self.story.append(self.p(
                t(json.dumps(doc, sort_keys=True, ensure_ascii=False)) +
                f"<br/>prev {t(a.prev_hash)}<br/>hash {t(a.hash)}", self.raw))

    def build(self) -> bytes:
        d = self.d
        self.story += [self.p(f"Geolocation report: {t(d.case_name)}", self.h1),
                       self.p(f"Generated {t(d.generated_at)} ("
                              f"{t(GENERATED_BASIS.get(d.generated_basis, d.generated_basis))}) "
                              f"by {t(d.software)}; " + (
                                  "local paths redacted (file name and SHA-256 shown)"
                                  if d.redacted else "local paths shown"), self.small),
                       self.p("1. Summary", self.h2)]
        self.summary()
        self.story.append(self.p("2. Claim check", self.h2))
        self.claim()
        self.story.append(self.p("3. Confirmed locations", self.h2))
        for i, s in enumerate(d.sections, start=1):
            self.location(s, i)
        if not d.sections:
            self.story.append(self.p("No location was confirmed or proposed."))
        self.rest()
        buf = io.BytesIO()
        footer = visible_controls(f"{d.case_name} | generated {d.generated_at}")

        date_formatter = pdf_date(d)

        def on_page(canvas: Any, doc: Any) -> None:
            if date_formatter is not None:
                canvas.setDateFormatter(date_formatter)
            canvas.saveState()
            canvas.setFont(self.body.fontName, 7)
            canvas.drawString(15 * mm, 8 * mm, footer[:150])
            canvas.drawRightString(A4[0] - 15 * mm, 8 * mm, f"page {doc.page}")
            canvas.restoreState()

        doc = SimpleDocTemplate(buf, pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm,
                                topMargin=14 * mm, bottomMargin=15 * mm,
                                title=f"Geolocation report: {d.case_name}",
                                author="osint-geolocation-workbench", invariant=1)
        try:
            doc.build(self.story, onFirstPage=on_page, onLaterPages=on_page)
        except LayoutError as exc:  # a cell taller than a page despite the cuts in pdftext
            raise ReportError(f"PDF layout failed ({one_line(exc, 120)}); the HTML report "
                              "holds the same content") from exc
        return buf.getvalue()


def pdf_bytes(d: ReportData) -> bytes:
    """The PDF report as bytes."""
    return _Builder(d).build()
