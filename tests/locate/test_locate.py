"""End to end: ``workbench locate`` on the procedurally drawn demo town, and bad input."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from workbench.cli import main
from workbench.geo import apply_homography, haversine_m
from workbench.results import LocateResult


@pytest.fixture
def located(demo_locate: tuple[int, Path, str]) -> tuple[int, Path, str]:
    """The session's one demo locate (``demo_locate`` in conftest)."""
    return demo_locate


def test_cli_contract_and_accuracy_on_the_demo_town(demo_data: Path, located) -> None:
    from workbench_fixtures.truth import Truth

    rc, out, stdout = located
    assert rc == 0
    assert "verdict: LOCATED" in stdout
    doc = json.loads((out / "locate.json").read_text())
    assert doc["schema"] == "workbench.locate/1"
    assert doc["verdict"] == "located"
    for key in ("path", "sha256", "fps", "width", "height", "duration_s"):
        assert key in doc["video"]
    assert len(doc["video"]["sha256"]) == 64
    for key in ("keyframes", "match", "total"):
        assert doc["timing_s"][key] >= 0
    assert doc["keyframes"], "no keyframes recorded"
    for k in doc["keyframes"]:
        assert {"id", "frame_index", "time_s", "sha256"} <= set(k)
        assert (out / k["image"]).is_file() and (out / k["mask"]).is_file()
    cands = doc["candidates"]
    assert [c["rank"] for c in cands] == list(range(1, len(cands) + 1))
    best = cands[0]
    for key in ("lat", "lon", "confidence", "uncertainty_m", "keyframe_id", "tile", "inliers",
                "footprint"):
        assert key in best
    assert best["confidence"] >= 0.6
    assert Path(best["tile"]).name == "town.tif"
    assert best["footprint"][0] == best["footprint"][-1]
    # accuracy against the renderer's exact truth for that keyframe's frame
    truth = Truth.load(demo_data / "strike.truth.json")
    frame = {k["id"]: k["frame_index"] for k in doc["keyframes"]}[best["keyframe_id"]]
    centre = truth.frames[frame].centre
    assert centre is not None
    err = haversine_m(best["lon"], best["lat"], centre["lon"], centre["lat"])
    assert err < 3.0, f"centre error {err:.1f} m"
    assert best["uncertainty_m"] < 10.0
    tlon, tlat = truth.frame_px_to_lonlat(frame, np.array([[300.0, 170.0]]))[0]
    assert haversine_m(best["target"]["lon"], best["target"]["lat"], tlon, tlat) < 3.0
    # the stored tie points re-verify through the stored homography
    res = LocateResult.from_json(doc)
    c1 = res.candidates[0]
    proj = apply_homography(c1.homography, np.array(c1.keyframe_xy))
    assert float(np.median(np.linalg.norm(proj - np.array(c1.tile_xy), axis=1))) < 3.0


@pytest.mark.slow
def test_footage_not_in_the_imagery_is_not_located(demo_data: Path, tmp_path: Path,
                                                   located) -> None:
    from workbench.keyframes.store import load_keyframes
    from workbench.locate import LocateConfig, locate
    from workbench.match import MatchConfig

    kset = load_keyframes(located[1] / "keyframes")  # the keyframes the CLI run used
    # SIFT only: the default engine's learned fallback on foreign footage is covered by
    # tests/match/test_match.py::test_footage_from_elsewhere_is_not_located (and cost 60 %
    # of this test's time); here the pipeline's verdict and its written result are tested.
    config = LocateConfig(max_keyframes=3, match=MatchConfig(matcher="sift"))
    res = locate(demo_data / "strike.mp4", [demo_data / "tiles" / "other_town.tif"],
                 out_dir=tmp_path, keyframes=kset, config=config)
    assert res.verdict != "located", res.reason
    assert (tmp_path / "locate.json").is_file()


def _err_line(capsys: pytest.CaptureFixture[str]) -> str:
    """The error line (warnings about skipped files may precede it); no traceback."""
    err = capsys.readouterr().err.strip().splitlines()
    assert err and all(line.startswith("workbench: ") for line in err), err
    assert err[-1].startswith("workbench: error: ")
    return err[-1]


def test_bad_tiles_give_one_line_and_exit_2(demo_data: Path, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    video = str(demo_data / "strike.mp4")
    out = tmp_path / "out"
    assert main(["locate", video, "--tiles", str(tmp_path / "nope.tif"), "--out", str(out)]) == 2
    assert "nope.tif" in _err_line(capsys)
    broken = tmp_path / "broken.tif"
    data = (demo_data / "tiles" / "town.tif").read_bytes()
    broken.write_bytes(data[: len(data) // 3])
    assert main(["locate", video, "--tiles", str(broken), "--out", str(out)]) == 2
    assert "broken.tif" in _err_line(capsys)
    plain = tmp_path / "plain.png"
    import cv2

    cv2.imwrite(str(plain), np.full((64, 64, 3), 128, np.uint8))
    assert main(["locate", video, "--tiles", str(plain), "--out", str(out)]) == 2
    assert "plain.png" in _err_line(capsys)
    assert not out.exists()  # a failed run leaves no (empty) output folder behind
    nested = tmp_path / "new" / "deeper"
    assert main(["locate", video, "--tiles", str(plain), "--out", str(nested)]) == 2
    assert not (tmp_path / "new").exists()
    kept = tmp_path / "kept"
    kept.mkdir()
    assert main(["locate", video, "--tiles", str(plain), "--out", str(kept)]) == 2
    assert kept.is_dir()  # a folder the user made is left alone


def test_bad_arguments_give_one_line_and_exit_2(demo_data: Path, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    tiles = str(demo_data / "tiles" / "town.tif")
    out = str(tmp_path / "out")
    assert main(["locate", str(tmp_path / "missing.mp4"), "--tiles", tiles, "--out", out]) == 2
    assert "missing.mp4" in _err_line(capsys)
    assert main(["locate", str(tmp_path), "--tiles", tiles, "--out", out]) == 2
    assert "is a folder" in _err_line(capsys)
    with pytest.raises(SystemExit) as exc:
        main(["locate", str(demo_data / "strike.mp4"), "--tiles", tiles, "--out", out,
              "--target", "abc"])
    assert exc.value.code == 2
    capsys.readouterr()
    # a target pixel outside the frame
    rc = main(["locate", str(demo_data / "strike.mp4"), "--tiles", tiles, "--out", out,
               "--target", "5000,10", "--max-keyframes", "1"])
    assert rc == 2
    assert "outside" in _err_line(capsys)


@pytest.mark.parametrize("values, message", [
    (["-1"], "metres >= 0"), (["abc"], "[RASTER=]METRES"), (["town.tif=nan"], "finite"),
])
def test_bad_imagery_accuracy_is_one_line_and_exit_2(demo_data: Path, tmp_path: Path, values,
                                                     message, capsys) -> None:
    args = ["locate", str(demo_data / "strike.mp4"), "--tiles", str(demo_data / "tiles"),
            "--out", str(tmp_path / "out")]
    for v in values:
        args += ["--imagery-accuracy", v]
    with pytest.raises(SystemExit) as exc:
        main(args)
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert message in err[-1] and "Traceback" not in "".join(err)
    assert not (tmp_path / "out").exists()


def test_mixed_imagery_accuracy_is_refused(demo_data: Path, tmp_path: Path, capsys) -> None:
    rc = main(["locate", str(demo_data / "strike.mp4"), "--tiles", str(demo_data / "tiles"),
               "--out", str(tmp_path / "out"), "--imagery-accuracy", "2",
               "--imagery-accuracy", "town.tif=3"])
    assert rc == 2 and "not both" in _err_line(capsys)
    assert not (tmp_path / "out").exists()


def test_imagery_accuracy_entered_by_the_analyst_is_in_every_radius(
    demo_data: Path, located, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """``--imagery-accuracy town.tif=3``: each radius on town.tif is the match's error and
    the imagery's 3 m added in quadrature, the part and its source named in locate.json."""
    _, first, _ = located
    out = tmp_path / "out"
    assert main(["-q", "locate", str(demo_data / "strike.mp4"), "--tiles",
                 str(demo_data / "tiles"), "--out", str(out), "--target", "300,170",
                 "--keyframes", str(first / "keyframes"), "--max-keyframes", "2",
                 "--matcher", "sift", "--imagery-accuracy", "town.tif=3"]) == 0
    doc = json.loads((out / "locate.json").read_text())
    assert doc["candidates"], doc["reason"]
    by_rank = {u["rank"]: u for u in doc["uncertainty"]}
    for c in doc["candidates"]:
        u = by_rank[c["rank"]]
        parts = u["components"]
        if Path(c["tile"]).name != "town.tif":
            assert parts["imagery_m"] is None
            continue
        assert parts["imagery_m"] == pytest.approx(3.0)
        assert "analyst" in u["imagery_source"]
        inner = parts["match_m"] + (parts["extrapolation_m"] or 0.0)
        assert u["radius_m"] == pytest.approx(math.hypot(inner, 3.0), rel=1e-6)
        assert c["uncertainty_m"] == pytest.approx(u["radius_m"])
        assert c["target"]["uncertainty_m"] >= 3.0
    # the same part in every other position found through a candidate: the app's
    # clicked pixel, ``case point`` and a target refitted after a manual tie point
    from workbench.case import Case
    from workbench.compare import locate_pixel

    res = LocateResult.from_json(doc)
    c = next(c for c in res.candidates if Path(c.tile).name == "town.tif" and c.target)
    assert res.imagery_accuracy_of(c.rank)[0] == pytest.approx(3.0)
    tile = res.tile(c.tile)
    assert tile is not None
    acc, source = res.imagery_accuracy_of(c.rank)
    app = locate_pixel(c, tile, 300, 170, imagery_accuracy_m=acc, imagery_source=source)
    assert app.uncertainty_m == pytest.approx(c.target["uncertainty_m"], abs=1e-6)
    assert locate_pixel(c, tile, 300, 170).uncertainty_m < app.uncertainty_m  # part left out
    path = tmp_path / "acc.wbcase"
    Case.create(path, video_path=demo_data / "strike.mp4",
                tiles=sorted((demo_data / "tiles").glob("*.tif")), result=res,
                keyframes_dir=out).close()
    capsys.readouterr()
    assert main(["case", "point", str(path), str(c.rank), "300", "170"]) == 0
    with Case.open(path) as case:
        poi = case.points_of_interest()[-1]
        assert poi.uncertainty_m == pytest.approx(c.target["uncertainty_m"], abs=1e-6)
        k, t = np.asarray(c.keyframe_xy[0]), np.asarray(c.tile_xy[0])
        case.add_tie_point(c.rank, (float(k[0]) + 0.5, float(k[1])), (float(t[0]), float(t[1])))
        refit = case.candidate(c.rank).target
        assert refit is not None and refit["uncertainty_m"] >= 3.0


def test_ungeoreferenced_image_is_skipped_with_a_warning(demo_data: Path, tmp_path: Path,
                                                        located) -> None:
    from workbench.keyframes.store import load_keyframes
    from workbench.locate import LocateConfig, locate

    folder = tmp_path / "tiles"
    folder.mkdir()
    # a link, so the session's feature cache (keyed by the resolved path) serves it
    (folder / "other_town.tif").symlink_to(demo_data / "tiles" / "other_town.tif")
    import cv2

    from workbench.match import MatchConfig

    cv2.imwrite(str(folder / "snapshot.png"), np.full((64, 64, 3), 90, np.uint8))
    # this test is about the catalogue's warning: SIFT alone (no learned fallback) suffices
    res = locate(demo_data / "strike.mp4", [folder],
                 config=LocateConfig(max_keyframes=1, match=MatchConfig(matcher="sift")),
                 keyframes=load_keyframes(located[1] / "keyframes"))
    assert any("snapshot.png" in w for w in res.warnings)
    assert res.tiles and all(Path(t.path).name == "other_town.tif" for t in res.tiles)


def test_footage_without_usable_keyframe_is_not_located(demo_data: Path, tmp_path: Path) -> None:
    from workbench_fixtures.encode import Mp4Writer

    black = tmp_path / "black.mp4"
    with Mp4Writer(black, 320, 240, 10) as wr:
        for _ in range(20):
            wr.write(np.zeros((240, 320, 3), np.uint8))
    out = tmp_path / "out"
    rc = main(["locate", str(black), "--tiles", str(demo_data / "tiles" / "town.tif"),
               "--out", str(out)])
    assert rc == 0
    doc = json.loads((out / "locate.json").read_text())
    assert doc["verdict"] == "not_located"
    assert doc["candidates"] == []
    assert "keyframe" in doc["reason"]


def test_companion_frames_stay_in_the_keyframes_shot(cut_clip) -> None:
    from workbench.keyframes.extract import extract_keyframes
    from workbench.locate.pipeline import add_companions

    kset = extract_keyframes(cut_clip.video)
    shots = {s.index: s for s in kset.shots}
    kf = kset.keyframes[0]
    shot = shots[kf.shot_index]
    out = add_companions(cut_clip.video, [kf], kset, 3, 0.3)
    step = max(1, round(0.3 * kset.video.fps))
    expected = [d for d in (0, step, -step)
                if shot.start_frame <= kf.frame_index + d < shot.end_frame]
    assert len(expected) >= 2, "keyframe too close to both ends of its shot for this test"
    assert sorted(k.frame_index - kf.frame_index for k in out) == sorted(expected)
    assert len({k.id for k in out}) == len(out)
    for k in out:
        assert k.shot_index == kf.shot_index
        assert np.array_equal(k.overlay_mask, kf.overlay_mask)
    # never more than asked for
    assert add_companions(cut_clip.video, [kf], kset, 1, 0.3) == [kf]


@pytest.mark.slow
def test_locate_reuses_a_saved_keyframes_output_of_the_same_video(
    demo_data: Path, located, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from workbench.locate import pipeline

    _, out, _ = located
    video = demo_data / "strike.mp4"
    kdir = tmp_path / "kf"
    assert main(["-q", "keyframes", str(video), "--out", str(kdir)]) == 0

    def no_extraction(*args: object, **kwargs: object) -> None:
        raise AssertionError("locate --keyframes extracted keyframes again")

    monkeypatch.setattr(pipeline, "extract_keyframes", no_extraction)
    out2 = tmp_path / "out"
    assert main(["-q", "locate", str(video), "--tiles", str(demo_data / "tiles"), "--out",
                 str(out2), "--target", "300,170", "--keyframes", str(kdir)]) == 0
    fresh = json.loads((out / "locate.json").read_text())
    reused = json.loads((out2 / "locate.json").read_text())
    # the same result as extracting the keyframes in the run itself
    assert reused["video"] == fresh["video"]
    assert reused["verdict"] == fresh["verdict"] == "located"
    assert [(k["id"], k["frame_index"], k["sha256"]) for k in reused["keyframes"]] == \
        [(k["id"], k["frame_index"], k["sha256"]) for k in fresh["keyframes"]]
    # the same places (MAGSAC's random state differs between runs in one process, so the
    # tie points may differ by a few; separate processes give identical files)
    def places(doc: dict) -> list[dict]:
        return sorted(doc["candidates"], key=lambda c: (c["keyframe_id"], c["tile"]))

    rc_, fc = places(reused), places(fresh)
    assert [(c["keyframe_id"], c["tile"]) for c in rc_] == [(c["keyframe_id"], c["tile"])
                                                           for c in fc]
    for r, f in zip(rc_, fc, strict=True):
        assert haversine_m(r["lon"], r["lat"], f["lon"], f["lat"]) < 0.5
        assert haversine_m(r["target"]["lon"], r["target"]["lat"],
                           f["target"]["lon"], f["target"]["lat"]) < 0.5
        assert abs(r["inliers"] - f["inliers"]) <= 0.1 * f["inliers"]
    capsys.readouterr()

    # keyframes of another video: one line, exit 2, nothing written
    other = tmp_path / "other.mp4"
    other.write_bytes(video.read_bytes() + b"\0")
    out3 = tmp_path / "out3"
    assert main(["locate", str(other), "--tiles", str(demo_data / "tiles"), "--out", str(out3),
                 "--keyframes", str(kdir)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "another video" in err[0] and str(other) in err[0], err
    assert not out3.exists()


@pytest.mark.parametrize("bad", [float("nan"), -1.0, float("inf"), {"town.tif": float("nan")},
                                 "3", True])
def test_an_unusable_imagery_accuracy_is_a_usage_error(bad: object) -> None:
    from workbench.errors import UsageError
    from workbench.locate import LocateConfig

    with pytest.raises(UsageError, match="imagery accuracy"):
        LocateConfig(imagery_accuracy_m=bad)  # type: ignore[arg-type]
    assert LocateConfig(imagery_accuracy_m={"town.tif": 3}).imagery_accuracy_m == {"town.tif": 3}
