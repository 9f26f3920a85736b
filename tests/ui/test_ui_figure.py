"""Share-ready figures from the real window (pytest-qt, offscreen): side by side, overlay
and map as PNG and SVG, with the caption (coordinates, imagery, the case's SHA-256)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("PyQt6")
pytestmark = pytest.mark.gui


@pytest.fixture(scope="module")
def case_data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from test_ui_support import make_case_data

    return make_case_data(tmp_path_factory.mktemp("figcase"))


@pytest.fixture
def window(qtbot: Any, tmp_path: Path, case_data: dict[str, Any]) -> Any:
    from test_ui_support import open_window

    win = open_window(qtbot, tmp_path)
    win.resize(1366, 768)
    assert win.controller.open_case(case_data["case"])
    assert win.candidates.select_rank(1)
    qtbot.waitUntil(lambda: win.compare.candidate is not None, timeout=20_000)
    yield win
    win.controller.shutdown()


def _svg_text(path: Path) -> str:
    root = ET.parse(path).getroot()  # well-formed XML
    return " ".join(t.strip() for t in root.itertext() if t.strip())


@pytest.mark.parametrize("kind", ["side_by_side", "overlay", "map"])
def test_figure_svg_has_caption_with_case_sha256(window: Any, tmp_path: Path, kind: str,
                                                 case_data: dict[str, Any]) -> None:
    from workbench.hashing import sha256_file

    win = window
    case_path = win.session.case_path
    sha = sha256_file(case_path)[0]
    out = win.map.export(kind, tmp_path / f"fig-{kind}.svg")
    assert out.is_file() and out.stat().st_size > 1000
    text = _svg_text(out)
    assert f"SHA-256 {sha}" in text
    c1 = case_data["syn"].result.candidates[0]
    assert f"{c1.lat:.6f}, {c1.lon:.6f}" in text and "MGRS 36U" in text
    assert "tile.tif" in text and "date unknown" in text  # the synthetic tile has no date
    assert "<image" in out.read_text(encoding="utf-8")  # the views are in it, as raster
    if kind == "side_by_side":
        assert "same number marks the same landmark" in text


def test_figure_png_is_the_view_plus_caption(window: Any, tmp_path: Path) -> None:
    from PyQt6.QtGui import QImage
    from workbench_ui.figure_export import source_rect

    win = window
    out = win.map.export("side_by_side", tmp_path / "fig.png")
    img = QImage(str(out))
    assert not img.isNull()
    left, right = source_rect(win.compare.left), source_rect(win.compare.right)
    # the panels are the parts of the views where the images are (no empty margins)
    assert left.width() <= win.compare.left.viewport().width()
    kw, kh = win.compare.left.image_size()
    shown = win.compare.left.map_px_to_viewport(kw - 0.5, kh - 0.5)
    assert left.right() <= shown.x() + 2 and left.bottom() <= shown.y() + 2
    assert img.width() >= left.width() + right.width()
    assert img.height() > max(left.height(), right.height()) + 40  # title + caption strip
    # both panels are drawn at one height, whatever their size on screen
    from workbench_ui.figure_export import panel_scales

    kl, kr = panel_scales(win.map.panels("side_by_side"))
    assert abs(left.height() * kl - right.height() * kr) < 2 or max(kl, kr) == 3.0
    # the caption strip is light, the imagery is not uniform
    bottom = img.pixelColor(5, img.height() - 5)
    assert bottom.lightness() > 200


def test_figure_export_refuses_bad_requests(window: Any, tmp_path: Path, qtbot: Any) -> None:
    from workbench.errors import UsageError

    win = window
    with pytest.raises(UsageError, match=r"\.png or \.svg"):
        win.map.export("map", tmp_path / "fig.jpg")
    assert not (tmp_path / "fig.jpg").exists()
    win.controller.ask_close_case()
    qtbot.waitUntil(lambda: win.session.case is None, timeout=5000)
    with pytest.raises(UsageError, match="nothing to export"):
        win.map.export("side_by_side", tmp_path / "fig.png")
    assert not (tmp_path / "fig.png").exists()


def test_figure_menu_is_in_file_menu(window: Any) -> None:
    win = window
    bar = win.menuBar()
    file_menu = bar.actions()[0].menu()
    titles = [re.sub("&", "", a.text()) for a in file_menu.actions()]
    assert "Export figure" in titles
    assert set(win.map.figure_actions) == {"side_by_side", "overlay", "map"}


def test_small_map_pane_gives_a_readable_figure(window: Any, tmp_path: Path) -> None:
    from PyQt6.QtGui import QImage
    from workbench_ui.figure_export import MIN_PANEL_H, MIN_WIDTH, panel_scales

    win = window
    vp = win.map.view.viewport()
    assert vp.width() < MIN_WIDTH  # the dock is narrow: the map is drawn again, larger
    panels = win.map.panels("map")
    (k,) = panel_scales(panels)
    assert k > 1
    img = QImage(str(win.map.export("map", tmp_path / "map.png")))
    assert img.width() >= MIN_WIDTH
    assert img.height() > MIN_PANEL_H  # the panel (and the caption below it)
    assert round(vp.height() * k) >= MIN_PANEL_H - 1 or round(vp.width() * k) >= MIN_WIDTH - 20
