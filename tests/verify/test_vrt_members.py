"""A VRT mosaic's members' own files (``.ovr``, ``.aux.xml``), down through nested VRTs,
are part of the evidence of a case made from it, of what a region index checks before
it is searched, and of the tile-feature cache's key: GDAL reads them through the
mosaic.  Cases recorded before keep the rule they were recorded with (direct files
only)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import rasterio
from casekit import make_scene
from rasterio.enums import Resampling
from rasterio.transform import Affine

from workbench.case import Case
from workbench.case.ingest import sidecar_hashes
from workbench.case.model import RasterRecord
from workbench.hashing import sha256_file
from workbench.index import IndexConfig, IndexStaleError, Retriever, build_index
from workbench.verify.check import _sidecar_problems


def _vrt(path: Path, sources: list[tuple[Path, int]], width: int) -> Path:
    """A one-band VRT of ``sources`` (file, destination column) side by side, 256 px high."""
    parts = [f'<VRTDataset rasterXSize="{width}" rasterYSize="256">',
             "  <SRS>EPSG:32636</SRS>",
             "  <GeoTransform>450000, 1, 0, 40000, 0, -1</GeoTransform>",
             '  <VRTRasterBand dataType="Byte" band="1">']
    for src, col in sources:
        w = 512 if src.suffix == ".vrt" else 256
        parts += ["    <SimpleSource>",
                  f'      <SourceFilename relativeToVRT="0">{src}</SourceFilename>',
                  "      <SourceBand>1</SourceBand>",
                  f'      <SrcRect xOff="0" yOff="0" xSize="{w}" ySize="256"/>',
                  f'      <DstRect xOff="{col}" yOff="0" xSize="{w}" ySize="256"/>',
                  "    </SimpleSource>"]
    parts += ["  </VRTRasterBand>", "</VRTDataset>"]
    path.write_text("\n".join(parts) + "\n")
    return path


def _nested_mosaic(root: Path) -> Path:
    """``nested.vrt`` -> ``inner.vrt`` -> ``m0.tif`` (with ``.aux.xml``) and ``m1.tif``
    (with an external ``.ovr``)."""
    members = []
    for i in range(2):
        p = root / f"m{i}.tif"
        with rasterio.open(p, "w", driver="GTiff", width=256, height=256, count=1,
                           dtype="uint8", crs="EPSG:32636",
                           transform=Affine(1, 0, 450000 + 256 * i, 0, -1, 40000)) as ds:
            ds.write(np.random.default_rng(i).integers(0, 255, (1, 256, 256), np.uint8))
        members.append((p, 256 * i))
    with rasterio.Env(TIFF_USE_OVR=True), rasterio.open(root / "m1.tif", "r+") as ds:
        ds.build_overviews([2], Resampling.average)
    (root / "m0.tif.aux.xml").write_text(
        '<PAMDataset><Metadata><MDI key="NOTE">x</MDI></Metadata></PAMDataset>\n')
    inner = _vrt(root / "inner.vrt", members, 512)
    return _vrt(root / "nested.vrt", [(inner, 0)], 512)


def _record(raster: Path, *, recursive: bool) -> RasterRecord:
    digest, size = sha256_file(raster)
    return RasterRecord(path=str(raster), sha256=digest, size_bytes=size,
                        sidecars=sidecar_hashes(raster, members=recursive),
                        sidecars_recursive=recursive)


def test_members_files_are_hashed_through_nested_vrts(tmp_path: Path) -> None:
    nested = _nested_mosaic(tmp_path)
    assert (tmp_path / "m1.tif.ovr").is_file()
    assert sorted(Path(k).name for k in sidecar_hashes(nested)) == [
        "inner.vrt", "m0.tif", "m0.tif.aux.xml", "m1.tif", "m1.tif.ovr"]
    assert sorted(Path(k).name for k in sidecar_hashes(nested, members=False)) == ["inner.vrt"]


def test_verify_names_an_edited_member_overview(tmp_path: Path) -> None:
    nested = _nested_mosaic(tmp_path)
    rec = _record(nested, recursive=True)
    assert _sidecar_problems(nested, rec) == []
    ovr = tmp_path / "m1.tif.ovr"
    data = bytearray(ovr.read_bytes())
    data[-1] ^= 0xFF  # same size, one byte different: what GDAL reads at coarse levels
    ovr.write_bytes(bytes(data))
    problems = _sidecar_problems(nested, rec)
    assert [s for s, _ in problems] == [str(ovr.resolve())]
    assert "changed" in problems[0][1]
    (tmp_path / "m0.tif.aux.xml").unlink()
    assert len(_sidecar_problems(nested, rec)) == 2  # and a member's .aux.xml gone


def test_cases_recorded_before_keep_their_rule(tmp_path: Path) -> None:
    """An older record lists the direct files only: the members' files it never
    recorded are not reported as new."""
    nested = _nested_mosaic(tmp_path)
    assert _sidecar_problems(nested, _record(nested, recursive=False)) == []


def test_new_cases_record_by_the_members_rule(tmp_path: Path) -> None:
    scene = make_scene(tmp_path / "scene")
    path = tmp_path / "c.wbcase"
    Case.create(path, video_path=scene.video, tiles=[scene.tile], result=scene.result,
                keyframes_dir=scene.out_dir).close()
    with Case.open(path) as case:
        assert [r.sidecars_recursive for r in case.rasters] == [True]


def test_an_index_of_the_mosaic_refuses_an_edited_member_overview(tmp_path: Path) -> None:
    nested = _nested_mosaic(tmp_path)
    idx = tmp_path / "idx"
    build_index([nested], idx, config=IndexConfig(block_px=128, max_features=300,
                                                  vocab_branch=4, vocab_depth=2))
    Retriever.load(idx)  # unchanged: usable
    ovr = tmp_path / "m1.tif.ovr"
    st = ovr.stat()
    data = bytearray(ovr.read_bytes())
    data[-1] ^= 0xFF
    ovr.write_bytes(bytes(data))
    os.utime(ovr, ns=(st.st_atime_ns, st.st_mtime_ns + 1))
    with pytest.raises(IndexStaleError, match="changed since indexing"):
        Retriever.load(idx)


def test_the_feature_cache_sees_a_member_change(tmp_path: Path) -> None:
    """A member edited in place (the mosaic's VRT untouched) gets new cached features."""
    from workbench.imagery.catalog import TileCatalog
    from workbench.match.model import MatchConfig
    from workbench.match.tilefeatures import TileFeatureCache

    nested = _nested_mosaic(tmp_path)
    tile = TileCatalog.from_paths([nested]).tiles[0]

    def key() -> Path | None:
        return TileFeatureCache(MatchConfig(), cache_dir=str(tmp_path / "fc"))._disk_path(
            tile, None, 1_000_000)

    first = key()
    assert first is not None and key() == first
    m0 = tmp_path / "m0.tif"
    st = m0.stat()
    os.utime(m0, ns=(st.st_atime_ns, st.st_mtime_ns + 1))
    assert key() != first
