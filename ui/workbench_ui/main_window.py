"""The main window: assembles the views into docks, builds menus/actions/shortcuts and
remembers the layout (QSettings).  Behaviour lives in :mod:`workbench_ui.controller`, which
drives the panels through :class:`~workbench_ui.views.Views` and reports what is possible
(:class:`~workbench_ui.controller.Availability`); the window enables its actions from that.

Layout (fits a 1366x768 laptop screen): the comparison / frame viewer in the
centre; inputs + locate progress and the point panel on the right; keyframes and
candidates along the bottom.
"""

from __future__ import annotations

from pathlib import Path

from PyQt6.QtCore import QByteArray, QSettings, Qt
from PyQt6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PyQt6.QtWidgets import (
    QDockWidget,
    QHBoxLayout,
    QMainWindow,
    QMenu,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from workbench_ui.audit_panel import AuditPanel
from workbench_ui.candidates import CandidatesPanel
from workbench_ui.case_panel import CasePanel, ProvenanceStrip
from workbench_ui.case_tools import CaseTools
from workbench_ui.compare import CompareWidget
from workbench_ui.controller import Availability, Controller
from workbench_ui.index_actions import IndexActions
from workbench_ui.keyframe_strip import KeyframeStrip
from workbench_ui.locate_panel import LocatePanel, MessageBar
from workbench_ui.map_dock import MapDock
from workbench_ui.point_panel import PointPanel
from workbench_ui.scrubber import FrameViewer
from workbench_ui.session import Session
from workbench_ui.shadow_panel import ShadowController, ShadowPanel
from workbench_ui.views import Views

DEFAULT_SIZE = (1280, 700)  # fits 1366x768 with a taskbar and the title bar


def default_size(avail_w: int, avail_h: int) -> tuple[int, int]:
    """The first-start window size on a screen whose available area is ``avail_w x avail_h``:
    :data:`DEFAULT_SIZE`, shrunk to leave room for the window frame and title bar."""
    return min(DEFAULT_SIZE[0], avail_w - 16), min(DEFAULT_SIZE[1], avail_h - 40)


SETTINGS_VERSION = 1


class MainWindow(QMainWindow):
    """The workbench window.  ``session`` holds the state; ``controller`` the behaviour."""

    def __init__(self, session: Session | None = None, settings: QSettings | None = None) -> None:
        super().__init__()
        self.settings = settings or QSettings()
        self.session = session or Session(parent=self)
        self.setWindowTitle("OSINT Geolocation Workbench")
        self.setAcceptDrops(True)
        self.setDockNestingEnabled(True)

        # --- central: message bar + comparison / frames tabs ----------------------
        self.message_bar = MessageBar()
        self.compare = CompareWidget()
        self.frames = FrameViewer()
        self.center_tabs = QTabWidget()
        self.center_tabs.addTab(self.compare, "Compare")
        self.center_tabs.addTab(self.frames, "Frames")
        self.center_tabs.setTabToolTip(0, "Keyframe vs. reference imagery of the selected "
                                          "candidate")
        self.center_tabs.setTabToolTip(1, "Keyframes and any frame of the footage at full size")
        central = QWidget()
        cl = QVBoxLayout(central)
        cl.setContentsMargins(2, 2, 2, 2)
        cl.setSpacing(2)
        cl.addWidget(self.message_bar)
        cl.addWidget(self.center_tabs, 1)
        self.setCentralWidget(central)

        # --- docks ------------------------------------------------------------------
        self.locate_panel = LocatePanel()
        self.point_panel = PointPanel()
        self.audit_panel = AuditPanel()
        self.strip = KeyframeStrip()
        self.candidates = CandidatesPanel()
        self.confirm_btn = QPushButton("Confirm…")
        self.reject_btn = QPushButton("Reject…")
        self.confirm_btn.setToolTip("Confirm the selected candidate with a note (C)")
        self.reject_btn.setToolTip("Reject the selected candidate with a note (R)")
        cand_box = QWidget()
        cb = QVBoxLayout(cand_box)
        cb.setContentsMargins(0, 0, 0, 0)
        cb.addWidget(self.candidates, 1)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.confirm_btn)
        row.addWidget(self.reject_btn)
        cb.addLayout(row)

        self.dock_inputs = self._dock("Inputs && locate", self.locate_panel, "dock_inputs",
                                      Qt.DockWidgetArea.RightDockWidgetArea)
        self.dock_point = self._dock("Point geolocation", self.point_panel, "dock_point",
                                     Qt.DockWidgetArea.RightDockWidgetArea)
        self.dock_audit = self._dock("Audit log", self.audit_panel, "dock_audit",
                                     Qt.DockWidgetArea.RightDockWidgetArea)
        self.tabifyDockWidget(self.dock_point, self.dock_audit)
        self.dock_point.raise_()
        self.dock_strip = self._dock("Keyframes", self.strip, "dock_strip",
                                     Qt.DockWidgetArea.BottomDockWidgetArea)
        self.dock_cands = self._dock("Candidates", cand_box, "dock_cands",
                                     Qt.DockWidgetArea.BottomDockWidgetArea)
        self.splitDockWidget(self.dock_strip, self.dock_cands, Qt.Orientation.Horizontal)
        # --- time check: a shadow marked by two clicks on the keyframe (issue 13) ---------
        self.shadow_panel = ShadowPanel()
        self.dock_shadow = self._dock("Shadow (time check)", self.shadow_panel, "dock_shadow",
                                      Qt.DockWidgetArea.RightDockWidgetArea)
        # --- end time check ----------------------------------------------------------------
        self.resizeDocks([self.dock_inputs], [330], Qt.Orientation.Horizontal)
        self.resizeDocks([self.dock_strip, self.dock_cands], [470, 800],
                         Qt.Orientation.Horizontal)
        self.resizeDocks([self.dock_strip], [210], Qt.Orientation.Vertical)
        self._default_state = self.saveState(SETTINGS_VERSION)
        self.recent_menu = QMenu("&Recent cases", self)

        self.views = Views(
            window=self, settings=self.settings, message_bar=self.message_bar,
            center_tabs=self.center_tabs, compare=self.compare, frames=self.frames,
            locate_panel=self.locate_panel, point_panel=self.point_panel,
            audit_panel=self.audit_panel, strip=self.strip, candidates=self.candidates,
            recent_menu=self.recent_menu,
        )
        self.controller = Controller(self.views, self.session, self)
        self.controller.availabilityChanged.connect(self._apply_availability)
        self.controller.review.pointLocated.connect(self.dock_point.raise_)
        self.shadow = ShadowController(self.shadow_panel, self.compare, self.session,  # issue 13
                                       self.controller.review, self.controller.pool, self)
        self._build_map()
        self._build_actions()
        self._build_map_actions()
        self._install_case_tools()
        self.views.status("Ready: open footage (Ctrl+O) and imagery (Ctrl+I), "
                          "or try Help ▸ Open demo")
        screen = self.screen()
        if screen is not None:
            avail = screen.availableGeometry()
            self.resize(*default_size(avail.width(), avail.height()))
            self.move(avail.center() - self.rect().center())
        else:
            self.resize(*DEFAULT_SIZE)
        self.restore_settings()
        self.controller.refresh()
        self.controller.opener.announce_recoverable()

    def _dock(self, title: str, widget: QWidget, name: str,
              area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    # --- overview map, ruler, figure export (workbench_ui.map_dock) ------------------------
    def _build_map(self) -> None:
        self.map = MapDock(self.views, self.session, self.controller.pool, self)
        self.dock_map = self._dock("Map", self.map.panel, "dock_map",
                                   Qt.DockWidgetArea.RightDockWidgetArea)
        self.tabifyDockWidget(self.dock_inputs, self.dock_map)
        self.dock_inputs.raise_()
        self.resizeDocks([self.dock_inputs], [330], Qt.Orientation.Horizontal)
        # with a case open the map is the more useful of the two (Inputs is a tab away)
        self.session.caseChanged.connect(
            lambda: self.dock_map.raise_() if self.session.case is not None else None)
        self._default_state = self.saveState(SETTINGS_VERSION)

    def _build_map_actions(self) -> None:
        bar = self.menuBar()
        assert bar is not None
        m_file, m_an, m_view = (bar.actions()[i].menu() for i in range(3))
        assert isinstance(m_file, QMenu) and isinstance(m_an, QMenu) and isinstance(m_view, QMenu)
        m_file.insertMenu(self.act_close_case, self.map.figure_menu)
        ruler = QAction("Ruler (&distance and bearing)", self)
        ruler.setCheckable(True)
        ruler.setShortcut(QKeySequence("D"))
        ruler.toggled.connect(self.map.panel.ruler_btn.setChecked)
        self.map.panel.ruler_btn.toggled.connect(ruler.setChecked)
        ruler.toggled.connect(lambda on: self.dock_map.raise_() if on else None)
        m_an.addAction(ruler)
        self.addAction(ruler)
        self.act_ruler = ruler
        sep = next((a for a in m_view.actions() if a.isSeparator()), None)
        m_view.insertAction(sep, self.dock_map.toggleViewAction())

    # --- actions -----------------------------------------------------------------------
    def _action(self, menu: QMenu, text: str, slot: object, shortcut: str | None = None,
                tip: str = "") -> QAction:
        act = QAction(text, self)
        if shortcut:
            act.setShortcut(QKeySequence(shortcut))
        if tip:
            act.setStatusTip(tip)
            act.setToolTip(tip)
        act.triggered.connect(slot)  # type: ignore[arg-type]
        menu.addAction(act)
        self.addAction(act)  # shortcuts work while the menu bar is hidden, too
        return act

    def _build_actions(self) -> None:
        c = self.controller
        bar = self.menuBar()
        assert bar is not None  # QMainWindow always creates one
        m_file = bar.addMenu("&File")
        m_an = bar.addMenu("&Analysis")
        m_view = bar.addMenu("&View")
        m_help = bar.addMenu("&Help")
        assert m_file and m_an and m_view and m_help
        a = self._action
        self.act_open_video = a(m_file, "Open &footage…", c.opener.ask_open_footage, "Ctrl+O",
                                "Open a video file (drag and drop works too)")
        self.act_add_tiles = a(m_file, "Add &imagery files…", c.opener.ask_add_imagery_files,
                               "Ctrl+I", "Add georeferenced rasters (GeoTIFF, JP2, VRT, ...)")
        self.act_add_folder = a(m_file, "Add imagery &folder…", c.opener.ask_add_imagery_folder,
                                "Ctrl+Shift+I", "Add every raster in a folder (tile catalog)")
        m_file.addSeparator()
        self.act_open_case = a(m_file, "Open &case…", c.ask_open_case, "Ctrl+Shift+O",
                               "Open a .wbcase case file")
        m_file.addMenu(self.recent_menu)
        self.act_save_as = a(m_file, "&Save case as…", c.ask_save_as, "Ctrl+S",
                             "Save the case to a file of your choice")
        self.act_export = a(m_file, "&Export report…", c.ask_export, "Ctrl+E",
                            "Write the HTML / PDF / GeoJSON / KML report")
        self.act_close_case = a(m_file, "Close case", c.ask_close_case, "Ctrl+W")
        m_file.addSeparator()
        a(m_file, "&Quit", self.close, "Ctrl+Q")

        self.act_locate = a(m_an, "&Locate", c.start_locate, "Ctrl+L",
                            "Find where the footage was filmed")
        self.act_relocate = a(m_an, "Locate &again with all keyframes", c.start_relocate,
                              "Ctrl+Shift+L", "Re-run matching with the case's keyframes, "
                              "including the ones you added by hand")
        self.act_cancel = a(m_an, "&Cancel job", c.cancel_job, "Esc")
        m_an.addSeparator()
        r = c.review
        self.act_next = a(m_an, "&Next candidate", lambda: r.step_candidate(1), "Ctrl+Down")
        self.act_prev = a(m_an, "&Previous candidate", lambda: r.step_candidate(-1), "Ctrl+Up")
        self.act_confirm = a(m_an, "C&onfirm candidate…", lambda: c.review.ask_decide(True), "C")
        self.act_reject = a(m_an, "&Reject candidate…", lambda: c.review.ask_decide(False), "R")
        self.act_note = a(m_an, "Add &note…", c.review.ask_note, "Ctrl+N")
        m_an.addSeparator()
        self.act_overlay = a(m_an, "Toggle &overlay", c.review.toggle_overlay, "O")
        self.act_mask = a(m_an, "Toggle HUD &mask", c.review.toggle_mask, "M")
        self.act_fit = a(m_an, "&Fit images", c.review.fit_views, "F")
        self.act_add_kf = a(m_an, "Add frame as &keyframe", c.review.add_shown_frame, "K")
        self.act_copy = a(m_an, "&Copy point position", self.point_panel.copy, "Ctrl+Shift+C")

        # --- region index (issue 10): Analysis > Index imagery… / Locate in index… -------
        self.index_actions = IndexActions(self, c.pool)
        self.index_actions.install(m_an)

        for dock in (self.dock_inputs, self.dock_point, self.dock_audit, self.dock_strip,
                     self.dock_cands):
            m_view.addAction(dock.toggleViewAction())
        m_view.addSeparator()
        a(m_view, "Reset &layout", self.reset_layout)

        self.act_demo = a(m_help, "Open &demo", c.opener.open_demo,
                          tip="Generate the demo town and strike footage, then load them")
        a(m_help, "&Keyboard shortcuts", c.show_shortcuts, "F1")
        a(m_help, "&About", c.show_about)

        self.confirm_btn.clicked.connect(lambda: c.review.ask_decide(True))
        self.reject_btn.clicked.connect(lambda: c.review.ask_decide(False))

    def _apply_availability(self, state: Availability) -> None:
        """Enable the actions and buttons for what is possible now; set the title."""
        self.act_locate.setEnabled(state.can_locate)
        self.act_relocate.setEnabled(state.can_relocate)
        self.act_cancel.setEnabled(state.busy)
        for act in (self.act_save_as, self.act_export, self.act_close_case, self.act_note):
            act.setEnabled(state.has_case and not state.busy)
        for w in (self.act_confirm, self.act_reject, self.confirm_btn, self.reject_btn):
            w.setEnabled(state.can_decide)
        self.act_add_kf.setEnabled(state.can_add_keyframe)
        self.setWindowTitle(state.title)

    # --- the whole case in the GUI (issue 12): claim, layers, tie points, verify, imagery
    #     provenance under the imagery pane; behaviour in workbench_ui.case_tools --------
    def _install_case_tools(self) -> None:
        self.case_panel = CasePanel()
        self.provenance_strip = ProvenanceStrip()
        self.compare.right_footer.addWidget(self.provenance_strip)
        self.dock_case = self._dock("Case", self.case_panel, "dock_case",
                                    Qt.DockWidgetArea.RightDockWidgetArea)
        self.tabifyDockWidget(self.dock_point, self.dock_case)
        # the shadow tool is a tab beside them too: stacked, the right column would need
        # more height than a 768-pixel laptop screen has
        self.tabifyDockWidget(self.dock_point, self.dock_shadow)
        self.dock_point.raise_()
        self.resizeDocks([self.dock_inputs, self.dock_point], [250, 420],
                         Qt.Orientation.Vertical)
        self.case_tools = CaseTools(self.views, self.case_panel, self.provenance_strip,
                                    self.session, self.controller.review, self.controller.pool,
                                    self)
        self.case_tools.changed.connect(self.controller.refresh)
        bar = self.menuBar()
        m_case = bar.addMenu("Ca&se") if bar is not None else None
        if m_case is not None:
            t = self.case_tools
            self._action(m_case, "Enter / edit &claim…", lambda: t.edit_claim(),
                         tip="The claim being tested: place, time, target category")
            self._action(m_case, "Add context &layer…", t.add_layer,
                         tip="A GeoJSON/KML/GeoPackage/Shapefile layer with its source")
            self._action(m_case, "Imagery &provenance…", t.provenance.edit,
                         tip="Enter the imagery's date, provider and resolution")
            self._action(m_case, "&Verify case", t.run_verify,
                         tip="Re-check hashes, audit chain and records (read-only)")
            m_case.addSeparator()
            m_case.addAction(self.dock_case.toggleViewAction())
        self._default_state = self.saveState(SETTINGS_VERSION)

    # --- settings ------------------------------------------------------------------------
    def restore_settings(self) -> None:
        s = self.settings
        geo = s.value("window/geometry")
        if isinstance(geo, QByteArray) and not geo.isEmpty():
            self.restoreGeometry(geo)
        state = s.value("window/state")
        if isinstance(state, QByteArray) and not state.isEmpty():
            self.restoreState(state, SETTINGS_VERSION)
        self.compare.link_box.setChecked(s.value("compare/link", True, type=bool))
        self.compare.lines_box.setChecked(s.value("compare/lines", False, type=bool))
        self.compare.opacity.setValue(int(s.value("compare/opacity", 60, type=int)))

    def save_settings(self) -> None:
        s = self.settings
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState(SETTINGS_VERSION))
        s.setValue("compare/link", self.compare.link_box.isChecked())
        s.setValue("compare/lines", self.compare.lines_box.isChecked())
        s.setValue("compare/opacity", self.compare.opacity.value())
        s.sync()

    def reset_layout(self) -> None:
        self.restoreState(self._default_state, SETTINGS_VERSION)
        for dock in (self.dock_inputs, self.dock_point, self.dock_strip, self.dock_cands,
                     self.dock_map):
            dock.show()

    # --- events ----------------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent | None) -> None:
        if event is None:
            return
        if not self.controller.confirm_close():
            event.ignore()
            return
        self.save_settings()
        self.controller.shutdown()
        event.accept()

    def dragEnterEvent(self, event: QDragEnterEvent | None) -> None:
        if event is not None and event.mimeData() is not None and event.mimeData().hasUrls():  # type: ignore[union-attr]
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent | None) -> None:
        if event is None or event.mimeData() is None:
            return
        paths = [Path(u.toLocalFile()) for u in event.mimeData().urls() if u.isLocalFile()]  # type: ignore[union-attr]
        if paths:
            self.controller.opener.open_paths(paths)
            event.acceptProposedAction()
