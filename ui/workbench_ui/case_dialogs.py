"""Dialogs that edit the case: the claim, a context layer, an imagery's provenance.

They only collect text; the values are checked and recorded by the core
(``Case.set_claim``, ``Case.add_context_layer``, ``Case.set_imagery_meta``) through
:mod:`workbench_ui.case_tools`, which shows the core's one-line error when one is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from workbench.case.model import Claim

LAYER_FILTER = ("Context layers (*.geojson *.json *.kml *.gpkg *.shp);;All files (*)")


class SubmitDialog(QDialog):
    """A dialog whose OK runs :attr:`submit` (``() -> str``): an empty string closes it,
    a message is shown in the dialog (the analyst corrects the value and tries again)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.submit: Callable[[], str] | None = None
        self.error_label = QLabel("")
        self.error_label.setTextFormat(Qt.TextFormat.PlainText)
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("color: #a31d1d")
        self.error_label.hide()

    def accept(self) -> None:
        message = self.submit() if self.submit is not None else ""
        if message:
            self.error_label.setText(message)
            self.error_label.show()
            return
        super().accept()


def _hint(text: str) -> QLabel:
    """A grey, wrapped note under a form."""
    label = QLabel(text)
    label.setWordWrap(True)
    label.setStyleSheet("color: #666")
    return label


def _buttons(dlg: QDialog, ok_text: str) -> QDialogButtonBox:
    box = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                           | QDialogButtonBox.StandardButton.Cancel)
    ok = box.button(QDialogButtonBox.StandardButton.Ok)
    if ok is not None:
        ok.setText(ok_text)
    box.accepted.connect(dlg.accept)
    box.rejected.connect(dlg.reject)
    return box


class ClaimDialog(SubmitDialog):
    """The claim: its words, the claimed point typed as latitude and longitude (decimal
    degrees, WGS84; labelled fields, so the order is never guessed), the claimed time
    (ISO 8601 with its zone) and the claimed category of the target."""

    def __init__(self, claim: Claim | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Claim being tested")
        self.text_edit = QPlainTextEdit(claim.text if claim else "")
        self.text_edit.setTabChangesFocus(True)
        self.text_edit.setPlaceholderText("What the claim says, e.g. 'Strike on the Kyiv "
                                          "TV tower, 1 March 2022, 17:00 local time'")
        self.text_edit.setFixedHeight(70)
        lon, lat = claim.lonlat if claim and claim.lonlat else (None, None)
        self.lat_edit = QLineEdit("" if lat is None else f"{lat:.6f}")
        self.lat_edit.setPlaceholderText("latitude, e.g. 50.4590 (north +, south -)")
        self.lon_edit = QLineEdit("" if lon is None else f"{lon:.6f}")
        self.lon_edit.setPlaceholderText("longitude, e.g. 30.4519 (east +, west -)")
        self.time_edit = QLineEdit(claim.claimed_time or "" if claim else "")
        self.time_edit.setPlaceholderText("ISO 8601 with zone, e.g. 2022-03-01T17:00+02:00")
        self.category_edit = QLineEdit(claim.category or "" if claim else "")
        self.category_edit.setPlaceholderText("what the claim says the target was (optional)")
        self.area_note = QLabel("")
        if claim is not None and claim.area_geojson:
            self.area_note.setText("The claimed area recorded earlier is kept.")
        form = QFormLayout()
        form.addRow("Claim", self.text_edit)
        form.addRow("Latitude", self.lat_edit)
        form.addRow("Longitude", self.lon_edit)
        form.addRow("Claimed time", self.time_edit)
        form.addRow("Category", self.category_edit)
        hint = _hint("Degrees in decimal, WGS84. Leave the point empty if the claim names "
                     "no place. Every change is recorded in the audit log.")
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.area_note)
        lay.addWidget(hint)
        lay.addWidget(self.error_label)
        lay.addWidget(_buttons(self, "Record claim"))
        self.resize(520, 320)
        self.text_edit.setFocus()

    def text(self) -> str:
        return self.text_edit.toPlainText().strip()

    def latlon_text(self) -> tuple[str, str]:
        return self.lat_edit.text().strip(), self.lon_edit.text().strip()

    def set_latlon(self, lat: float, lon: float) -> None:
        self.lat_edit.setText(f"{lat:.6f}")
        self.lon_edit.setText(f"{lon:.6f}")

    def claimed_time(self) -> str | None:
        return self.time_edit.text().strip() or None

    def category(self) -> str | None:
        return self.category_edit.text().strip() or None


class LayerDialog(SubmitDialog):
    """A context layer file with its source, licence and as-of date."""

    def __init__(self, start_dir: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Add context layer")
        self.start_dir = start_dir
        self.path_edit = QLineEdit()
        self.path_edit.setPlaceholderText("GeoJSON, KML, GeoPackage or Shapefile")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.path_edit, 1)
        row.addWidget(browse)
        self.name_edit = QLineEdit()
        self.name_edit.setPlaceholderText("defaults to the file name")
        self.source_edit = QLineEdit()
        self.source_edit.setPlaceholderText("e.g. OpenStreetMap contributors")
        self.licence_edit = QLineEdit()
        self.licence_edit.setPlaceholderText("e.g. ODbL 1.0")
        self.as_of_edit = QLineEdit()
        self.as_of_edit.setPlaceholderText("YYYY[-MM[-DD]], 'c.' prefix if approximate")
        self.class_edit = QLineEdit()
        self.class_edit.setPlaceholderText("attribute naming each feature's class (optional)")
        form = QFormLayout()
        form.addRow("File", row)
        form.addRow("Name", self.name_edit)
        form.addRow("Source", self.source_edit)
        form.addRow("Licence", self.licence_edit)
        form.addRow("As of", self.as_of_edit)
        form.addRow("Class attribute", self.class_edit)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.error_label)
        lay.addWidget(_buttons(self, "Add layer"))
        self.resize(520, 260)

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Context layer", self.start_dir, LAYER_FILTER)
        if path:
            self.path_edit.setText(path)

    def path(self) -> Path | None:
        text = self.path_edit.text().strip()
        return Path(text) if text else None

    def fields(self) -> dict[str, str | None]:
        """Keyword arguments of ``Case.add_context_layer`` (empty fields: ``None``)."""
        def v(e: QLineEdit) -> str | None:
            return e.text().strip() or None
        return {"name": v(self.name_edit), "source": v(self.source_edit),
                "licence": v(self.licence_edit), "as_of": v(self.as_of_edit),
                "class_attribute": v(self.class_edit)}


class ImageryMetaDialog(SubmitDialog):
    """The analyst's provenance of one raster: acquisition date, provider/attribution and
    ground resolution (what the file itself says is shown for reference)."""

    def __init__(self, name: str, file_says: str, current: dict[str, str],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Imagery provenance: {name}")
        said = QLabel(f"The file says: {file_says}")
        said.setTextFormat(Qt.TextFormat.PlainText)
        said.setWordWrap(True)
        self.date_edit = QLineEdit(current.get("date", ""))
        self.date_edit.setPlaceholderText("YYYY, YYYY-MM or YYYY-MM-DD (acquisition)")
        self.attr_edit = QLineEdit(current.get("attribution", ""))
        self.attr_edit.setPlaceholderText("provider / attribution, e.g. © Maxar, via …")
        self.gsd_edit = QLineEdit(current.get("gsd", ""))
        self.gsd_edit.setPlaceholderText("metres per pixel, e.g. 0.5")
        form = QFormLayout()
        form.addRow("Acquired", self.date_edit)
        form.addRow("Attribution", self.attr_edit)
        form.addRow("Resolution (m)", self.gsd_edit)
        note = _hint("Recorded in the case as entered by the analyst (audit-logged); "
                     "reports say so.")
        lay = QVBoxLayout(self)
        lay.addWidget(said)
        lay.addLayout(form)
        lay.addWidget(note)
        lay.addWidget(self.error_label)
        lay.addWidget(_buttons(self, "Record provenance"))
        self.resize(480, 220)

    def values(self) -> dict[str, str | None]:
        def v(e: QLineEdit) -> str | None:
            return e.text().strip() or None
        return {"date": v(self.date_edit), "attribution": v(self.attr_edit),
                "gsd": v(self.gsd_edit)}
