"""Text, fonts, images and dates for the PDF writer (:mod:`workbench.report.pdf`).

Text reaches reportlab's mini-markup only through :func:`t` / :func:`tc`: control and
bidi characters made visible, XML-escaped, and cut (a table cell taller than a page
cannot be laid out: reportlab raises ``LayoutError``).
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

from workbench.report.model import ReportData
from workbench.textsafe import visible_controls

_FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
MAX_CELL = 800  # characters of case text in one table cell (fits a narrow column's page)
MAX_LABEL = 300  # characters of a key-value table's label
MAX_PARAGRAPH = 20_000  # characters of one paragraph (a note, a raw audit entry)


def fonts() -> tuple[str, str, str]:
    """(regular, bold, mono) font names, registering DejaVu if available."""
    files = {"WB-Sans": "DejaVuSans.ttf", "WB-Sans-Bold": "DejaVuSans-Bold.ttf",
             "WB-Mono": "DejaVuSansMono.ttf"}
    try:
        for name, f in files.items():
            if name not in pdfmetrics.getRegisteredFontNames():
                pdfmetrics.registerFont(TTFont(name, str(_FONT_DIR / f)))
        # <b> in a paragraph needs the family: without it bold text came out regular
        pdfmetrics.registerFontFamily("WB-Sans", normal="WB-Sans", bold="WB-Sans-Bold",
                                      italic="WB-Sans", boldItalic="WB-Sans-Bold")
        return "WB-Sans", "WB-Sans-Bold", "WB-Mono"
    except Exception:  # reportlab raises TTFError/IOError variants for missing fonts
        return "Helvetica", "Helvetica-Bold", "Courier"


def jpeg(png: bytes, quality: int = 92) -> bytes:
    """Re-encode a figure PNG as JPEG for the PDF (the HTML keeps the lossless PNG)."""
    import cv2
    import numpy as np

    img = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
    if img is None:
        return png
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    return bytes(buf) if ok else png


def t(value: object, limit: int = MAX_PARAGRAPH) -> str:
    """Escape text for a reportlab Paragraph (bidi/control characters made visible), cut
    after ``limit`` characters with a note saying so."""
    text = visible_controls(str(value))
    if len(text) > limit:
        text = (f"{text[:limit]} … [{len(text) - limit:,} more characters: see the HTML "
                "report]")
    return escape(text, quote=False)


def tc(value: object) -> str:
    """:func:`t` for a table cell (cut at :data:`MAX_CELL` characters)."""
    return t(value, MAX_CELL)


def pdf_date(d: ReportData) -> Any:
    """A reportlab date formatter writing ``d.created_utc`` (None: leave reportlab's)."""
    when = d.created_utc
    if when is None:
        return None
    stamp = when.strftime("D:%Y%m%d%H%M%S+00'00'")
    return lambda *_args: stamp


__all__ = ["MAX_CELL", "MAX_LABEL", "MAX_PARAGRAPH", "fonts", "jpeg", "pdf_date", "t", "tc"]
