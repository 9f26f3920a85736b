"""The region index (workbench.index, ``workbench index``): build, search, incremental add,
resume after a kill, and clean one-line errors on bad input."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
import rasterio
import rasterio.windows
from rasterio.transform import Affine

from workbench.cli import main
from workbench.errors import UsageError
from workbench.imagery.catalog import catalog_file
from workbench.index import (
    IndexConfig,
    IndexCorruptError,
    IndexCRSError,
    IndexStaleError,
    IndexStore,
    IndexVersionError,
    Retriever,
    build_index,
)
from workbench.index.grid import check_metric_crs
from workbench.match.features import detect, normalise, to_grey

CFG = IndexConfig(block_px=128, max_features=300, vocab_branch=8, vocab_depth=3, chunk_blocks=4)
SMALL = ["--block-px", "128", "--max-features", "300"]
UNKNOWN_UNIT_WKT = (
    'PROJCS["weird",GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563]],'
    'PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433]],PROJECTION["Transverse_Mercator"],'
    'PARAMETER["latitude_of_origin",0],PARAMETER["central_meridian",33],'
    'PARAMETER["scale_factor",0.9996],PARAMETER["false_easting",500000],'
    'PARAMETER["false_northing",0],UNIT["unknown",1]]'
)


@pytest.fixture(scope="module")
def towns(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Three different 1024 x 1024 px towns at 0.5 m (seeds 0-2, a few km apart)."""
    from workbench_fixtures.town import make_town_geotiff

    root = tmp_path_factory.mktemp("index_towns")
    return [
        make_town_geotiff(root / f"town{s}.tif", seed=s, width=1024, height=1024,
                          centre_lonlat=(32.58 + 0.02 * s, 0.35))
        for s in range(3)
    ]


def _crop_query(raster: Path, col: int, row: int, angle: float) -> list[np.ndarray]:
    """RootSIFT descriptors of a rotated 320 x 240 crop (at two sizes, like keyframe levels)."""
    with rasterio.open(raster) as ds:
        img = np.moveaxis(ds.read(window=((row, row + 240), (col, col + 320))), 0, 2)
    bgr = np.ascontiguousarray(img[..., ::-1])
    rot = cv2.warpAffine(bgr, cv2.getRotationMatrix2D((160, 120), angle, 1.0), (320, 240))
    grey = to_grey(rot)
    half = cv2.resize(grey, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    return [detect(normalise(g), max_features=1500).desc for g in (grey, half)]


def _files(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in root.rglob("*") if p.is_file()}


@pytest.mark.slow
def test_shortlist_finds_the_true_block_among_other_towns(towns, tmp_path):
    stats = build_index(towns, tmp_path / "idx", config=CFG)
    assert stats.rasters_added == 3 and stats.blocks_described > 0
    ret = Retriever.load(tmp_path / "idx")
    assert ret.area_km2 == pytest.approx(3 * 512 * 512 / 1e6, rel=0.01)
    col, row = 600, 300
    top = ret.shortlist(_crop_query(towns[1], col, row, angle=35.0), top=5)
    assert top and Path(top[0].raster.path) == towns[1].resolve()
    c, r, w, h = top[0].window
    assert c <= col + 160 <= c + w and r <= row + 120 <= r + h  # the crop's centre
    # blocks far from the crop score lower than the block holding it
    scores = ret.scores(_crop_query(towns[1], col, row, 35.0))
    assert scores[top[0].block_id] > 1.1 * np.median(scores[scores > 0])
    # the true raster left out ("is there a second place?"): none of its blocks, less area
    rest = ret.without([towns[1]])
    again = rest.shortlist(_crop_query(towns[1], col, row, angle=35.0), top=5)
    assert again and all(Path(s.raster.path) != towns[1].resolve() for s in again)
    assert rest.area_km2 == pytest.approx(ret.area_km2 * 2 / 3)
    assert 0 < rest.n_blocks < ret.n_blocks
    with pytest.raises(UsageError, match="not a raster of this index"):
        ret.without([tmp_path / "elsewhere.tif"])

def test_incremental_add_keeps_old_blocks_and_vocabulary(towns, tmp_path):
    idx = tmp_path / "idx"
    first = build_index(towns[:1], idx, config=CFG)
    before = _files(idx)
    store = IndexStore.open(idx)
    n_first = len(store.chunks)
    second = build_index(towns[:2], idx)  # the index keeps its own settings
    assert (second.rasters_added, second.rasters_skipped) == (1, 1)
    assert second.blocks_described == first.blocks_described  # same-size town, nothing redone
    after = _files(idx)
    for name, stamp in before.items():
        if name.startswith(("chunks/", "vocab")):
            assert after[name] == stamp, name  # untouched: not rewritten
    store = IndexStore.open(idx)
    assert len(store.chunks) == 2 * n_first and [r.id for r in store.rasters] == [0, 1]
    assert not any(n.startswith("inverted/g1.") for n in after)  # old generation removed
    third = build_index(towns[:2], idx)
    assert third.blocks_described == 0 and third.rasters_skipped == 2
    assert Retriever.load(idx).n_blocks > 0


@pytest.mark.slow
def test_resume_after_kill_keeps_finished_blocks(towns, tmp_path):
    idx = tmp_path / "idx"
    cmd = [sys.executable, "-m", "workbench", "-q", "index", *map(str, towns[:2]), "--out",
           str(idx), *SMALL, "--chunk-blocks", "1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    journal = idx / "journal.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if journal.is_file() and journal.read_bytes().count(b"\n") >= 3:
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the build finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    with pytest.raises(IndexCorruptError, match="interrupted"):
        Retriever.load(idx)
    kept = {json.loads(line)["chunk"]["name"] for line in journal.read_bytes().splitlines()
            if line.endswith(b"}")}
    assert len(kept) >= 3
    stamps = _files(idx)
    stats = build_index(towns[:2], idx)
    assert stats.blocks_resumed >= len(kept)
    after = _files(idx)
    for name in kept:
        assert after[f"chunks/{name}.feats.npy"] == stamps[f"chunks/{name}.feats.npy"]
    assert not any(".tmp" in n for n in after)
    # the resumed index equals one built without interruption
    clean = tmp_path / "clean"
    assert main(["-q", "index", *map(str, towns[:2]), "--out", str(clean), *SMALL,
                 "--chunk-blocks", "1"]) == 0
    a, b = IndexStore.open(idx), IndexStore.open(clean)
    assert sorted(c.name for c in a.chunks) == sorted(c.name for c in b.chunks)
    for rec in b.chunks:
        fa = a.load_chunk(next(c for c in a.chunks if c.name == rec.name))[1]
        assert np.array_equal(np.asarray(fa), np.asarray(b.load_chunk(rec)[1]))
    assert Retriever.load(idx).n_blocks == Retriever.load(clean).n_blocks


def test_cancel_before_the_first_block_leaves_no_folder_and_later_a_resumable_index(
        towns, tmp_path):
    """Cancelled while the vocabulary is learned: no index folder at all.  Cancelled while
    blocks are described: the blocks finished so far are kept, and building again resumes
    to a complete index."""
    import threading

    from workbench.errors import Cancelled

    idx = tmp_path / "idx"
    cancel = threading.Event()

    def at(stage_prefix: str):
        def progress(stage: str, fraction: float) -> None:
            if stage.startswith(stage_prefix) and fraction > 0.0:
                cancel.set()
        return progress

    with pytest.raises(Cancelled):
        build_index(towns[:1], idx, config=CFG, progress=at("learning"), cancel=cancel)
    assert not idx.exists()
    cancel.clear()
    with pytest.raises(Cancelled):
        build_index(towns[:1], idx, config=replace(CFG, chunk_blocks=1),
                    progress=at("indexing"), cancel=cancel)
    assert IndexStore.exists(idx) and not all(r.complete for r in IndexStore.open(idx).rasters)
    stats = build_index(towns[:1], idx)
    assert stats.blocks_resumed > 0 and all(r.complete for r in IndexStore.open(idx).rasters)
    assert Retriever.load(idx).n_blocks > 0


def _run(args: list[str], capsys) -> tuple[int, str]:
    rc = main(args)
    err = capsys.readouterr().err.strip()
    return rc, err


@pytest.fixture
def built(towns, tmp_path) -> tuple[Path, Path]:
    """A one-town index over a private 512 x 512 px cut of the first town (the tests that
    use it damage the index or the raster; a quarter of the town is enough for that):
    ``(index, raster)``."""
    raster = tmp_path / "copy.tif"
    with rasterio.open(towns[0]) as src:
        win = rasterio.windows.Window(256, 256, 512, 512)
        profile = {**src.profile, "width": 512, "height": 512,
                   "transform": src.transform @ Affine.translation(256, 256)}
        with rasterio.open(raster, "w", **profile) as dst:
            dst.write(src.read(window=win))
    idx = tmp_path / "idx"
    build_index([raster], idx, config=CFG)
    return idx, raster


def test_index_of_another_version_is_refused(built, towns, capsys):
    idx, _ = built
    doc = json.loads((idx / "manifest.json").read_text())
    doc["version"] = 99
    (idx / "manifest.json").write_text(json.dumps(doc))
    with pytest.raises(IndexVersionError):
        Retriever.load(idx)
    rc, err = _run(["index", str(towns[1]), "--out", str(idx)], capsys)
    assert rc == 2 and "index version 99" in err and len(err.splitlines()) == 1
    assert IndexStore.exists(idx) and not (idx / "journal.jsonl").exists()


def test_raster_changed_or_moved_since_indexing(built, towns, capsys):
    idx, raster = built
    data = bytearray(raster.read_bytes())
    data[-1] ^= 0xFF  # same size, one byte different
    st = raster.stat()
    raster.write_bytes(bytes(data))
    os.utime(raster, ns=(st.st_atime_ns, st.st_mtime_ns + 1))
    with pytest.raises(IndexStaleError, match="changed since indexing"):
        Retriever.load(idx)
    before = _files(idx)
    rc, err = _run(["index", str(towns[1]), "--out", str(idx)], capsys)
    assert rc == 2 and "changed since indexing" in err and str(raster) in err
    assert len(err.splitlines()) == 1 and _files(idx) == before  # nothing (half-)written
    raster.rename(raster.with_name("moved.tif"))
    with pytest.raises(IndexStaleError, match="moved or deleted"):
        Retriever.load(idx)


def test_truncated_index_file(built, capsys, towns):
    idx, _ = built
    feats = sorted((idx / "chunks").glob("*.feats.npy"))[0]
    feats.write_bytes(feats.read_bytes()[:-40])
    with pytest.raises(IndexCorruptError, match="truncated"):
        Retriever.load(idx)
    rc, err = _run(["index", str(towns[1]), "--out", str(idx)], capsys)
    assert rc == 2 and "truncated" in err and feats.name in err


@pytest.mark.parametrize("damage", ["version", "truncated", "moved", "changed"])
def test_locate_with_an_unusable_index_is_one_line_and_writes_nothing(
    built, tmp_path, capsys, damage
):
    idx, raster = built
    if damage == "version":
        doc = json.loads((idx / "manifest.json").read_text())
        doc["version"] = 99
        (idx / "manifest.json").write_text(json.dumps(doc))
        expected = "index version 99"
    elif damage == "truncated":
        feats = sorted((idx / "chunks").glob("*.feats.npy"))[0]
        feats.write_bytes(feats.read_bytes()[:-40])
        expected = "truncated"
    elif damage == "moved":
        raster.rename(raster.with_name("moved.tif"))
        expected = "moved or deleted"
    else:
        st = raster.stat()
        data = bytearray(raster.read_bytes())
        data[-1] ^= 0xFF  # same size, one byte different
        raster.write_bytes(bytes(data))
        os.utime(raster, ns=(st.st_atime_ns, st.st_mtime_ns + 1))
        expected = "changed since indexing"
    video = tmp_path / "clip.mp4"  # the index is checked before the footage is read
    video.write_bytes(b"\0" * 64)
    out = tmp_path / "out"
    before = _files(idx)
    rc, err = _run(["locate", str(video), "--index", str(idx), "--out", str(out)], capsys)
    assert rc == 2 and expected in err and len(err.splitlines()) == 1, err
    assert "Traceback" not in err and not out.exists() and _files(idx) == before


def test_empty_region_writes_nothing(tmp_path, capsys):
    nodata = tmp_path / "nodata.tif"
    profile = {"driver": "GTiff", "width": 512, "height": 512, "count": 3, "dtype": "uint8",
               "nodata": 0, "crs": "EPSG:32636",
               "transform": Affine.translation(450000, 40000) @ Affine.scale(0.5, -0.5)}
    with rasterio.open(nodata, "w", **profile) as ds:
        ds.write(np.zeros((3, 512, 512), np.uint8))
    rc, err = _run(["index", str(nodata), "--out", str(tmp_path / "idx"), *SMALL], capsys)
    assert rc == 2 and "empty region" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "idx").exists()


def test_crs_without_metre_unit(towns, tmp_path, capsys):
    tile = catalog_file(towns[0])
    with pytest.raises(IndexCRSError, match="no metre unit"):
        check_metric_crs(replace(tile, crs_wkt=UNKNOWN_UNIT_WKT))
    check_metric_crs(tile)  # UTM metres: fine
    check_metric_crs(replace(tile, crs_wkt="EPSG:4326"))  # degrees: geodesic, fine
    # a PNG + world file + .prj whose unit is unknown: refused before anything is written
    png = tmp_path / "w.png"
    cv2.imwrite(str(png), np.random.default_rng(0).integers(0, 255, (256, 256, 3), np.uint8))
    png.with_suffix(".pgw").write_text("0.5\n0\n0\n-0.5\n450000\n40000\n")
    png.with_suffix(".prj").write_text(UNKNOWN_UNIT_WKT)
    rc, err = _run(["index", str(png), "--out", str(tmp_path / "idx")], capsys)
    assert rc == 2 and "no metre unit" in err and str(png) in err
    assert not (tmp_path / "idx").exists()


def test_out_folder_with_foreign_files_is_refused(towns, tmp_path, capsys):
    out = tmp_path / "busy"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    rc, err = _run(["index", str(towns[0]), "--out", str(out), *SMALL], capsys)
    assert rc == 2 and "not empty" in err
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


def test_levels_follow_the_imagery_and_keep_detail_of_very_fine_rasters(towns):
    from workbench.index.grid import level_grids

    tile = catalog_file(towns[0])  # 0.5 m
    cfg = IndexConfig()
    assert [g.level_m for g in level_grids(tile, cfg)] == [1.0, 2.0]
    assert [g.level_m for g in level_grids(replace(tile, gsd_m=10.0), cfg)] == [16.0, 32.0]
    # 0.3 m: 1 m would be 3.3x coarser -> its own resolution first, block side 512 px
    fine = level_grids(replace(tile, gsd_m=0.3), cfg)
    assert [g.level_m for g in fine] == [0.3, 1.0] and fine[0].size == pytest.approx(512)
    assert [g.level_m for g in level_grids(replace(tile, gsd_m=100.0), cfg)] == [100.0]


def test_blocks_sampled_for_the_vocabulary_are_described_once(towns, tmp_path, monkeypatch):
    """The vocabulary's sample blocks are quantised from their sample description, not
    described again: every block is described exactly once (the test raster has fewer
    blocks than the sample, so a second description of any would show)."""
    from workbench.index import grid

    calls: list[tuple[float, ...]] = []
    real = grid.describe_block

    def counted(spec: grid.BlockSpec) -> grid.BlockFeatures:
        calls.append((*spec.window, spec.level_m))
        return real(spec)

    monkeypatch.setattr("workbench.index.tasks.describe_block", counted)
    monkeypatch.setattr("workbench.index.groups.describe_block", counted)
    cfg = replace(CFG, vocab_sample_blocks=1000)
    assert cfg.group_blocks == 1
    stats = build_index(towns[:1], tmp_path / "idx", config=cfg)
    assert len(calls) == len(set(calls)) == stats.blocks_described > 0
    store = IndexStore.open(tmp_path / "idx")
    assert sum(c.count for c in store.chunks) == stats.blocks_described and stats.features > 0
    # the same index as describing every block again: every file but the manifest's time
    from workbench.index import build as build_mod

    train = build_mod._train_vocabulary
    monkeypatch.setattr(build_mod, "_train_vocabulary", lambda *a: (train(*a)[0], {}))
    build_index(towns[:1], tmp_path / "plain", config=cfg)
    files = sorted(p.relative_to(tmp_path / "idx") for p in (tmp_path / "idx").rglob("*")
                   if p.is_file() and p.name != "manifest.json")
    assert len(files) > 5 and files == sorted(
        p.relative_to(tmp_path / "plain") for p in (tmp_path / "plain").rglob("*")
        if p.is_file() and p.name != "manifest.json")
    for f in files:
        assert (tmp_path / "idx" / f).read_bytes() == (tmp_path / "plain" / f).read_bytes(), f


def test_the_same_imagery_gives_the_same_index_wherever_and_however_built(towns, tmp_path):
    """Rebuilt by a third party, the index is the same files: the raster in another
    folder, described on one thread or two (every file but the manifest's time)."""
    import shutil

    elsewhere = tmp_path / "copy" / towns[0].name
    elsewhere.parent.mkdir()
    shutil.copyfile(towns[0], elsewhere)
    cfg = replace(CFG, vocab_per_block=50)  # each block's sample a random subset
    build_index([towns[0]], tmp_path / "a", config=cfg, workers=2)
    build_index([elsewhere], tmp_path / "b", config=cfg, workers=1)

    def files(root: Path) -> dict[str, bytes]:
        return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*")
                if p.is_file() and p.name != "manifest.json"}

    a, b = files(tmp_path / "a"), files(tmp_path / "b")
    assert len(a) > 5 and a.keys() == b.keys()
    assert [k for k in a if a[k] != b[k]] == []
