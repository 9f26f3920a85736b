"""The parts of the main window that the behaviour objects drive.

:class:`~workbench_ui.main_window.MainWindow` builds the widgets and lays them out;
it hands this bundle to the :class:`~workbench_ui.controller.Controller` (and through
it to the opener and the review), which therefore never import the window: they
see the panels they fill and the one-line message channel, nothing else.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from PyQt6.QtCore import QSettings
from PyQt6.QtWidgets import QMainWindow, QMenu, QTabWidget

from workbench_ui.audit_panel import AuditPanel
from workbench_ui.candidates import CandidatesPanel
from workbench_ui.compare import CompareWidget
from workbench_ui.keyframe_strip import KeyframeStrip
from workbench_ui.locate_panel import LocatePanel, MessageBar
from workbench_ui.point_panel import PointPanel
from workbench_ui.scrubber import FrameViewer

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Views:
    """The window's panels, its settings, and where messages go.

    ``window`` is the parent of dialogs and carries the status bar; ``center_tabs``
    holds ``compare`` and ``frames``; ``recent_menu`` is File ▸ Recent cases.
    """

    window: QMainWindow
    settings: QSettings
    message_bar: MessageBar
    center_tabs: QTabWidget
    compare: CompareWidget
    frames: FrameViewer
    locate_panel: LocatePanel
    point_panel: PointPanel
    audit_panel: AuditPanel
    strip: KeyframeStrip
    candidates: CandidatesPanel
    recent_menu: QMenu

    def error(self, message: str) -> None:
        """Show a one-line error in the message bar (the session stays usable)."""
        log.info("error shown: %s", message)
        self.message_bar.show_message(message, "error")
        self.status(f"Error: {message}", 10_000)

    def info(self, message: str, kind: str = "info") -> None:
        """Show a one-line message (``kind``: "info" or "warning") in the message bar."""
        self.message_bar.show_message(message, kind)
        self.status(message, 8_000)

    def status(self, message: str, timeout_ms: int = 0) -> None:
        """Show ``message`` in the status bar (for ``timeout_ms``; 0: until replaced)."""
        bar = self.window.statusBar()
        if bar is not None:
            bar.showMessage(message, timeout_ms)
