"""Hostile rasters: lying headers refused before anything is sized from them, and the
imagery layer contained and offline (raw VRT bands, nested VRTs, /vsicurl/, WMS/XYZ)."""

from __future__ import annotations

import http.server
import resource
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import hostile
import pytest

from workbench.cli import main
from workbench.errors import RasterOpenError
from workbench.imagery import catalog_file, contain
from workbench.imagery.read import open_raster


def _tiles(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["tiles", str(path)])
    err = capsys.readouterr().err
    return code, err


def _run_limited(args: list[str], limit_gb: float = 3.0) -> subprocess.CompletedProcess[str]:
    """``workbench ARGS`` in a child with its address space capped (a blow-up fails there,
    not on the test machine)."""
    def cap() -> None:
        n = int(limit_gb * (1 << 30))
        resource.setrlimit(resource.RLIMIT_AS, (n, n))

    code = "import sys; from workbench.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          preexec_fn=cap, timeout=300, check=False)


@pytest.mark.parametrize("name", ["huge_strip", "huge_tiled"])
def test_lying_size_refused_before_allocation(name: str, tmp_path: Path) -> None:
    """main built a list of 10^8 blocks (MemoryError under 3 GB, 6 GB+ without a cap)."""
    path = hostile.RASTERS[name](tmp_path)
    assert path.stat().st_size < 2000
    proc = _run_limited(["tiles", str(path)])
    assert proc.returncode == 2, proc.stderr
    assert "header declares" in proc.stderr and "MemoryError" not in proc.stderr
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr


@pytest.mark.parametrize("name", ["deflate_lies", "float_huge", "many_bands", "huge_block",
                                  "wide_row", "vrt_huge"])
def test_declared_size_beyond_file(name: str, tmp_path: Path) -> None:
    path = hostile.RASTERS[name](tmp_path)
    with pytest.raises(RasterOpenError, match="header declares"):
        catalog_file(path)


@pytest.mark.parametrize("name", sorted(hostile.RASTERS))
def test_every_crafted_raster_is_one_clean_line(name: str, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    if name in ("huge_strip", "huge_tiled"):
        pytest.skip("run under a memory cap in test_lying_size_refused_before_allocation")
    path = hostile.RASTERS[name](tmp_path)
    code, err = _tiles(path, capsys)
    assert code == 2
    assert err.count("\n") == 1 and "Traceback" not in err and "ERROR 1" not in err


@pytest.mark.parametrize("name", ["vrt_passwd", "vrt_nested"])
def test_raw_vrt_band_refused_unless_allowed(name: str, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    """main catalogued (and located) a VRT whose raw band is /etc/passwd."""
    path = hostile.RASTERS[name](tmp_path)
    code, err = _tiles(path, capsys)
    assert code == 2 and "raw VRT band" in err and "--allow-raw-vrt" in err
    try:
        assert main(["--allow-raw-vrt", "tiles", str(path)]) == 0
    finally:
        contain.set_containment()


@pytest.mark.parametrize("name", ["vrt_curl", "wms", "xyz"])
def test_network_sources_refused(name: str, tmp_path: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    path = hostile.RASTERS[name](tmp_path)
    code, err = _tiles(path, capsys)
    assert code == 2 and "--allow-network" in err and err.count("\n") == 1


def test_network_paths_refused() -> None:
    for text in ("/vsicurl/http://x/y.tif", "/vsis3/bucket/k.tif", "/vsizip//vsicurl/http://a/b",
                 "https://example.org/a.tif", "WMS:http://x", "/vsigs_streaming/b/k"):
        with pytest.raises(RasterOpenError, match="network"):
            contain.check_path(text)
    with pytest.raises(RasterOpenError, match="MEM"):
        contain.check_path("MEM:::DATAPOINTER=0x1234,PIXELS=10,LINES=10")
    contain.check_path("/data/vsicurl_archive/a.tif")  # a local folder name is no URL


class _Recorder(http.server.BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        type(self).hits.append(self.path)
        self.send_response(404)
        self.end_headers()

    do_HEAD = do_GET

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[tuple[str, list[str]]]:
    _Recorder.hits = []
    srv = http.server.HTTPServer(("127.0.0.1", 0), _Recorder)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        yield f"127.0.0.1:{srv.server_address[1]}", _Recorder.hits
    finally:
        srv.shutdown()
        srv.server_close()


def test_gdal_itself_is_offline(server: tuple[str, list[str]], tmp_path: Path,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Below the XML check, GDAL runs with network requests disabled: even a WMS the
    check let through (check switched off here) sends nothing to its server."""
    addr, hits = server
    wms = hostile.make_wms(tmp_path)
    wms.write_text(wms.read_text().replace("127.0.0.1:9", addr))
    monkeypatch.setattr("workbench.imagery.read.check_raster_source", lambda p: None)
    with pytest.raises(RasterOpenError), open_raster(wms) as ds:
        ds.read(1, window=((0, 64), (0, 64)))
    assert hits == []
    contain.set_containment(allow_network=True)
    try:
        with pytest.raises(Exception), open_raster(wms) as ds:  # noqa: B017 (404 page)
            ds.read(1, window=((0, 64), (0, 64)))
    finally:
        contain.set_containment()
    assert hits, "with --allow-network the request is made (the test server is reachable)"
