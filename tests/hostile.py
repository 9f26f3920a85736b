"""Crafted hostile inputs for the hardening tests, the fuzz suite and benchmarks/hostile.

Small files whose headers lie (a 1.3 kB TIFF declaring 10^8 x 10^8 pixels), VRTs whose
"raster" is ``/etc/passwd`` or a URL, network service descriptions, and friends.  Each
``make_*`` writes one file under the given folder and returns its path; ``RASTERS``
names every raster maker for loops.  Plain bytes (``struct``) so the lie is exact.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from pathlib import Path

# TIFF field types
SHORT, LONG, DOUBLE = 3, 4, 12
_FMT = {SHORT: "H", LONG: "I", DOUBLE: "d"}
_SIZE = {SHORT: 2, LONG: 4, DOUBLE: 8}


def tiff_bytes(width: int, height: int, *, spp: int = 1, tile: tuple[int, int] | None = None,
               rows_per_strip: int | None = None, data: bytes = b"\x80" * 256,
               byte_count: int | None = None, compression: int = 1,
               extra: list[tuple[int, int, list[float]]] | None = None,
               geo: bool = True, pixel_deg: float = 1e-6, bits: int = 8,
               sample_format: int = 1) -> bytes:
    """A little-endian classic TIFF with the given (possibly lying) header fields, one
    data block of ``data`` and EPSG:4326 georeferencing (tie point lon 30, lat 0)."""
    entries: list[tuple[int, int, list[float]]] = [
        (256, LONG, [width]), (257, LONG, [height]), (258, SHORT, [bits] * spp),
        (259, SHORT, [compression]), (262, SHORT, [1]), (277, SHORT, [spp]),
        (284, SHORT, [1]), (339, SHORT, [sample_format] * spp),
    ]
    count = len(data) if byte_count is None else byte_count
    if tile is not None:
        entries += [(322, LONG, [tile[0]]), (323, LONG, [tile[1]]),
                    (324, LONG, [0]), (325, LONG, [count])]
    else:
        entries += [(273, LONG, [0]), (278, LONG, [rows_per_strip or height]),
                    (279, LONG, [count])]
    if geo:
        entries += [
            (33550, DOUBLE, [pixel_deg, pixel_deg, 0.0]),
            (33922, DOUBLE, [0.0, 0.0, 0.0, 30.0, 0.0, 0.0]),
            (34735, SHORT, [1, 1, 0, 3, 1024, 0, 1, 2, 1025, 0, 1, 1, 2048, 0, 1, 4326]),
        ]
    entries += extra or []
    entries.sort(key=lambda e: e[0])
    ifd_off = 8
    ifd_len = 2 + 12 * len(entries) + 4
    blob_off = ifd_off + ifd_len
    blobs = b""
    packed = []
    data_entry_tags = (273, 324)
    for tag, typ, vals in entries:
        raw = struct.pack("<" + _FMT[typ] * len(vals), *vals)
        if tag in data_entry_tags:
            packed.append((tag, typ, len(vals), None))
            continue
        if len(raw) <= 4:
            packed.append((tag, typ, len(vals), raw.ljust(4, b"\0")))
        else:
            packed.append((tag, typ, len(vals), struct.pack("<I", blob_off + len(blobs))))
            blobs += raw + (b"\0" if len(raw) % 2 else b"")
    data_off = blob_off + len(blobs)
    out = b"II*\0" + struct.pack("<I", ifd_off) + struct.pack("<H", len(entries))
    for tag, typ, n, val in packed:
        if val is None:
            val = struct.pack("<I", data_off)
        out += struct.pack("<HHI", tag, typ, n) + val
    out += struct.pack("<I", 0)
    return out + blobs + data


def _write(folder: Path, name: str, data: bytes | str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    p = folder / name
    if isinstance(data, str):
        p.write_text(data)
    else:
        p.write_bytes(data)
    return p


def make_huge_strip(folder: Path) -> Path:
    """1.3 kB, declares 10^8 x 10^8 pixels in one strip (GDAL splits it in 10^8 blocks)."""
    return _write(folder, "huge_strip.tif", tiff_bytes(10**8, 10**8, data=b"\x80" * 1024,
                                                         pixel_deg=1e-7))


def make_huge_tiled(folder: Path) -> Path:
    """Declares 2^23 x 2^23 pixels in 256 px tiles, with one tile offset."""
    return _write(folder, "huge_tiled.tif", tiff_bytes(2**23, 2**23, tile=(256, 256),
                                                         pixel_deg=1e-6))


def make_huge_block(folder: Path) -> Path:
    """A 65536 x 65536 px tile declared in a 600-byte file."""
    return _write(folder, "huge_block.tif", tiff_bytes(65536, 65536, tile=(65536, 65536)))


def make_wide_row(folder: Path) -> Path:
    """One row of 2^31 - 1 pixels."""
    return _write(folder, "wide_row.tif", tiff_bytes(2**31 - 1, 1, pixel_deg=1e-8))


def make_many_bands(folder: Path) -> Path:
    """4096 x 4096 with 2000 samples per pixel, 300 bytes of data."""
    return _write(folder, "many_bands.tif", tiff_bytes(4096, 4096, spp=2000))


def make_deflate_claims(folder: Path) -> Path:
    """Deflate-compressed, 50000 x 50000 px declared, 300 bytes of garbage data."""
    return _write(folder, "deflate_lies.tif",
                  tiff_bytes(50000, 50000, compression=8, data=b"\x78\x9c" + b"\x01" * 300))


def make_float_huge(folder: Path) -> Path:
    """float64 30000 x 30000 px declared in a few hundred bytes."""
    return _write(folder, "float_huge.tif",
                  tiff_bytes(30000, 30000, bits=64, sample_format=3, data=b"\0" * 512))


def make_bad_geokeys(folder: Path) -> Path:
    """A GeoKeyDirectory claiming 60000 keys; a small image."""
    data = tiff_bytes(64, 64, data=b"\x40" * 4096, geo=False, extra=[
        (33550, DOUBLE, [1e-5, 1e-5, 0.0]),
        (33922, DOUBLE, [0.0, 0.0, 0.0, 30.0, 0.0, 0.0]),
        (34735, SHORT, [1, 1, 0, 60000, 1024, 0, 1, 2])])
    return _write(folder, "bad_geokeys.tif", data)


def make_nan_scale(folder: Path) -> Path:
    """A geotransform made of NaN pixel sizes."""
    return _write(folder, "nan_scale.tif",
                  tiff_bytes(64, 64, data=b"\x40" * 4096, pixel_deg=float("nan")))


def make_truncated(folder: Path) -> Path:
    """Declares 512 x 512 uncompressed bytes; holds 100."""
    return _write(folder, "truncated.tif", tiff_bytes(512, 512, data=b"\x11" * 100,
                                                      byte_count=512 * 512))


def _vrt(width: int, height: int, band: str) -> str:
    px = 1e-5 if width < 10**6 else 1e-7
    return (f'<VRTDataset rasterXSize="{width}" rasterYSize="{height}">'
            f'<SRS>EPSG:4326</SRS><GeoTransform>30, {px}, 0, 0, 0, {-px}</GeoTransform>'
            f'{band}</VRTDataset>')


def make_vrt_passwd(folder: Path) -> Path:
    """A raw VRT band reading /etc/passwd as pixels."""
    band = ('<VRTRasterBand dataType="Byte" band="1" subClass="VRTRawRasterBand">'
            '<SourceFilename relativeToVRT="0">/etc/passwd</SourceFilename>'
            '<ImageOffset>0</ImageOffset><PixelOffset>1</PixelOffset>'
            '<LineOffset>32</LineOffset></VRTRasterBand>')
    return _write(folder, "passwd.vrt", _vrt(32, 32, band))


def make_vrt_nested(folder: Path) -> Path:
    """A VRT whose simple source is another VRT reading /etc/passwd raw."""
    inner = make_vrt_passwd(folder / "inner")
    band = ('<VRTRasterBand dataType="Byte" band="1"><SimpleSource>'
            f'<SourceFilename relativeToVRT="0">{inner}</SourceFilename>'
            '<SourceBand>1</SourceBand></SimpleSource></VRTRasterBand>')
    return _write(folder, "nested.vrt", _vrt(32, 32, band))


def make_vrt_curl(folder: Path) -> Path:
    """A VRT whose source is a /vsicurl/ URL (a network request on open)."""
    band = ('<VRTRasterBand dataType="Byte" band="1"><SimpleSource>'
            '<SourceFilename relativeToVRT="0">/vsicurl/http://127.0.0.1:9/x.tif'
            '</SourceFilename><SourceBand>1</SourceBand></SimpleSource></VRTRasterBand>')
    return _write(folder, "curl.vrt", _vrt(256, 256, band))


def make_vrt_huge(folder: Path) -> Path:
    """A VRT declaring 10^8 x 10^8 pixels over a 64 x 64 source."""
    src = _write(folder, "small_src.tif", tiff_bytes(64, 64, data=b"\x40" * 4096))
    band = ('<VRTRasterBand dataType="Byte" band="1"><SimpleSource>'
            f'<SourceFilename relativeToVRT="0">{src}</SourceFilename>'
            '<SourceBand>1</SourceBand><DstRect xOff="0" yOff="0" xSize="100000000"'
            ' ySize="100000000"/></SimpleSource></VRTRasterBand>')
    return _write(folder, "huge.vrt", _vrt(10**8, 10**8, band))


def make_wms(folder: Path) -> Path:
    """A GDAL WMS description pointing at a server (network on read)."""
    return _write(folder, "wms.xml", (
        "<GDAL_WMS><Service name=\"WMS\"><ServerUrl>http://127.0.0.1:9/wms?</ServerUrl>"
        "<Layers>x</Layers><SRS>EPSG:4326</SRS></Service><DataWindow><UpperLeftX>-180"
        "</UpperLeftX><UpperLeftY>90</UpperLeftY><LowerRightX>180</LowerRightX>"
        "<LowerRightY>-90</LowerRightY><SizeX>1024</SizeX><SizeY>512</SizeY></DataWindow>"
        "<Projection>EPSG:4326</Projection><BandsCount>3</BandsCount></GDAL_WMS>"))


def make_xyz(folder: Path) -> Path:
    """A GDAL TMS/XYZ description (tile server URL template)."""
    return _write(folder, "xyz.xml", (
        "<GDAL_WMS><Service name=\"TMS\"><ServerUrl>http://127.0.0.1:9/${z}/${x}/${y}.png"
        "</ServerUrl></Service><DataWindow><UpperLeftX>-20037508.34</UpperLeftX>"
        "<UpperLeftY>20037508.34</UpperLeftY><LowerRightX>20037508.34</LowerRightX>"
        "<LowerRightY>-20037508.34</LowerRightY><TileLevel>18</TileLevel>"
        "<TileCountX>1</TileCountX><TileCountY>1</TileCountY><YOrigin>top</YOrigin>"
        "</DataWindow><Projection>EPSG:3857</Projection><BlockSizeX>256</BlockSizeX>"
        "<BlockSizeY>256</BlockSizeY><BandsCount>3</BandsCount></GDAL_WMS>"))


def make_garbage_tif(folder: Path) -> Path:
    """A TIFF magic followed by nonsense (the GDAL error path)."""
    return _write(folder, "garbage.tif", b"II*\0\x08\0\0\0\xff\xff" + b"\x13" * 200)


RASTERS: dict[str, Callable[[Path], Path]] = {
    "huge_strip": make_huge_strip,
    "huge_tiled": make_huge_tiled,
    "huge_block": make_huge_block,
    "wide_row": make_wide_row,
    "many_bands": make_many_bands,
    "deflate_lies": make_deflate_claims,
    "float_huge": make_float_huge,
    "bad_geokeys": make_bad_geokeys,
    "nan_scale": make_nan_scale,
    "truncated": make_truncated,
    "vrt_passwd": make_vrt_passwd,
    "vrt_nested": make_vrt_nested,
    "vrt_curl": make_vrt_curl,
    "vrt_huge": make_vrt_huge,
    "wms": make_wms,
    "xyz": make_xyz,
    "garbage": make_garbage_tif,
}
