"""Frame viewer and scrubber: any frame at full size, HUD mask toggle, add as keyframe.

The slider (and ``,``/``.`` or Left/Right for one frame, PgUp/PgDn for one second)
picks a frame index; Play (Space) steps through the footage at its frame rate, as fast
as frames decode, and stops on the last frame.  Frames are decoded with
:func:`workbench.video.reader.read_frame` in a background
:class:`~workbench_ui.workers.Task` (only the latest request is kept, so
dragging the slider never queues a backlog and the window stays responsive).
"""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
from PyQt6.QtCore import Qt, QTimer, pyqtSignal
from PyQt6.QtGui import QKeySequence, QShortcut
from PyQt6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from workbench.video.reader import read_frame
from workbench_ui.image_view import ImageView
from workbench_ui.models import KeyframeEntry, format_time
from workbench_ui.workers import Task

PLAY_TEXT, PAUSE_TEXT = "▶ Play", "⏸ Pause"


def _read(path: Path, index: int) -> tuple[int, float, np.ndarray]:
    f = read_frame(path, index)
    return f.index, f.pts_s, f.image


class FrameViewer(QWidget):
    """Full-size frame view with a HUD-mask toggle and a frame scrubber.

    Signals:
        addKeyframeRequested(int index, float time_s, object image): the analyst wants
            the shown frame ``(H, W, 3) uint8`` BGR stored as a manual keyframe.
        failed(str): a frame could not be decoded (one-line message).
    """

    addKeyframeRequested = pyqtSignal(int, float, object)
    failed = pyqtSignal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.video: Path | None = None
        self.fps = 25.0
        self.frame_index = -1
        self.time_s = 0.0
        self.image: np.ndarray | None = None
        self._mask: np.ndarray | None = None
        self._task: Task | None = None
        self._pending: int | None = None
        self.tasks: set[Task] = set()

        self.view = ImageView(placeholder="Open footage to view its frames")
        self.info = QLabel("")
        self.mask_box = QCheckBox("Show HUD mask")
        self.mask_box.setToolTip("Tint the burned-in overlay (HUD, title card) that matching "
                                 "ignores (M)")
        self.mask_box.toggled.connect(self.view.set_mask_visible)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 0)
        self.slider.setToolTip("Scrub through the footage (, and . step one frame)")
        self.spin = QSpinBox()
        self.spin.setRange(0, 0)
        self.spin.setToolTip("Frame index (decode order)")
        self.time_label = QLabel("0:00.00")
        self.prev_btn = QPushButton("◀")
        self.next_btn = QPushButton("▶")
        self.prev_btn.setToolTip("Previous frame (,)")
        self.next_btn.setToolTip("Next frame (.)")
        self.play_btn = QPushButton(PLAY_TEXT)
        self.play_btn.setToolTip("Play / pause the footage (Space)")
        self.play_btn.setEnabled(False)
        self.play_btn.clicked.connect(self.toggle_play)
        self._play_timer = QTimer(self)
        self._play_timer.timeout.connect(self._play_tick)
        self.add_btn = QPushButton("Add as keyframe")
        self.add_btn.setToolTip("Store this frame in the case as a manual keyframe (K)")
        self.add_btn.setEnabled(False)
        bar = QHBoxLayout()
        bar.addWidget(self.play_btn)
        bar.addWidget(self.prev_btn)
        bar.addWidget(self.slider, 1)
        bar.addWidget(self.next_btn)
        bar.addWidget(self.spin)
        bar.addWidget(self.time_label)
        bar.addWidget(self.add_btn)
        top = QHBoxLayout()
        top.addWidget(self.info, 1)
        top.addWidget(self.mask_box)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(top)
        lay.addWidget(self.view, 1)
        lay.addLayout(bar)

        self.slider.valueChanged.connect(self.request_frame)
        self.spin.valueChanged.connect(self.slider.setValue)
        self.prev_btn.clicked.connect(lambda: self.step(-1))
        self.next_btn.clicked.connect(lambda: self.step(1))
        self.add_btn.clicked.connect(self._add)
        for keys, delta in ((",", -1), (".", 1), ("Left", -1), ("Right", 1)):
            sc = QShortcut(QKeySequence(keys), self)
            sc.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            sc.activated.connect(lambda d=delta: self.step(d))
        play = QShortcut(QKeySequence("Space"), self)
        play.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        play.activated.connect(self.toggle_play)
        for keys, sec in (("PgUp", -1), ("PgDown", 1)):
            sc = QShortcut(QKeySequence(keys), self)
            sc.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            sc.activated.connect(lambda s=sec: self.step(round(s * self.fps)))

    # --- footage -------------------------------------------------------------------
    def set_video(self, path: Path | None, frame_count: int = 0, fps: float = 25.0) -> None:
        """Attach footage (``None`` detaches); the slider spans its ``frame_count`` frames."""
        self.video = path
        self.fps = fps if fps > 0 else 25.0
        last = max(0, frame_count - 1)
        for w in (self.slider, self.spin):
            w.blockSignals(True)
            w.setRange(0, last)
            w.blockSignals(False)
        self.slider.setPageStep(max(1, round(self.fps)))
        self.add_btn.setEnabled(False)
        self.pause()
        self.play_btn.setEnabled(path is not None and frame_count > 1)
        if path is None:
            self.view.set_image(None)
            self.info.setText("")

    def set_mask(self, mask: np.ndarray | None) -> None:
        """The overlay mask ``(H, W) uint8`` used for frames of this footage (HUD is static)."""
        self._mask = mask
        if self.image is not None and self.mask_for(self.image) is not None:
            self.view.set_mask(mask)

    def mask_for(self, image: np.ndarray) -> np.ndarray | None:
        """The footage's overlay mask if it fits ``image`` ``(H, W, 3)``, else None."""
        mask = self._mask
        return mask if mask is not None and mask.shape == image.shape[:2] else None

    def show_keyframe(self, entry: KeyframeEntry) -> None:
        """Show a stored keyframe at full size (and move the scrubber to its frame)."""
        self.pause()
        self._set_image(entry.frame_index, entry.time_s, entry.image,
                        f"<b>{html.escape(entry.id)}</b>"
                        f"{' (added by hand)' if entry.manual else ''}: "
                        f"frame {entry.frame_index}, {format_time(entry.time_s)}, "
                        f"sharpness {entry.sharpness:.0f}")
        if entry.mask is not None:
            self._mask = entry.mask
            self.view.set_mask(entry.mask)
        for w in (self.slider, self.spin):
            w.blockSignals(True)
            w.setValue(entry.frame_index)
            w.blockSignals(False)
        self.time_label.setText(format_time(entry.time_s))
        self.add_btn.setEnabled(False)

    # --- play / pause --------------------------------------------------------------
    @property
    def playing(self) -> bool:
        return self._play_timer.isActive()

    def toggle_play(self) -> None:
        if self.playing:
            self.pause()
        else:
            self.play()

    def play(self) -> None:
        """Step one frame per ``1/fps`` s (skipping ticks while a frame still decodes)."""
        if self.video is None or self.slider.maximum() <= 0:
            return
        if self.slider.value() >= self.slider.maximum():
            self.slider.setValue(0)  # from the start again
        self._play_timer.start(max(15, round(1000 / self.fps)))
        self.play_btn.setText(PAUSE_TEXT)

    def pause(self) -> None:
        self._play_timer.stop()
        self.play_btn.setText(PLAY_TEXT)

    def _play_tick(self) -> None:
        if self._task is not None and self._task.is_running():
            return  # keep pace with decoding instead of queueing requests
        if self.slider.value() >= self.slider.maximum():
            self.pause()
            return
        self.step(1)
        if self.slider.value() >= self.slider.maximum():
            self.pause()

    def step(self, delta: int) -> None:
        self.slider.setValue(self.slider.value() + delta)

    def request_frame(self, index: int) -> None:
        """Decode frame ``index`` in the background (latest request wins)."""
        self.spin.blockSignals(True)
        self.spin.setValue(index)
        self.spin.blockSignals(False)
        self.time_label.setText(format_time(index / self.fps))
        if self.video is None:
            return
        if self._task is not None and self._task.is_running():
            self._pending = index
            return
        self._pending = None
        task = Task(_read, self.video, index, name="read frame", with_progress=False)
        task.succeeded.connect(self._on_frame)
        task.failed.connect(self.failed)
        task.finished.connect(lambda t=task: self._done(t))
        self._task = task
        self.tasks.add(task)
        task.start()

    def _done(self, task: Task) -> None:
        self.tasks.discard(task)
        if self._task is task:
            self._task = None
        if self._pending is not None:
            self.request_frame(self._pending)

    def _on_frame(self, value: object) -> None:
        if not isinstance(value, tuple) or len(value) != 3:
            return
        index, pts, image = int(value[0]), float(value[1]), value[2]
        self._set_image(index, pts, image, f"Frame {index} at {format_time(pts)}")
        self.time_label.setText(format_time(pts))
        self.add_btn.setEnabled(True)

    def _set_image(self, index: int, time_s: float, image: np.ndarray, text: str) -> None:
        keep = self.image is not None and self.image.shape == image.shape
        self.frame_index, self.time_s, self.image = index, time_s, image
        self.view.set_image(image, keep_view=keep)
        mask = self.mask_for(image)
        if mask is not None:
            self.view.set_mask(mask)
        self.view.set_mask_visible(self.mask_box.isChecked())
        self.info.setText(text)

    def _add(self) -> None:
        if self.image is not None and self.frame_index >= 0:
            self.addKeyframeRequested.emit(self.frame_index, self.time_s, self.image)

    def wait_idle(self, msecs: int = 10_000) -> None:
        """Wait for background decodes (tests, shutdown)."""
        for t in list(self.tasks):
            t.wait(msecs)
