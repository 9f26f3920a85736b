"""Errors, atomic writes, coordinates and the locate.json model."""

from __future__ import annotations

import json
import math
import stat
import subprocess
import sys

import numpy as np
import pytest

from workbench import atomic, geo
from workbench.errors import OutputError, VideoOpenError, WorkbenchError
from workbench.results import (
    Candidate,
    KeyframeRef,
    LocateResult,
    ResultFormatError,
    VideoRef,
)


def test_errors_are_one_line_name_the_file_and_mix_builtins(tmp_path):
    err = VideoOpenError("not a video\nthat FFmpeg reads", tmp_path / "x.mp4")
    assert isinstance(err, WorkbenchError) and isinstance(err, OSError)
    assert str(err) == f"{tmp_path / 'x.mp4'}: not a video that FFmpeg reads"


def test_atomic_write_replaces_whole_file_and_leaves_no_temp(tmp_path):
    target = tmp_path / "a.json"
    atomic.atomic_write_text(target, "old")
    atomic.atomic_write_text(target, "new")
    assert target.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~atomic.UMASK  # not mkstemp's 0600


def test_atomic_write_into_readonly_folder_raises_output_error(readonly_dir):
    with pytest.raises(OutputError, match="readonly"):
        atomic.atomic_write_text(readonly_dir / "x.txt", "x")
    with pytest.raises(OutputError, match="cannot write"):
        atomic.check_writable_dir(readonly_dir)
    assert list(readonly_dir.iterdir()) == []


def test_check_writable_dir_rejects_a_file(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(OutputError, match="not a folder"):
        atomic.check_writable_dir(f)


def test_atomic_directory_keeps_old_content_on_failure(tmp_path):
    out = tmp_path / "out"
    with atomic.atomic_directory(out) as tmp:
        (tmp / "a").write_text("1")
    with pytest.raises(RuntimeError), atomic.atomic_directory(out) as tmp:
        (tmp / "a").write_text("2")
        raise RuntimeError("boom")
    assert (out / "a").read_text() == "1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_tile_pixel_to_lonlat_uses_pixel_centres():
    # 1 m pixels in UTM 36N; pixel (0, 0) centre is at corner + 0.5 m
    transform = (1.0, 0.0, 500000.0, 0.0, -1.0, 100.0)
    ll = geo.tile_px_to_lonlat(transform, "EPSG:32636", np.array([[0.0, 0.0], [-0.5, -0.5]]))
    corner = geo.tile_px_to_lonlat(transform, "EPSG:32636", np.array([[-0.5, -0.5]]))[0]
    assert ll.shape == (2, 2)
    assert corner[0] == pytest.approx(33.0, abs=1e-9)  # central meridian of zone 36
    d = geo.haversine_m(ll[0, 0], ll[0, 1], corner[0], corner[1])
    assert d == pytest.approx(math.sqrt(0.5), abs=0.01)


def test_homography_and_formats():
    h = np.array([[2.0, 0, 10], [0, 2.0, 20], [0, 0, 1]])
    assert geo.apply_homography(h, np.array([[1.0, 1.0]])).tolist() == [[12.0, 22.0]]
    assert geo.format_dms(-0.5, -1.25) == "0°30'00.00\"S 1°15'00.00\"W"
    assert geo.format_mgrs(0.3509, 32.5947) == "36N VF 54900 38785"


def _result() -> LocateResult:
    return LocateResult(
        verdict="located",
        video=VideoRef("v.mp4", "ab" * 32, 25.0, 640, 480, 10.0),
        keyframes=[KeyframeRef("kf0001", 12, 0.48, "cd" * 32)],
        candidates=[
            Candidate(1, 0.35, 32.59, 0.9, 2.5, "kf0001", "t.tif", 80, [[32.5, 0.3]],
                      scores={"x": float("nan")})
        ],
        timing_s={"total": 1.0},
    )


def test_locate_result_round_trips_and_keeps_contract_fields():
    doc = json.loads(json.dumps(_result().to_json()))
    assert doc["schema"] == "workbench.locate/1"
    assert next(iter(doc)) == "schema"
    assert {"rank", "lat", "lon", "confidence", "uncertainty_m", "keyframe_id", "tile",
            "inliers", "footprint"} <= set(doc["candidates"][0])
    assert doc["candidates"][0]["scores"]["x"] is None  # NaN is not JSON
    back = LocateResult.from_json(doc)
    assert back.best() is not None and back.best().keyframe_id == "kf0001"


@pytest.mark.parametrize("doc", [[], {"schema": "other/9"}, {"schema": "workbench.locate/1"},
                                 {"schema": "workbench.locate/1", "verdict": "maybe"}])
def test_malformed_locate_json_is_a_typed_error(doc):
    with pytest.raises(ResultFormatError):
        LocateResult.from_json(doc)


# --- the public API (workbench/__init__.py) ---------------------------------------------


def _run_py(code: str) -> str:
    """Run ``code`` in a fresh interpreter (a clean ``sys.modules``); its stdout."""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_import_workbench_loads_no_stage():
    out = _run_py("import sys, workbench; "
                  "print(sorted(m for m in sys.modules if m.startswith('workbench.')))")
    assert out == "['workbench.version']"


def test_public_api_names_the_stage_entry_points():
    import workbench
    from workbench.case.casefile import Case
    from workbench.imagery.catalog import TileCatalog
    from workbench.keyframes.extract import extract_keyframes
    from workbench.locate.pipeline import locate
    from workbench.report import write_reports
    from workbench.verify.check import verify_case

    assert sorted(workbench.__all__) == sorted(
        ["Case", "TileCatalog", "__version__", "extract_keyframes", "locate", "verify_case",
         "write_reports"])
    assert workbench.Case is Case and workbench.TileCatalog is TileCatalog
    assert workbench.extract_keyframes is extract_keyframes
    assert workbench.locate is locate and callable(workbench.locate)
    assert workbench.write_reports is write_reports and workbench.verify_case is verify_case
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = workbench.no_such_name


def test_locate_stays_the_function_after_its_package_is_imported():
    # the import system binds a subpackage on its parent; workbench.locate must not
    # turn into the package once any module has imported workbench.locate.pipeline
    out = _run_py("from workbench.locate import pipeline; from workbench import locate; "
                  "import workbench; print(callable(locate), workbench.locate is locate)")
    assert out == "True True"
