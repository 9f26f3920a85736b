"""Seeded fuzzing of the CLI over small MP4 / GeoTIFF / GeoJSON / KML / case files.

Every mutant goes through ``workbench.cli.main`` in-process (file descriptors captured,
so FFmpeg/GDAL writing to fd 2 is seen too) and must end with exit 0, 1 or 2, no
traceback, only ``workbench``-prefixed lines on stderr with at most one error line,
and nothing half-written: no temp folders, a foreign file in ``--out`` kept, a failed
run leaving the earlier output set as it was.  Commands over the imagery, footage and
report layers must not end in an internal error (exit 1) at all.  Seeds are fixed
(``FUZZ_SEED`` to vary); about 30 s on 2 cores.  The longer campaign with per-input
memory and hang detection is ``benchmarks/fuzz/campaign.py``.
"""

from __future__ import annotations

import os
import random
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from fuzzkit import (
    CASE_EDITS,
    edit_case,
    mutate_bytes,
    mutate_json,
    mutate_kml,
    seed_case,
    seed_geojson,
    seed_geotiff,
    seed_kml,
    seed_mp4,
)

from workbench.cli import main
from workbench.outputs import MANIFEST_NAME

SEED = int(os.environ.get("FUZZ_SEED", "20261203"))


@pytest.fixture(scope="module")
def seeds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("fuzz_seeds")
    return {
        "mp4": seed_mp4(root / "seed.mp4"),
        "tif": seed_geotiff(root / "seed.tif"),
        "geojson": seed_geojson(root / "seed.geojson"),
        "kml": seed_kml(root / "seed.kml"),
        "case": seed_case(root / "case"),
    }


def _temps(*folders: Path) -> list[str]:
    out = []
    for f in folders:
        if f.is_dir():
            out += [n for n in os.listdir(f) if ".wbtmp-" in n or ".wbnew-" in n
                    or ".wbold-" in n]
    return out


def _run(args: list[str], capfd: pytest.CaptureFixture[str], *, strict: bool) -> int:
    try:
        code = main(args)
    except SystemExit as exc:  # argparse
        code = int(exc.code or 0)
    out, err = capfd.readouterr()
    lines = [ln for ln in err.splitlines() if ln.strip()]
    where = f"{args}: exit {code}, stderr {err[-600:]!r}"
    assert code in (0, 1, 2), where
    assert "Traceback" not in err, where
    assert all(ln.startswith("workbench") for ln in lines), where
    assert sum(": error:" in ln or "internal error" in ln for ln in lines) <= 1, where
    assert "\x1b" not in out and "\x1b" not in err, where
    if strict:
        assert code != 1, where
    return code


def _mutants(seed_path: Path, fn: Callable[[bytes, random.Random], bytes], n: int,
             folder: Path, tag: str) -> list[Path]:
    rng = random.Random(f"{SEED}-{tag}")
    data = seed_path.read_bytes()
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        p = folder / f"{tag}{i:03d}{seed_path.suffix}"
        p.write_bytes(fn(data, rng))
        paths.append(p)
    return paths


def test_fuzz_geotiff_tiles(seeds: dict[str, Path], tmp_path: Path,
                            capfd: pytest.CaptureFixture[str]) -> None:
    for p in _mutants(seeds["tif"], mutate_bytes, 80, tmp_path, "tif"):
        _run(["tiles", str(p)], capfd, strict=True)
        _run(["tiles", "--json", str(p)], capfd, strict=True)


def test_fuzz_mp4(seeds: dict[str, Path], tmp_path: Path,
                  capfd: pytest.CaptureFixture[str]) -> None:
    mutants = _mutants(seeds["mp4"], mutate_bytes, 30, tmp_path, "mp4")
    for p in mutants:
        _run(["info", "--no-hash", str(p)], capfd, strict=True)
    out = tmp_path / "kf"
    out.mkdir()
    (out / "keep.txt").write_text("analyst's file")
    for p in mutants[:8]:
        before = sorted(os.listdir(out))
        code = _run(["-q", "keyframes", str(p), "--out", str(out), "--force"], capfd,
                    strict=True)
        assert (out / "keep.txt").read_text() == "analyst's file"
        assert _temps(out, tmp_path) == []
        if code != 0:
            assert sorted(os.listdir(out)) == before  # a failed run changed nothing
        else:
            assert (out / MANIFEST_NAME).is_file() and (out / "keyframes.json").is_file()


def _layer_runs(kind: str, fn: Callable[[bytes, random.Random], bytes], n: int,
                seeds: dict[str, Path], tmp_path: Path,
                capfd: pytest.CaptureFixture[str]) -> None:
    case = tmp_path / "c.wbcase"
    for i, p in enumerate(_mutants(seeds[kind], fn, n, tmp_path, kind)):
        if i % 5 == 0:
            shutil.copyfile(seeds["case"], case)
        _run(["case", "context", str(case), str(p), "--user", "fuzz"], capfd, strict=False)
        if kind == "geojson" and i % 3 == 0:
            _run(["case", "claim", str(case), "claim", "--area", str(p), "--user", "fuzz"],
                 capfd, strict=False)
    out = tmp_path / "rep"
    _run(["report", str(case), "--format", "geojson,kml", "--out", str(out)], capfd,
         strict=True)
    assert _temps(out, tmp_path) == []


def test_fuzz_geojson_layers(seeds: dict[str, Path], tmp_path: Path,
                             capfd: pytest.CaptureFixture[str]) -> None:
    _layer_runs("geojson", mutate_json, 40, seeds, tmp_path, capfd)


def test_fuzz_kml_layers(seeds: dict[str, Path], tmp_path: Path,
                         capfd: pytest.CaptureFixture[str]) -> None:
    _layer_runs("kml", mutate_kml, 30, seeds, tmp_path, capfd)


def test_fuzz_case_content_reports(seeds: dict[str, Path], tmp_path: Path,
                                   capfd: pytest.CaptureFixture[str]) -> None:
    """Damaged case content (hand-edited rows, triggers dropped): the GeoJSON/KML set is
    written whole or not at all, and never an internal error."""
    out = tmp_path / "rep"
    for i, sql in enumerate(CASE_EDITS):
        case = edit_case(seeds["case"], tmp_path / f"e{i:02d}.wbcase", sql)
        code = _run(["report", str(case), "--format", "geojson,kml", "--out", str(out)],
                    capfd, strict=True)
        names = {f"e{i:02d}.geojson", f"e{i:02d}.kml"}
        assert names <= set(os.listdir(out)) if code == 0 else not names & set(os.listdir(out))
        _run(["case", "info", str(case)], capfd, strict=False)
    assert _temps(out, tmp_path) == []
    rng = random.Random(f"{SEED}-case")
    data = seeds["case"].read_bytes()
    for i in range(12):
        case = tmp_path / f"b{i}.wbcase"
        case.write_bytes(mutate_bytes(data, rng))
        _run(["case", "info", str(case)], capfd, strict=False)
        _run(["report", str(case), "--format", "geojson", "--out", str(out)], capfd,
             strict=True)
