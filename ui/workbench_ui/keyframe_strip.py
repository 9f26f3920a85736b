"""Keyframes strip: thumbnails with timestamp and sharpness; click to view at full size.

Entries are plain :class:`~workbench_ui.models.KeyframeEntry` values (id, frame index,
time, sharpness, BGR image, overlay mask) the session builds from the case; the strip
knows nothing about files.

The items (id, time, sharpness) appear at once; their thumbnails are filled in a few
per event-loop turn (:data:`THUMBS_PER_TURN`), so a case with many keyframes never
holds the GUI thread for long.
"""

from __future__ import annotations

from PyQt6.QtCore import QSize, Qt, QTimer, pyqtSignal
from PyQt6.QtGui import QColor, QIcon, QPixmap
from PyQt6.QtWidgets import QListView, QListWidget, QListWidgetItem, QWidget

from workbench_ui.images import bgr_to_qimage
from workbench_ui.jobs import thumbnail
from workbench_ui.models import KeyframeEntry, format_time

THUMB_W = 144
ID_ROLE = Qt.ItemDataRole.UserRole + 1
THUMBS_PER_TURN = 4


class KeyframeStrip(QListWidget):
    """A horizontal strip of keyframe thumbnails.

    Signals:
        keyframeSelected(str id): the user clicked (or keyboard-selected) a keyframe.
        thumbnailsReady(): every item of the last :meth:`set_keyframes` has its thumbnail.
    """

    keyframeSelected = pyqtSignal(str)
    thumbnailsReady = pyqtSignal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setFlow(QListView.Flow.LeftToRight)
        self.setWrapping(False)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setIconSize(QSize(THUMB_W, THUMB_W * 9 // 16))
        self.setSpacing(4)
        self.setUniformItemSizes(True)
        self.setMinimumHeight(THUMB_W * 9 // 16 + 58)
        self.setToolTip("Keyframes chosen for matching (click to view at full size)")
        self._entries: dict[str, KeyframeEntry] = {}
        self._pending: list[tuple[QListWidgetItem, KeyframeEntry]] = []
        blank = QPixmap(THUMB_W, THUMB_W * 9 // 16)
        blank.fill(QColor(60, 60, 64))
        self._blank = QIcon(blank)  # until the thumbnail is made
        self._thumb_timer = QTimer(self)
        self._thumb_timer.setInterval(0)
        self._thumb_timer.timeout.connect(self._fill_thumbnails)
        self.currentItemChanged.connect(self._on_current)

    def set_keyframes(self, entries: list[KeyframeEntry]) -> None:
        """Replace the strip's content (entries are shown in the given order)."""
        self.blockSignals(True)
        try:
            self._thumb_timer.stop()
            self._pending = []
            self.clear()
            self._entries = {e.id: e for e in entries}
            for e in entries:
                text = f"{e.id}{' ✎' if e.manual else ''}\n{format_time(e.time_s)}"
                if e.sharpness > 0:
                    text += f" · sharp {e.sharpness:.0f}"
                item = QListWidgetItem(self._blank, text)
                self._pending.append((item, e))
                item.setData(ID_ROLE, e.id)
                item.setToolTip(
                    f"{e.id}: frame {e.frame_index} at {format_time(e.time_s)}\n"
                    f"sharpness {e.sharpness:.1f} (variance of the Laplacian)"
                    + ("\nadded by hand" if e.manual else "")
                )
                item.setTextAlignment(Qt.AlignmentFlag.AlignHCenter)
                self.addItem(item)
        finally:
            self.blockSignals(False)
        if self._pending:
            self._thumb_timer.start()

    def thumbnails_pending(self) -> int:
        """How many items still show the blank placeholder instead of their thumbnail."""
        return len(self._pending)

    def _fill_thumbnails(self) -> None:
        """Make the next few thumbnails (one event-loop turn's worth)."""
        batch, self._pending = self._pending[:THUMBS_PER_TURN], self._pending[THUMBS_PER_TURN:]
        for item, e in batch:
            item.setIcon(QIcon(QPixmap.fromImage(bgr_to_qimage(thumbnail(e.image, THUMB_W)))))
        if not self._pending:
            self._thumb_timer.stop()
            self.thumbnailsReady.emit()

    def entry(self, keyframe_id: str) -> KeyframeEntry | None:
        return self._entries.get(keyframe_id)

    def entries(self) -> list[KeyframeEntry]:
        return list(self._entries.values())

    def select(self, keyframe_id: str) -> bool:
        """Select the keyframe ``keyframe_id`` (emits ``keyframeSelected``)."""
        for i in range(self.count()):
            item = self.item(i)
            if item is not None and item.data(ID_ROLE) == keyframe_id:
                self.setCurrentItem(item)
                return True
        return False

    def _on_current(self, current: QListWidgetItem | None, _prev: QListWidgetItem | None) -> None:
        if current is not None:
            self.keyframeSelected.emit(str(current.data(ID_ROLE)))
