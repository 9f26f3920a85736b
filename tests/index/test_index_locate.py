"""``workbench locate VIDEO --index INDEX``: a clip filmed in one of four towns laid out as
ONE mosaic (a VRT) is located through the index, and the result is verifiable against
the mosaic itself (tie points, homography and georeference of the indexed raster)."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from workbench.cli import main
from workbench.geo import apply_homography, haversine_m
from workbench.imagery.catalog import catalog_file
from workbench.results import LocateResult

SMALL = ["--max-features", "800"]


@pytest.fixture(scope="module")
def mosaic_index(demo_data: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Four 2048 x 2048 px towns (the demo town first) as one 4096 x 4096 VRT, indexed
    (once per test run; treat both as read-only)."""
    from runshare import once_per_run
    from workbench_fixtures.mosaic import make_town_mosaic

    def build(root: Path) -> tuple[Path, Path]:
        shutil.copyfile(demo_data / "tiles" / "town.tif", root / "town0.tif")  # not redrawn
        mosaic = make_town_mosaic(root, n=4, cols=2, size=2048)
        idx = root / "idx"
        assert main(["-q", "index", str(mosaic.vrt), "--out", str(idx), *SMALL]) == 0
        return mosaic.vrt, idx

    return once_per_run(tmp_path_factory, "mosaic_index", build)


@pytest.mark.slow
def test_clip_in_one_town_of_a_mosaic_is_located_within_10_m(
    demo_data: Path, mosaic_index: tuple[Path, Path], tmp_path: Path, capsys
):
    from workbench_fixtures.truth import Truth

    vrt, idx = mosaic_index
    out = tmp_path / "out"
    assert main(["locate", str(demo_data / "strike.mp4"), "--index", str(idx),
                 "--out", str(out), "--imagery-accuracy", "mosaic.vrt=3"]) == 0
    printed = capsys.readouterr().out
    assert "window(s)" in printed and "km²" in printed
    doc = json.loads((out / "locate.json").read_text())
    assert doc["schema"] == "workbench.locate/1" and doc["verdict"] == "located"
    search = doc["method"]["search"]
    assert search["area_km2"] == pytest.approx(4.19, rel=0.01)  # 4096 px x 0.5 m squared
    assert 1 <= search["windows_searched"] <= 12
    assert 0 < search["area_searched_km2"] <= search["area_km2"]  # overlaps counted once
    best = doc["candidates"][0]
    assert Path(best["tile"]) == vrt.resolve()  # the indexed raster, not a temporary window
    # a per-raster imagery accuracy reaches the radii found through the raster's windows,
    # and is recorded as stated (not keyed by the temporary windows)
    assert doc["method"]["imagery_accuracy_m"] == {"mosaic.vrt": 3.0}
    assert {u["components"]["imagery_m"] for u in doc["uncertainty"]} == {3.0}
    assert best["uncertainty_m"] >= 3.0
    assert [Path(t["path"]) for t in doc["tiles"]] == [vrt.resolve()]
    assert doc["tiles"][0]["sha256"] == json.loads((idx / "manifest.json").read_text())[
        "rasters"][0]["sha256"]
    truth = Truth.load(demo_data / "strike.truth.json")
    frame = {k["id"]: k["frame_index"] for k in doc["keyframes"]}[best["keyframe_id"]]
    centre = truth.frames[frame].centre
    assert centre is not None
    err = haversine_m(best["lon"], best["lat"], centre["lon"], centre["lat"])
    assert err < 10.0, f"centre error {err:.1f} m"
    # verifiable on the mosaic itself: tie points through the stored homography, and the
    # frame centre through the mosaic's own georeference
    res = LocateResult.from_json(doc)
    c1 = res.candidates[0]
    proj = apply_homography(c1.homography, np.array(c1.keyframe_xy))
    assert float(np.median(np.linalg.norm(proj - np.array(c1.tile_xy), axis=1))) < 3.0
    tile = catalog_file(vrt)
    lon, lat = tile.px_to_lonlat([[c1.scores["centre_x"], c1.scores["centre_y"]]])[0]
    assert haversine_m(lon, lat, c1.lon, c1.lat) < 0.5


def test_index_changed_after_indexing_stops_locate(demo_data: Path, mosaic_index, tmp_path,
                                                   capsys):
    _, idx = mosaic_index
    copy = tmp_path / "idx"
    shutil.copytree(idx, copy)
    doc = json.loads((copy / "manifest.json").read_text())
    doc["rasters"][0]["sources"][0]["sha256"] = "0" * 64
    doc["rasters"][0]["sources"][0]["mtime_ns"] += 1
    (copy / "manifest.json").write_text(json.dumps(doc))
    out = tmp_path / "out"
    rc = main(["locate", str(demo_data / "strike.mp4"), "--index", str(copy), "--out", str(out)])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and "changed since indexing" in err and len(err.splitlines()) == 1
    assert not out.exists()


@pytest.mark.slow
def test_tiles_with_a_large_mosaic_go_through_an_index(demo_data: Path, mosaic_index,
                                                        tmp_path: Path):
    """``locate --tiles`` indexes rasters above the size threshold (here lowered to 10 Mpx
    so the 16.8 Mpx test mosaic counts as large) and matches the small ones whole."""
    from workbench.locate.indexed import IndexSearchConfig, locate_tiles

    vrt, idx = mosaic_index
    cache = tmp_path / "cache"
    shutil.copytree(idx, cache)  # an existing index is reused: nothing is re-described
    before = sorted(p.name for p in (cache / "chunks").iterdir())
    other = demo_data / "tiles" / "other_town.tif"
    res = locate_tiles(demo_data / "strike.mp4", [vrt, other], out_dir=tmp_path / "out",
                       search=IndexSearchConfig(index_above_mpx=10.0), index_cache=cache)
    assert sorted(p.name for p in (cache / "chunks").iterdir()) == before
    assert res.verdict == "located"
    search = res.method["search"]
    assert search["tiles_searched_whole"] == 1 and search["windows_searched"] >= 1
    refs = {Path(t.path).name: t for t in res.tiles}
    assert set(refs) == {"mosaic.vrt", "other_town.tif"}
    assert all(len(t.sha256) == 64 for t in refs.values())
    assert Path(res.candidates[0].tile).name == "mosaic.vrt"
    doc = json.loads((tmp_path / "out" / "locate.json").read_text())
    assert doc["method"]["search"]["index"] == str(cache)


def _two_windows(idx: Path) -> list[Any]:
    from workbench.index.retrieve import Retriever
    from workbench.index.windows import Window

    raster = Retriever.load(idx).store.rasters[0]
    return [Window(raster, 0, 0, 512, 512, 1.0, [0]), Window(raster, 512, 0, 512, 512, 1.0, [1])]


def test_window_vrts_are_kept_in_the_feature_cache(mosaic_index, tmp_path: Path,
                                                   monkeypatch) -> None:
    """With a feature cache, a window's VRT is named after its text and the indexed
    pixels' SHA-256 and written once, so a second search of the same window finds its
    features in the cache (keyed by every file its pixels come from: see
    tests/verify/test_vrt_members.py); without one, the VRTs go to the job's temporary
    folder."""
    from workbench.index.windows import Window
    from workbench.locate.indexed import _window_vrts
    from workbench.match.tilefeatures import CACHE_ENV

    _, idx = mosaic_index
    wins = _two_windows(idx)
    raster = wins[0].raster
    assert raster.sources and not any(s["path"].endswith(".vrt") for s in raster.sources)
    (tmp_path / "t1").mkdir()
    (tmp_path / "t2").mkdir()
    cache = tmp_path / "cache"
    first = _window_vrts(wins, tmp_path / "t1", str(cache))
    stamps = [p.stat().st_mtime_ns for p in first]
    again = _window_vrts(wins, tmp_path / "t2", str(cache))
    assert again == first and len(set(first)) == 2
    assert all(p.parent == cache / "windows" for p in first)
    assert [p.stat().st_mtime_ns for p in again] == stamps  # not rewritten
    moved = [Window(dataclasses.replace(raster, sha256="0" * 64), 0, 0, 512, 512, 1.0, [0])]
    assert _window_vrts(moved, tmp_path / "t2", str(cache))[0] not in first  # other pixels
    monkeypatch.delenv(CACHE_ENV)  # the run's shared cache (tests/conftest.py)
    assert [p.parent for p in _window_vrts(wins, tmp_path / "t2", None)] == [tmp_path / "t2"] * 2


def test_window_vrts_go_to_the_job_folder_when_the_cache_cannot_be_written(
        mosaic_index, tmp_path: Path, make_readonly) -> None:
    from workbench.locate.indexed import _window_vrts

    _, idx = mosaic_index
    (tmp_path / "job").mkdir()
    (tmp_path / "locked").mkdir()
    locked = make_readonly(tmp_path / "locked")
    paths = _window_vrts(_two_windows(idx), tmp_path / "job", str(locked))
    assert [p.parent for p in paths] == [tmp_path / "job"] * 2 and all(p.is_file() for p in paths)
