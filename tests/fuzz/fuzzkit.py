"""Seeded mutators and seed inputs for the fuzz suite (tests/fuzz) and the longer campaign
(benchmarks/fuzz/campaign.py).

Mutators are plain functions of ``(bytes, random.Random) -> bytes``: the same seed gives
the same mutant, so a failure found in CI or the campaign replays exactly.  Byte-level
operators (bit flips, interesting integers over header fields, truncation, splices)
suit MP4/TIFF/SQLite; structure-aware ones (:func:`mutate_json`, :func:`mutate_kml`) put
wrong types, non-finite numbers, control characters and deep nesting where a parser
would otherwise reject the whole file at once.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any

INTERESTING32 = (0, 1, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF, 0x10000, 0x7FFFFFFF,
                 0x80000000, 0xFFFFFFFF, 100_000_000)
HOSTILE_TEXT = ("\x00", "\x1b[2K\rCONFIRMED", "\u202e", "\x01\x08", "]]>", "<![CDATA[",
                "\ud800", "nan", "-inf", "\n", "&amp;", "\uffff")


def mutate_bytes(data: bytes, rng: random.Random, ops: int | None = None) -> bytes:
    """``data`` with 1-4 byte-level mutations (header fields favoured: the first 4 kB)."""
    buf = bytearray(data)
    for _ in range(ops or rng.randint(1, 4)):
        if not buf:
            buf = bytearray(rng.randbytes(16))
        hot = min(len(buf), 4096)
        pos = rng.randrange(hot) if rng.random() < 0.7 else rng.randrange(len(buf))
        op = rng.randrange(7)
        if op == 0:  # bit flip
            buf[pos] ^= 1 << rng.randrange(8)
        elif op == 1:  # interesting 32-bit little/big endian value
            v = rng.choice(INTERESTING32).to_bytes(4, rng.choice(("little", "big")))
            buf[pos:pos + 4] = v
        elif op == 2:  # random byte
            buf[pos] = rng.randrange(256)
        elif op == 3:  # truncate
            del buf[max(8, rng.randrange(len(buf))):]
        elif op == 4:  # duplicate a chunk
            n = rng.randrange(1, 256)
            buf[pos:pos] = buf[pos:pos + n]
        elif op == 5:  # delete a chunk
            del buf[pos:pos + rng.randrange(1, 64)]
        else:  # insert random bytes
            buf[pos:pos] = rng.randbytes(rng.randrange(1, 32))
    return bytes(buf)


def _hostile_value(rng: random.Random, depth: int = 0) -> Any:
    choice = rng.randrange(9)
    if choice == 0:
        return float("nan") if rng.random() < 0.5 else float("inf")
    if choice == 1:
        return rng.choice(HOSTILE_TEXT) + "x" * rng.randrange(3)
    if choice == 2:
        return None
    if choice == 3:
        return rng.choice([[], {}, [[]], [1], "str", True])
    if choice == 4:  # deep nesting
        v: Any = 1
        for _ in range(rng.choice((50, 300, 2000))):
            v = {"a": v} if rng.random() < 0.5 else [v]
        return v
    if choice == 5:
        return rng.choice((1e308, -1e308, 2**63, -(2**63), 10**30))
    if choice == 6:
        return "x" * rng.choice((1000, 100_000))
    if choice == 7:
        return rng.randrange(-1000, 1000)
    return [_hostile_value(rng, depth + 1) for _ in range(2)] if depth < 2 else 0


def _walk(doc: Any, path: list[Any]) -> list[list[Any]]:
    out = [path]
    if len(path) > 12:
        return out
    if isinstance(doc, dict):
        for k, v in doc.items():
            out.extend(_walk(v, [*path, k]))
    elif isinstance(doc, list):
        for i, v in enumerate(doc[:50]):
            out.extend(_walk(v, [*path, i]))
    return out


def mutate_json(data: bytes, rng: random.Random) -> bytes:
    """Replace 1-3 nodes of a JSON document with hostile values (or fall back to bytes)."""
    try:
        doc = json.loads(data)
    except ValueError:
        return mutate_bytes(data, rng)
    if rng.random() < 0.15:
        return mutate_bytes(data, rng)
    for _ in range(rng.randint(1, 3)):
        paths = _walk(doc, [])
        target = rng.choice(paths)
        value = _hostile_value(rng)
        if not target:
            doc = value
            continue
        parent = doc
        for k in target[:-1]:
            parent = parent[k]
        parent[target[-1]] = value
    try:
        text = json.dumps(doc, allow_nan=True)
    except (ValueError, RecursionError):
        return mutate_bytes(data, rng)
    return text.encode("utf-8", "surrogatepass")


_KML_TOKEN = re.compile(rb"-?\d+\.\d+|<name>[^<]*</name>")


def mutate_kml(data: bytes, rng: random.Random) -> bytes:
    """Swap coordinates for nan/inf/huge numbers or names for control characters."""
    if rng.random() < 0.2:
        return mutate_bytes(data, rng)
    tokens = list(_KML_TOKEN.finditer(data))
    out = data
    for m in sorted(rng.sample(tokens, min(len(tokens), rng.randint(1, 3))),
                    key=lambda m: -m.start()):
        if m.group().startswith(b"<name>"):
            text = rng.choice(HOSTILE_TEXT).encode("utf-8", "surrogatepass")
            new = b"<name>" + text + b"</name>"
        else:
            new = rng.choice((b"nan", b"inf", b"-nan", b"1e400", b"181.5", b"95", b"", b"1,2"))
        out = out[:m.start()] + new + out[m.end():]
    return out


# --- seed inputs ------------------------------------------------------------------------


def seed_mp4(path: Path, w: int = 96, h: int = 64, n: int = 12) -> Path:
    """A tiny H.264 MP4 (textured, one cut)."""
    import av
    import numpy as np

    rng = np.random.default_rng(5)
    tiles = [rng.integers(0, 255, (h // 8, w // 8, 3), np.uint8) for _ in range(2)]
    with av.open(str(path), "w") as out:
        st = out.add_stream("libx264", rate=10, options={"preset": "ultrafast"})
        st.width, st.height, st.pix_fmt = w, h, "yuv420p"
        for i in range(n):
            img = np.kron(tiles[i * 2 // n], np.ones((8, 8, 1), np.uint8))
            for pkt in st.encode(av.VideoFrame.from_ndarray(np.roll(img, i, 1), format="rgb24")):
                out.mux(pkt)
        for pkt in st.encode():
            out.mux(pkt)
    return path


def seed_geotiff(path: Path) -> Path:
    """A 64 x 64 RGB GeoTIFF (EPSG:32636, tiled, deflate, one overview)."""
    import numpy as np
    import rasterio
    from rasterio.transform import from_origin

    rng = np.random.default_rng(2)
    data = rng.integers(0, 255, (3, 64, 64), np.uint8)
    with rasterio.open(path, "w", driver="GTiff", width=64, height=64, count=3, dtype="uint8",
                       crs="EPSG:32636", transform=from_origin(500000, 3500000, 0.5, 0.5),
                       tiled=True, blockxsize=32, blockysize=32, compress="deflate") as ds:
        ds.write(data)
        ds.update_tags(TIFFTAG_DATETIME="2020:01:02 03:04:05", ATTRIBUTION="test")
        ds.build_overviews([2])
    return path


def _square(lon: float = 30.5, lat: float = 31.6, d: float = 0.01) -> list[list[float]]:
    return [[lon - d, lat - d], [lon + d, lat - d], [lon + d, lat + d], [lon - d, lat + d],
            [lon - d, lat - d]]


def seed_geojson(path: Path) -> Path:
    """A FeatureCollection: two polygons (one with a hole) and a point, with properties."""
    hole = _square(d=0.003)[::-1]
    doc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "Zone A", "controlled_by": "army",
                                           "date": "2024-05-14"},
         "geometry": {"type": "Polygon", "coordinates": [_square(), hole]}},
        {"type": "Feature", "properties": {"name": "Zone B"},
         "geometry": {"type": "Polygon", "coordinates": [_square(30.6, 31.7)]}},
        {"type": "Feature", "properties": {"name": "Checkpoint"},
         "geometry": {"type": "Point", "coordinates": [30.55, 31.65]}}]}
    path.write_text(json.dumps(doc))
    return path


def seed_kml(path: Path) -> Path:
    """A KML document with a polygon placemark and a point placemark."""
    ring = " ".join(f"{x:.6f},{y:.6f},0" for x, y in _square())
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<kml xmlns="http://www.opengis.net/kml/2.2">'
        "<Document><name>layer</name><Placemark><name>Zone A</name><Polygon><outerBoundaryIs>"
        f"<LinearRing><coordinates>{ring}</coordinates></LinearRing></outerBoundaryIs>"
        "</Polygon></Placemark><Placemark><name>Checkpoint</name><Point><coordinates>"
        "30.550000,31.650000,0</coordinates></Point></Placemark></Document></kml>\n")
    return path


def seed_case(root: Path) -> Path:
    """A small case (casekit's synthetic scene) with a decision, note, point and claim."""
    from casekit import make_scene

    from workbench.case import Case

    scene = make_scene(root / "scene")
    path = root / "seed.wbcase"
    with Case.create(path, video_path=scene.video, tiles=[scene.tile], result=scene.result,
                     keyframes_dir=scene.out_dir, analyst="alice") as case:
        c = case.candidate(1)
        case.confirm(1, "tower matches")
        case.add_note("a note")
        case.set_point_of_interest(1, 200.0, 90.0, "impact")
        case.set_claim("claim", lonlat=(c.lon + 0.002, c.lat),
                       area_geojson={"type": "Polygon",
                                     "coordinates": [_square(c.lon, c.lat)[::-1]]})
    return path


# SQL that damages a case's content the way a hand-edited or hostile file would (after its
# triggers are dropped): wrong JSON types, non-UTF-8 text, control characters, nan
CASE_EDITS: tuple[str, ...] = (
    "UPDATE notes SET text = 'rejected' || char(27) || '[2K' || char(13) || 'CONFIRMED'",
    "UPDATE notes SET text = CAST(X'fffe41c3' AS TEXT)",
    "UPDATE decisions SET user = X'00ff'",
    "UPDATE candidates SET doc = json_set(doc, '$.lat', 'north')",
    "UPDATE candidates SET doc = json_set(doc, '$.footprint',"
    " json('[[\"nan\",1],[2,3],[4,5],[6,7]]'))",
    "UPDATE claim SET area_json = '\"x\"'",
    "UPDATE claim SET area_json = '{\"type\":\"Polygon\",\"coordinates\":"
    "[[[\"nan\",1],[2,3],[4,5],[\"nan\",1]]]}'",
    "UPDATE claim SET text = 'a' || char(1) || char(11) || char(27) || ']]>'",
    "UPDATE points_of_interest SET label = 'x' || char(1) || char(8) || 'y'",
    "UPDATE locate_runs SET doc = json_set(doc, '$.verdict', 5)",
    "UPDATE rasters SET meta_json = '\"x\"'",
    "UPDATE footage SET video_json = json_set(video_json, '$.fps', 'fast')",
)


def edit_case(src: Path, dst: Path, sql: str) -> Path:
    """Copy ``src`` to ``dst``, drop its triggers and apply ``sql``."""
    import shutil
    import sqlite3

    shutil.copyfile(src, dst)
    con = sqlite3.connect(dst)
    try:
        for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type='trigger'"):
            con.execute(f'DROP TRIGGER "{name}"')
        con.execute(sql)
        con.commit()
    finally:
        con.close()
    return dst
