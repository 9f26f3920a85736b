"""The worked example of docs/case-study.md end to end: generated imagery placed at
al-Latamneh, ministry-style footage, locate -> confirm -> claim -> context -> shadow ->
report, against the real Syria context layers (skips when ../shared/data is absent)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import rasterio
import rasterio.transform
from pyproj import Transformer

from workbench.case import Case
from workbench.cli import main

SYRIA = Path(__file__).resolve().parents[3] / "shared" / "data" / "context" / "syria"
RAQQA = "39.00788,35.95283"  # story_places.geojson (GeoNames)

pytestmark = [pytest.mark.slow, pytest.mark.shared_data,
              pytest.mark.skipif(not SYRIA.is_dir(),
                                 reason=f"real context layers not present at {SYRIA}")]


def _keyframe_px(locate_json: Path, raster: Path, lonlat: tuple[float, float]
                 ) -> tuple[float, float]:
    """Where a ground point appears in candidate 1's keyframe (inverse homography): the
    pixel an analyst clicks on the water tower's foot or its shadow's tip."""
    cand = json.loads(locate_json.read_text())["candidates"][0]
    with rasterio.open(raster) as ds:
        x, y = Transformer.from_crs(4326, ds.crs, always_xy=True).transform(*lonlat)
        row_f, col_f = rasterio.transform.rowcol(ds.transform, x, y, op=float)
    col, row = float(col_f), float(row_f)
    k = np.linalg.inv(np.array(cand["homography"])) @ np.array([col - 0.5, row - 0.5, 1.0])
    return float(k[0] / k[2]), float(k[1] / k[2])


def test_worked_example(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from workbench_fixtures.story import make_story

    story = make_story(tmp_path / "story", size=1024, width=480, height=270, shot_s=2.5)
    out = tmp_path / "locate"
    assert main(["locate", str(story.video), "--tiles", str(story.raster.parent),
                 "--out", str(out), "--max-keyframes", "3"]) == 0
    case = str(tmp_path / "latamneh")
    steps = [
        ["case", "new", case, str(story.video), "--locate-json", str(out / "locate.json")],
        ["case", "confirm", case, "1", "--note", "road layout, roundabout and water tower "
         "match the (generated) imagery"],
        ["case", "note", case, "Worked example: the imagery is generated, placed at "
         "al-Latamneh's real coordinates."],
        ["case", "claim", case, "Ministry: precision strike on an Islamic State target",
         "--at", RAQQA, "--time", "2015-09-30T10:00+03:00",
         "--category", "Islamic State target"],
        ["case", "context", case, str(SYRIA / "syria_adm1_geoboundaries.geojson"),
         "--name", "governorates", "--as-of", "c. 2017",
         "--licence", "CC BY 3.0 IGO (geoBoundaries, OCHA)"],
        ["case", "context", case, str(SYRIA / "control_points_hama_zhwiki_c2017.geojson"),
         "--name", "control points", "--as-of", "c. 2017",
         "--licence", "CC BY-SA (Wikipedia contributors)"],
        ["case", "source", case, "--channel", "generated for this worked example",
         "--obtained", "2026-01-02T03:04:05Z", "--archive", str(story.video)],
    ]
    for argv in steps:
        assert main([*argv, "--user", "analyst"]) == 0, argv
    foot = _keyframe_px(out / "locate.json", story.raster, story.tower_foot)
    tip = _keyframe_px(out / "locate.json", story.raster, story.shadow_tip)
    capsys.readouterr()
    assert main(["case", "shadow", case, "1", f"{foot[0]:.1f},{foot[1]:.1f}",
                 f"{tip[0]:.1f},{tip[1]:.1f}", "--user", "analyst"]) == 0
    said = capsys.readouterr().out
    assert "consistent with the shadow" in said and "NOT consistent" not in said
    assert main(["case", "point", case, "1", f"{foot[0]:.1f}", f"{foot[1]:.1f}", "--label",
                 "water tower (foot)", "--user", "analyst"]) == 0
    with Case.open(case + ".wbcase") as c:
        [sh] = c.shadows()
        # the drawn sun (grid azimuth) plus the UTM 37N grid convergence here (~ -1.38 deg)
        assert sh.measure.sun_azimuth_deg == pytest.approx(story.sun_grid_azimuth_deg - 1.38,
                                                           abs=2 * sh.measure.sigma_deg)
    rep = tmp_path / "report"
    assert main(["report", case, "--out", str(rep), "--format", "html,pdf",
                 "--generated-at", "case"]) == 0
    html = next(rep.glob("*.html")).read_text(encoding="utf-8")
    for needle in ("Where the footage was obtained", "the same file as the footage analysed",
                   "water tower (foot)", "Appendix A. Audit log entries",
                   "confirmed by analyst at", "local paths redacted"):
        assert needle in html, needle
    assert str(tmp_path) not in html  # redacted by default
    assert b"/CreationDate (D:2000" not in next(rep.glob("*.pdf")).read_bytes()
    assert re.search(r"22[67]\.\d km from the claimed location", html)
    for needle in ("Hama", "Rasm al Ahmar, 76 km east-southeast",
                   "as of about 2017", "not supported", "consistent with the shadow",
                   "synthetic town", "the imagery is generated"):
        assert needle in html, needle
    assert "30 September 2015" not in html  # the control layer is c. 2017, never that date
    assert next(rep.glob("*.pdf")).stat().st_size > 20_000
