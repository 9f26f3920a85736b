"""The imagery's provenance under the imagery pane: its acquisition date, provider /
attribution and ground resolution, each with where it comes from (the file's metadata or
the analyst), and a warning when the date is unknown or later than the claimed event.

The analyst's values are recorded through the case API of schema 4
(``Case.set_imagery_meta(raster_path, acquired=, attribution=, gsd_m=)`` and
``Case.imagery_meta() -> {raster sha256: record}``), looked up on the case so that a
case library without them only disables *Edit…*.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PyQt6.QtCore import QObject, pyqtSignal

from workbench.case.model import RasterRecord
from workbench.errors import WorkbenchError
from workbench_ui.case_dialogs import ImageryMetaDialog
from workbench_ui.case_panel import ProvenanceStrip
from workbench_ui.runner import describe_error
from workbench_ui.session import Session
from workbench_ui.views import Views


def imagery_after_event(acquired: str | None, event: str | None) -> bool:
    """True when an imagery date (``YYYY``, ``YYYY-MM``, ``YYYY-MM-DD`` or ISO time) is
    certainly later than the event's date (ISO 8601): its earliest possible day is after
    the event's day.  Unknown dates are never "later"."""
    if not acquired or not event:
        return False
    day = acquired[:10]
    earliest = day + "-01-01"[len(day) - 4:] if len(day) < 10 else day
    return earliest > event[:10]


def _nb(text: str) -> str:
    """``text`` escaped, its spaces non-breaking (a short value is never split)."""
    return html.escape(text).replace(" ", "&nbsp;")


class ProvenanceTools(QObject):
    """Fills the provenance strip for the raster of the selected candidate (``current_rank``
    returns its rank) and records the analyst's values.

    Signals:
        edited(str message): the analyst's provenance was recorded.
    """

    edited = pyqtSignal(str)

    def __init__(self, views: Views, strip: ProvenanceStrip, session: Session,
                 current_rank: Callable[[], int], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.v, self.strip, self.s, self.current_rank = views, strip, session, current_rank
        self.dialog: Any = None  # the open dialog (tests fill it)
        strip.editRequested.connect(self.edit)
        session.imageryChanged.connect(self.refresh)

    def current_raster(self) -> RasterRecord | None:
        case = self.s.case
        if case is None:
            return None
        cand = self.s.candidate(self.current_rank())
        try:
            if cand is not None:
                return case.raster_for(cand.tile)
            rasters = case.rasters
        except (WorkbenchError, OSError):
            return None
        return rasters[0] if rasters else None

    def analyst_meta(self, rec: RasterRecord) -> Any:
        """The analyst's latest provenance record of ``rec`` (``Case.imagery_meta()``,
        keyed by raster SHA-256), or ``None`` (also when the case API lacks it)."""
        getter: Callable[[], dict[str, Any]] | None = getattr(self.s.case, "imagery_meta", None)
        if getter is None:
            return None
        try:
            return getter().get(rec.sha256)
        except (WorkbenchError, OSError):
            return None

    def refresh(self) -> None:
        rec = self.current_raster()
        if rec is None:
            self.strip.show_text("", "")
            return
        meta = self.analyst_meta(rec)
        by = (f"entered by the analyst {meta.user}, {meta.time[:10]}"
              if meta is not None else "")

        def fact(label: str, analyst: object, own: object, fmt: Callable[[Any], str]) -> str:
            if analyst is not None:
                return (f"{label}&nbsp;<b>{_nb(fmt(analyst))}</b> "
                        f"<span style='color:#1b4f8a'>({html.escape(by)})</span>")
            if own:
                return f"{label}&nbsp;<b>{_nb(fmt(own))}</b> (file metadata)"
            return f"{label}&nbsp;<b style='color:#a31d1d'>unknown</b>"

        acquired = getattr(meta, "acquired", None) or rec.acquired
        parts = [
            f"<b>{html.escape(Path(rec.path).name)}</b>",
            fact("Acquired", getattr(meta, "acquired", None), rec.acquired, str),
            fact("Source", getattr(meta, "attribution", None), rec.attribution, str),
            fact("Resolution", getattr(meta, "gsd_m", None), rec.gsd_m,
                 lambda g: f"{float(g):.2f} m/px"),
        ]
        claim = self.s.case.claim() if self.s.case is not None else None
        event = claim.claimed_time if claim is not None else None
        warning = ""
        if not acquired:
            warning = ("⚠ Imagery date unknown: it may show the place before or after the "
                       "event. Enter it if you can establish it (Edit…).")
        elif imagery_after_event(acquired, event):
            warning = (f"⚠ Imagery acquired {acquired}, after the claimed event "
                       f"({(event or '')[:10]}): what it shows may not have existed then.")
        self.strip.show_text(" · ".join(parts), warning)

    def edit(self) -> None:
        rec = self.current_raster()
        setter = getattr(self.s.case, "set_imagery_meta", None)
        if rec is None:
            return
        if setter is None:
            self.v.error("This version of the case file cannot record imagery provenance "
                         "(Case.set_imagery_meta is missing).")
            return
        meta = self.analyst_meta(rec)
        cur = {"date": getattr(meta, "acquired", None) or "",
               "attribution": getattr(meta, "attribution", None) or "",
               "gsd": str(getattr(meta, "gsd_m", None) or "")}
        file_says = (f"acquired {rec.acquired or 'unknown'}, source "
                     f"{rec.attribution or 'unknown'}, {rec.gsd_m:.2f} m/px")
        dlg = ImageryMetaDialog(Path(rec.path).name, file_says, cur, self.v.window)
        dlg.submit = lambda: self._record_provenance(dlg, rec)
        self._run(dlg)

    def _record_provenance(self, dlg: ImageryMetaDialog, rec: RasterRecord) -> str:
        vals = dlg.values()
        gsd = None
        if vals["gsd"]:
            try:
                gsd = float(vals["gsd"].replace(",", "."))
            except ValueError:
                return "Resolution must be a number of metres per pixel (e.g. 0.5)."
        setter = getattr(self.s.case, "set_imagery_meta", None)
        if setter is None:
            return "the case was closed"
        try:
            setter(rec.path, acquired=vals["date"], attribution=vals["attribution"], gsd_m=gsd)
        except (WorkbenchError, OSError) as exc:
            return describe_error(exc)
        self.edited.emit("Imagery provenance recorded as entered by the analyst (audit-logged).")
        self.refresh()
        return ""

    def _run(self, dlg: Any) -> None:
        self.dialog = dlg
        dlg.exec()
        self.dialog = None
