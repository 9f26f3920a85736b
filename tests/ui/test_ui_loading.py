"""Loading a located case keeps the window responsive (issue 12): the keyframe PNGs are
decoded in a worker before the case is opened on the GUI thread, and the keyframe
strip shows its items at once and fills in their thumbnails a few per event-loop turn.
(How long the GUI thread is busy is measured in ``benchmarks/bench_ui.py``, not here.)"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("PyQt6")
pytestmark = pytest.mark.gui

from test_ui_support import open_window  # noqa: E402


@pytest.fixture
def window(qtbot: Any, tmp_path: Path) -> Any:
    win = open_window(qtbot, tmp_path)
    from PyQt6.QtWidgets import QMessageBox

    # (closing the window asks about the untitled case: the answer is "discard")
    win.controller.ask_save_discard = lambda: QMessageBox.StandardButton.Discard
    yield win
    win.controller.shutdown()


def _autosaved(case_file: dict[str, Any], win: Any) -> Path:
    """The case as the locate job leaves it: a closed file in the autosave folder."""
    win.session.autosave_dir.mkdir(parents=True, exist_ok=True)
    p = win.session.autosave_dir / "located.wbcase"
    shutil.copyfile(case_file["case"], p)
    return p


def _icon_image(item: Any) -> Any:
    from workbench_ui.keyframe_strip import THUMB_W

    return item.icon().pixmap(THUMB_W, THUMB_W * 9 // 16).toImage()


def _has_texture(img: Any) -> bool:
    """True unless every sampled pixel has one colour (the blank placeholder)."""
    w, h = img.width(), img.height()
    colours = {img.pixel(x, y) for x in range(0, w, 7) for y in range(0, h, 5)}
    return len(colours) > 1


def test_located_case_opens_after_its_keyframes_are_decoded_in_a_worker(
        window: Any, qtbot: Any, case_file: dict[str, Any]) -> None:
    from workbench.case.casefile import Case

    c, s, strip = window.controller, window.session, window.strip
    path = _autosaved(case_file, window)
    with Case.open(path, readonly=True) as case:
        ids = [k.id for k in case.keyframes]
        pixels = {i: case.keyframe_image(i) for i in ids}
    assert ids

    shown: list[tuple[int, int]] = []  # (items, thumbnails still pending) when shown
    s.keyframesChanged.connect(lambda: shown.append((strip.count(),
                                                     strip.thumbnails_pending())))
    c.job = object()  # as when the locate job hands its result over
    c._locate_ok(path)
    # still the job: the case opens only when the worker has decoded the keyframes
    assert c.job is not None and s.case is None
    assert not window.act_locate.isEnabled()
    assert "loading the result" in window.locate_panel.stage.text()
    qtbot.waitUntil(lambda: c.job is None, timeout=30_000)

    assert s.case is not None and s.case_path == path and s.untitled
    assert window.message_bar.kind != "error", window.message_bar.text()
    assert [k.id for k in s.keyframes] == ids
    for k in s.keyframes:  # the worker's decoding is the case's pixels, exactly
        assert np.array_equal(k.image, pixels[k.id])
    # the strip listed every keyframe at once, thumbnails still to come ...
    assert shown and shown[-1] == (len(ids), len(ids))
    assert window.candidates.model.rowCount() == 2
    # ... and fills them in while the window goes on handling events
    qtbot.waitUntil(lambda: strip.thumbnails_pending() == 0, timeout=10_000)
    assert strip.count() == len(ids)
    for i in range(strip.count()):
        assert _has_texture(_icon_image(strip.item(i)))
    qtbot.waitUntil(lambda: window.compare.candidate is not None, timeout=20_000)
    assert window.compare.candidate.rank == 1


def test_a_located_case_that_cannot_be_read_is_reported(window: Any, qtbot: Any) -> None:
    c, s = window.controller, window.session
    s.autosave_dir.mkdir(parents=True, exist_ok=True)
    bad = s.autosave_dir / "broken.wbcase"
    bad.write_bytes(b"not a case at all")
    c.job = object()
    c._locate_ok(bad)
    qtbot.waitUntil(lambda: c.job is None, timeout=30_000)
    assert s.case is None
    assert window.message_bar.kind == "error"
    assert "could not be opened" in window.message_bar.text()
    assert "broken.wbcase" in window.message_bar.text()
    assert window.act_locate.isEnabled() == c.availability().can_locate


def test_a_case_opened_from_the_menu_is_read_in_a_worker(
        window: Any, qtbot: Any, case_file: dict[str, Any], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """File ▸ Open, Recent cases, a dropped or given case: the keyframes are decoded off
    the GUI thread, and the case opens with them (not decoded a second time)."""
    import threading

    import workbench_ui.controller as controller
    from workbench_ui.session import Session

    from workbench.case.casefile import Case

    c, s = window.controller, window.session
    path = tmp_path / "saved.wbcase"
    shutil.copyfile(case_file["case"], path)
    threads: list[bool] = []

    def read(case_path: Path, **kw: Any) -> Any:
        threads.append(threading.current_thread() is threading.main_thread())
        return real_read(case_path, **kw)

    def decode_again(self: Session, case: Any) -> Any:
        raise AssertionError("the keyframes were decoded again on the GUI thread")

    real_read = controller.read_case_keyframes
    monkeypatch.setattr(controller, "read_case_keyframes", read)
    monkeypatch.setattr(Session, "_load_keyframes", decode_again)
    c.opener.caseRequested.emit(path, [])  # what Recent cases, a drop, the command line do
    assert s.case is None  # not before the worker has read it
    qtbot.waitUntil(lambda: s.case is not None, timeout=30_000)
    assert threads == [False] and s.case_path == path and not s.untitled
    with Case.open(path, readonly=True) as case:
        assert [k.id for k in s.keyframes] == [k.id for k in case.keyframes] != []
    # a file that is not a case: the case's own one-line error, the window lives on
    bad = tmp_path / "broken.wbcase"
    bad.write_bytes(b"not a case at all")
    monkeypatch.undo()
    c.opener.caseRequested.emit(bad, [])
    qtbot.waitUntil(lambda: window.message_bar.kind == "error", timeout=30_000)
    assert "broken.wbcase" in window.message_bar.text()
    assert s.case_path == path  # the open case stays


def test_while_a_case_is_read_the_old_one_cannot_be_changed_and_cancel_or_close_open_nothing(
        window: Any, qtbot: Any, case_file: dict[str, Any], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    import workbench_ui.controller as controller

    c, s = window.controller, window.session
    path = tmp_path / "saved.wbcase"
    shutil.copyfile(case_file["case"], path)
    gate = threading.Event()
    real_read = controller.read_case_keyframes

    def slow_read(case_path: Path, **kw: Any) -> Any:
        gate.wait(20)
        return real_read(case_path, **kw)

    monkeypatch.setattr(controller, "read_case_keyframes", slow_read)
    # reading: Locate, Save and the like are off (a run must not land in the wrong case)
    c.opener.caseRequested.emit(path, [])
    state = c.availability()
    assert state.busy and not state.can_locate and not state.can_relocate
    assert not window.act_save_as.isEnabled() and window.act_cancel.isEnabled()
    c.cancel_job()  # Cancel: the read ends, nothing is opened
    gate.set()
    qtbot.waitUntil(lambda: not c.availability().busy, timeout=20_000)
    qtbot.wait(50)
    assert s.case is None
    # closing the window while a case is read: nothing is opened afterwards
    gate.clear()
    c.opener.caseRequested.emit(path, [])
    threading.Timer(0.1, gate.set).start()
    c.shutdown()
    qtbot.wait(200)
    assert s.case is None


def test_discarding_the_untitled_case_waits_until_the_next_one_opens(
        window: Any, qtbot: Any, case_file: dict[str, Any], tmp_path: Path) -> None:
    """Discard (this window's answer) deletes the untitled case only once the case asked
    for has opened: a file that cannot be opened leaves the analyst's work as it was."""
    c, s = window.controller, window.session
    untitled = _autosaved(case_file, window)
    assert c.open_case(untitled) and s.untitled
    bad = tmp_path / "broken.wbcase"
    bad.write_bytes(b"not a case at all")
    c.opener.caseRequested.emit(bad, [])
    qtbot.waitUntil(lambda: window.message_bar.kind == "error", timeout=30_000)
    assert s.case_path == untitled and s.case is not None and untitled.is_file()
    good = tmp_path / "saved.wbcase"
    shutil.copyfile(case_file["case"], good)
    c.opener.caseRequested.emit(good, [])
    qtbot.waitUntil(lambda: s.case_path == good, timeout=30_000)
    assert not untitled.exists()


def test_reading_a_case_stops_at_a_cancel(case_file: dict[str, Any]) -> None:
    import threading

    from workbench_ui.jobs import read_case_keyframes

    from workbench.errors import Cancelled

    stop = threading.Event()
    assert read_case_keyframes(case_file["case"], cancel=stop)
    stop.set()
    with pytest.raises(Cancelled):
        read_case_keyframes(case_file["case"], cancel=stop)


def test_footage_given_with_a_case_wins_over_the_cases_own(
        window: Any, qtbot: Any, case_file: dict[str, Any], tmp_path: Path) -> None:
    c, s = window.controller, window.session
    path = tmp_path / "saved.wbcase"
    shutil.copyfile(case_file["case"], path)
    other = tmp_path / "other.mp4"
    shutil.copyfile(case_file["video"], other)
    c.opener.open_paths([other, path])  # a drop, or `workbench-gui VIDEO CASE`
    qtbot.waitUntil(lambda: s.case is not None and s.video_path == other
                    and s.video_info is not None, timeout=30_000)
    assert s.case_path == path


def test_keyframes_of_another_file_are_not_taken(window: Any, case_file: dict[str, Any],
                                                 tmp_path: Path) -> None:
    """Entries handed to ``open_case`` that are not this case's are decoded again."""
    from workbench_ui.models import KeyframeEntry

    s = window.session
    p = tmp_path / "case.wbcase"
    shutil.copyfile(case_file["case"], p)
    alien = [KeyframeEntry(id="k9999", frame_index=0, time_s=0.0, sharpness=0.0,
                           image=np.zeros((4, 4, 3), np.uint8))]
    s.open_case(p, keyframes=alien)
    assert s.keyframes and "k9999" not in [k.id for k in s.keyframes]
    assert all(k.image.shape[0] > 4 for k in s.keyframes)


def test_thumbnails_fill_in_a_few_per_event_loop_turn(qtbot: Any) -> None:
    from PyQt6.QtWidgets import QApplication
    from workbench_ui.keyframe_strip import THUMBS_PER_TURN, KeyframeStrip
    from workbench_ui.models import KeyframeEntry

    strip = KeyframeStrip()
    qtbot.addWidget(strip)
    rng = np.random.default_rng(1)
    n = 3 * THUMBS_PER_TURN + 1
    entries = [KeyframeEntry(id=f"k{i:04d}", frame_index=i, time_s=float(i), sharpness=1.0,
                             image=rng.integers(0, 255, (90, 160, 3), dtype=np.uint8))
               for i in range(n)]
    with qtbot.waitSignal(strip.thumbnailsReady, timeout=10_000):
        strip.set_keyframes(entries)
        assert strip.count() == n and strip.thumbnails_pending() == n
        QApplication.processEvents()
        assert strip.thumbnails_pending() < n  # some are done after one turn, ...
    assert strip.thumbnails_pending() == 0  # ... all of them later
    assert all(_has_texture(_icon_image(strip.item(i))) for i in range(n))
    # replacing the content drops what was still pending for the old content
    strip.set_keyframes(entries[:2])
    strip.set_keyframes([])
    assert strip.count() == 0 and strip.thumbnails_pending() == 0


def test_comparison_overlay_colours_and_hud_tint_made_when_shown(qtbot: Any,
                                                                  tmp_path: Path) -> None:
    """The overlay prepared in the worker (RGBA) shows the warped keyframe's own colours;
    the HUD tint, made only when first shown, follows the box across candidates."""
    from test_ui_support import make_synthetic
    from workbench_ui.compare import CompareWidget
    from workbench_ui.compare_data import prepare

    from workbench.compare import warp_to_crop

    syn = make_synthetic(tmp_path / "syn")
    w = CompareWidget()
    qtbot.addWidget(w)
    w.resize(900, 450)
    w.show()
    cand = syn.result.candidates[0]
    data = prepare(cand, syn.tile_ref, syn.keyframe, syn.mask)
    w.apply(data)
    warped, alpha = warp_to_crop(syn.keyframe, cand, data.crop, syn.mask)
    img = w._warp_item.pixmap().toImage()
    ys, xs = np.nonzero(alpha == 255)
    assert len(xs) > 100
    for i in np.linspace(0, len(xs) - 1, 25).astype(int):
        c = img.pixelColor(int(xs[i]), int(ys[i]))
        b, g, r = (int(v) for v in warped[ys[i], xs[i]])
        assert (c.red(), c.green(), c.blue(), c.alpha()) == (r, g, b, 255)

    left = w.left
    assert not w.mask_box.isChecked() and not left.mask_visible()
    w.mask_box.setChecked(True)
    assert left.mask_visible()
    w.apply(data)  # next candidate with the box on: the tint is there at once
    assert left.mask_visible()
    w.mask_box.setChecked(False)
    assert not left.mask_visible()
    w.clear()
    w.mask_box.setChecked(True)
    assert not left.mask_visible()  # nothing to tint without a keyframe
