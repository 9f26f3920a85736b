"""Analysis ▸ "Index imagery…" / "Locate in index…": jobs off the GUI thread with
progress (blocks done, ETA), cancel, and a one-line end message, on a tiny raster."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("PyQt6")
pytestmark = pytest.mark.gui


from workbench.atomic import STALE_NAME  # noqa: E402
from workbench.index import IndexConfig, IndexStore  # noqa: E402

CFG = IndexConfig(block_px=128, max_features=300, vocab_branch=8, vocab_depth=3, chunk_blocks=2)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A 1024 x 1024 px town at 0.5 m and a 3 s 480x270 clip filmed over it."""
    from workbench_fixtures.footage import render_footage
    from workbench_fixtures.spec import FootageSpec, ShotSpec
    from workbench_fixtures.town import make_town_geotiff

    root = tmp_path_factory.mktemp("ui_index")
    town = make_town_geotiff(root / "town.tif", seed=3, width=1024, height=1024,
                             centre_lonlat=(32.6, 0.35))
    spec = FootageSpec(shots=[ShotSpec(duration_s=3.0, target_lonlat=(32.6, 0.35),
                                       heading_deg=20.0, depression_deg=75.0, gsd_m=0.4)],
                       width=480, height=270, fps=10.0, hud=False, noise_sigma=1.0, seed=3)
    clip = root / "clip.mp4"
    render_footage(town, clip, spec)
    return town, clip


def _wait_end(qtbot: Any, actions: Any, start: Any) -> tuple[str, str]:
    got: dict[str, str] = {}
    actions.ended.connect(lambda k, t: got.update(kind=k, text=t))
    with qtbot.waitSignal(actions.ended, timeout=180_000):
        assert start() is not None
    return got["kind"], got["text"]


def test_progress_text_counts_blocks_and_gives_an_eta() -> None:
    from workbench_ui.index_jobs import ProgressText

    now = [100.0]
    text = ProgressText(clock=lambda: now[0])
    assert text("indexing 480 blocks", 0.0) == "indexing 480 blocks, 0 / 480 blocks done"
    now[0] = 110.0
    assert text("indexing 480 blocks", 0.25) == (
        "indexing 480 blocks, 120 / 480 blocks done, ETA 30 s")
    now[0] = 400.0
    assert text("indexing 480 blocks", 0.5).endswith("240 / 480 blocks done, ETA 5 min 00 s")
    assert text("verifying windows", 0.4) == "verifying windows, 40 %"  # new stage: no ETA yet
    assert text("reading", -1.0) == "reading"


@pytest.mark.slow
def test_index_then_locate_from_the_menu_off_the_gui_thread(
    window: Any, qtbot: Any, tiny: tuple[Path, Path], tmp_path: Path
) -> None:
    town, clip = tiny
    ia = window.index_actions
    menu_texts = [a.text() for a in window.menuBar().actions()[1].menu().actions()]
    assert "Index &imagery…" in menu_texts and "Locate in in&dex…" in menu_texts
    shown: list[str] = []
    idx = tmp_path / "idx"

    def start_index() -> Any:
        task = ia.start_index([town], idx, CFG)
        task.progress.connect(lambda s, f: shown.append(ia.job_window.label.text()))
        assert not ia.act_index.isEnabled() and ia.job_window.isVisible()
        assert ia.start_index([town], tmp_path / "other", CFG) is None  # one job at a time
        return task

    kind, text = _wait_end(qtbot, ia, start_index)
    assert kind == "ok", text
    assert text.startswith(f"{idx}: 1 raster(s) added,") and "blocks described" in text
    assert any("blocks done" in s for s in shown), shown
    assert ia.act_index.isEnabled() and ia.job_window.button.text() == "Close"
    assert IndexStore.exists(idx)

    out = tmp_path / "out"
    out.mkdir()
    kind, text = _wait_end(qtbot, ia, lambda: ia.start_locate(clip, idx, out))
    assert kind == "ok", text
    doc = json.loads((out / "locate.json").read_text())
    assert text.startswith(doc["verdict"]) and str(out / "locate.json") in text
    assert doc["verdict"] == "located" and doc["method"]["search"]["windows_searched"] >= 1


def test_cancel_leaves_nothing_half_written_and_errors_are_one_line(
    window: Any, qtbot: Any, tiny: tuple[Path, Path], tmp_path: Path
) -> None:
    town, clip = tiny
    ia = window.index_actions
    idx = tmp_path / "idx"

    def start_and_cancel() -> Any:
        task = ia.start_index([town], idx, CFG)
        ia.job_window.button.click()  # Cancel at once (the child may have started already)
        return task

    kind, text = _wait_end(qtbot, ia, start_and_cancel)
    assert kind == "cancelled" and "nothing half-written" in text
    # what the child finished before it saw the cancel (nothing, or the blocks described
    # so far: tests/index/test_index.py) is never a half-written file, and indexing again
    # from the menu gives a complete index
    names = [n for f in (idx, idx / "chunks") if f.is_dir() for n in os.listdir(f)]
    assert not [n for n in names if STALE_NAME.match(n)], names
    kind, text = _wait_end(qtbot, ia, lambda: ia.start_index([town], idx, CFG))
    assert kind == "ok", text
    assert all(r.complete for r in IndexStore.open(idx).rasters)
    # bad input: not an index folder -> the core's one-line message, the app lives on
    kind, text = _wait_end(qtbot, ia, lambda: ia.start_locate(clip, tmp_path, tmp_path / "o"))
    assert kind == "failed" and str(tmp_path) in text and "\n" not in text
    assert not (tmp_path / "o" / "locate.json").exists()
