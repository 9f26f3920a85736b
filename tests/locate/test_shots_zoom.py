"""locate.json minor 1 (per-shot results, radius by parts) without breaking 1.0 readers;
shots for hand-picked keyframes; a zoomed keyframe placed through a wider one."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import fields
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from workbench.geo import haversine_m
from workbench.imagery.catalog import TileCatalog
from workbench.keyframes import Keyframe, KeyframeSet, make_keyframe
from workbench.keyframes.model import Shot
from workbench.locate.assemble import (
    accuracy_for,
    assign_shots,
    finish_candidates,
    shots_of_result,
)
from workbench.locate.zoom import chain_zoomed
from workbench.match import match_keyframe
from workbench.match.model import MatchConfig
from workbench.rank import RankConfig
from workbench.rank.ranking import rank_shots
from workbench.results import (
    Candidate,
    KeyframeRef,
    LocateResult,
    Placement,
    ResultFormatError,
    ShotResult,
    TileRef,
    VideoRef,
)
from workbench.video.model import Frame
from workbench.video.reader import probe, read_frame

# the keys of the objects a 1.0 reader builds with ``Cls(**obj)`` (workbench 00d647f)
KEYS_1_0 = {
    "candidate": {"rank", "lat", "lon", "confidence", "uncertainty_m", "keyframe_id", "tile",
                  "inliers", "footprint", "homography", "keyframe_xy", "tile_xy",
                  "supporting_keyframes", "target", "scores"},
    "keyframe": {"id", "frame_index", "time_s", "sha256", "sharpness", "image", "mask"},
    "video": {"path", "sha256", "fps", "width", "height", "duration_s", "frame_count", "codec"},
    "tile": {"path", "sha256", "crs", "transform", "width", "height", "gsd_m", "footprint",
             "acquired", "attribution"},
}


def _reader_1_0(doc: dict[str, Any]) -> LocateResult:
    """The 1.0 reader (``LocateResult.from_json`` of workbench 00d647f), verbatim."""
    if doc.get("schema") != "workbench.locate/1":
        raise ResultFormatError(f"unknown locate schema {doc.get('schema')!r}")
    tiles = []
    for t in doc.get("tiles", []):
        t = dict(t)
        t["transform"] = tuple(float(v) for v in t["transform"])
        tiles.append(TileRef(**t))
    return LocateResult(
        verdict=doc["verdict"], video=VideoRef(**doc["video"]),
        keyframes=[KeyframeRef(**k) for k in doc["keyframes"]],
        candidates=[Candidate(**c) for c in doc["candidates"]], tiles=tiles,
        timing_s={str(k): float(v) for k, v in doc.get("timing_s", {}).items()},
        reason=str(doc.get("reason", "")), method=dict(doc.get("method", {})),
        warnings=[str(w) for w in doc.get("warnings", [])])


def _result() -> LocateResult:
    cand = Candidate(rank=1, lat=0.35, lon=32.58, confidence=0.9, uncertainty_m=2.0,
                     keyframe_id="kf0001", tile="/t.tif", inliers=40,
                     footprint=[[32.58, 0.35]] * 5, homography=np.eye(3).tolist(),
                     target={"x": 1.0, "y": 2.0, "lon": 32.58, "lat": 0.35,
                             "uncertainty_m": 2.0, "uncertainty_match_m": 0.5})
    place = Placement("kf0001", 32.58, 0.35, "/t.tif", np.eye(3).tolist(),
                      {"radius_m": 2.0, "radius_2sigma_m": 4.0,
                       "components": {"match_m": 0.5, "extrapolation_m": 0.0,
                                     "imagery_m": 1.9}, "imagery_source": "analyst"})
    return LocateResult(
        verdict="located", video=VideoRef("v.mp4", "ab", 25.0, 640, 360, 4.0),
        keyframes=[KeyframeRef("kf0001", 3, 0.12, "cd"), KeyframeRef("kf0002", 60, 2.4, "ef")],
        candidates=[cand],
        tiles=[TileRef("/t.tif", "", "EPSG:32636", (0.5, 0, 0, 0, -0.5, 0), 10, 10, 0.5, [])],
        shots=[ShotResult(0, ["kf0001"], "located", 1, 0.9, "ok", [place]),
               ShotResult(1, ["kf0002"], "not_located", None)],
        uncertainty=[{"rank": 1, "radius_m": 2.0}])


def test_minor_1_adds_only_top_level_keys_so_1_0_readers_keep_working() -> None:
    doc = json.loads(json.dumps(_result().to_json()))
    assert doc["schema"] == "workbench.locate/1" and doc["schema_minor"] == 1
    assert set(doc["candidates"][0]) == KEYS_1_0["candidate"]
    assert all(set(k) == KEYS_1_0["keyframe"] for k in doc["keyframes"])
    assert set(doc["video"]) == KEYS_1_0["video"]
    assert set(doc["tiles"][0]) == KEYS_1_0["tile"]
    old = _reader_1_0(doc)  # does not raise, and sees the same candidates
    assert old.candidates[0].lon == 32.58 and old.verdict == "located"
    new = LocateResult.from_json(doc)
    assert new.shots[1].candidate_rank is None and new.shots[0].placements[0].via is None
    assert new.shot_of_keyframe() == {"kf0001": 0, "kf0002": 1}
    assert new.uncertainty_of(1) == {"rank": 1, "radius_m": 2.0}
    assert new.to_json() == doc
    from workbench.cli.locate_cmd import summary

    text = summary(new)
    assert "shot 0 (1 keyframe(s)): place #1" in text
    assert "shot 1 (1 keyframe(s)): not located" in text


def test_reader_takes_minor_0_and_later_minors() -> None:
    doc = _result().to_json()
    minor0 = {k: v for k, v in doc.items() if k not in ("shots", "uncertainty", "schema_minor")}
    r0 = LocateResult.from_json(minor0)
    assert r0.shots == [] and r0.schema_minor == 0 and r0.shot_of_keyframe() == {}
    later = json.loads(json.dumps(doc))
    later["schema_minor"] = 7
    later["something_new"] = {"x": 1}
    later["candidates"][0]["new_field"] = 3
    later["shots"][0]["new_field"] = 3
    later["shots"][0]["placements"][0]["new_field"] = 3
    r7 = LocateResult.from_json(later)
    assert r7.schema_minor == 7 and r7.candidates[0].rank == 1 and len(r7.shots) == 2
    bad = json.loads(json.dumps(doc))
    bad["shots"][0]["verdict"] = "maybe"
    with pytest.raises(ResultFormatError, match="shot verdict"):
        LocateResult.from_json(bad)
    bad["schema"] = "workbench.locate/2"
    with pytest.raises(ResultFormatError, match="schema"):
        LocateResult.from_json(bad)
    # every field of the minor-1 objects is written
    assert {f.name for f in fields(ShotResult)} == set(doc["shots"][0])


def _kf(id: str, index: int, shot: int, fps: float = 10.0) -> Keyframe:
    img = np.zeros((36, 64, 3), np.uint8)
    return make_keyframe(Frame(index=index, pts_s=index / fps, image=img), None, id=id,
                         shot_index=shot, manual=shot < 0)


def test_hand_picked_keyframes_get_the_shot_of_their_frame_or_the_nearest() -> None:
    a, b, m = _kf("kf0001", 10, 0), _kf("kf0002", 80, 1), _kf("m0001", 70, -1)
    out = assign_shots([a, b, m], None)
    assert [k.shot_index for k in out] == [0, 1, 1]  # nearest in time: kf0002
    assert m.shot_index == -1  # the input is not modified
    shots = [Shot(index=0, start_frame=0, end_frame=75, start_s=0.0, end_s=7.5,
                  boundary="start"),
             Shot(index=1, start_frame=75, end_frame=100, start_s=7.5, end_s=10.0,
                  boundary="cut")]
    kset = KeyframeSet(video=None, keyframes=[a, b], shots=shots)  # type: ignore[arg-type]
    assert assign_shots([m], kset)[0].shot_index == 0  # frame 70 lies in shot 0
    assert assign_shots([m], None)[0].shot_index == -1  # nothing known: stays unknown
    # a case locating again: the shots its last result recorded, with their frame ranges
    res = _result()
    res.shots[0].start_frame, res.shots[0].end_frame = 0, 75
    res.shots[1].start_frame, res.shots[1].end_frame = 75, 100
    back = LocateResult.from_json(json.loads(json.dumps(res.to_json())))
    recorded = shots_of_result(back)
    assert [(s.index, s.start_frame, s.end_frame) for s in recorded] == [(0, 0, 75),
                                                                        (1, 75, 100)]
    kset = KeyframeSet(video=None, keyframes=[], shots=recorded)  # type: ignore[arg-type]
    late = _kf("m0002", 76, -1)
    assert [k.shot_index for k in assign_shots([m, late], kset)] == [0, 1]


def test_imagery_accuracy_is_added_in_quadrature_and_named() -> None:
    assert accuracy_for("/x/a.tif", {"a.tif": 2.0}) == 2.0
    assert accuracy_for("/x/a.tif", {"/x/a.tif": 1.0, "a.tif": 2.0}) == 1.0
    assert accuracy_for("/x/b.tif", {"a.tif": 2.0}) is None
    assert accuracy_for("/x/a.tif", float("nan")) is None
    c = _result().candidates[0]
    c.scores = {"uncertainty_match_m": 3.0, "uncertainty_extrapolation_m": 1.0}
    section = finish_candidates([c], [], None, 3.0, "analyst")
    assert c.uncertainty_m == pytest.approx(5.0)  # hypot(3 + 1, 3)
    assert section[0]["rank"] == 1 and section[0]["imagery_source"] == "analyst"
    assert section[0]["components"] == {"match_m": 3.0, "extrapolation_m": 1.0,
                                         "imagery_m": 3.0}
    c.scores = {"uncertainty_match_m": 3.0, "uncertainty_extrapolation_m": 1.0}
    section = finish_candidates([c], [], None, None, "analyst")
    assert c.uncertainty_m == pytest.approx(4.0)
    assert section[0]["components"]["imagery_m"] is None


@pytest.fixture(scope="module")
def zoom_clip(town_tif: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """4 s, 320x240, 10 fps: 0.5 m/px (the town's own resolution), then zoomed in 10x."""
    from workbench_fixtures.footage import render_footage
    from workbench_fixtures.spec import FootageSpec, ShotSpec
    from workbench_fixtures.truth import Truth

    out = tmp_path_factory.mktemp("zoom")
    spec = FootageSpec(shots=[ShotSpec(duration_s=4.0, heading_deg=30, depression_deg=70,
                                       slant_range_m=400, gsd_m=(0.5, 0.5, 0.05, 0.05))],
                       width=320, height=240, fps=10.0, crf=23, seed=3)
    video = out / "zoom.mp4"
    render_footage(town_tif, video, spec, truth_path=out / "zoom.truth.json")
    return video, Truth.load(out / "zoom.truth.json")


@pytest.mark.slow
def test_a_zoomed_keyframe_is_placed_through_the_wide_one(zoom_clip: Any, town_tif: Path
                                                          ) -> None:
    video, truth = zoom_clip
    n = probe(video, compute_hash=False).frame_count
    wide = make_keyframe(read_frame(video, 2), None, id="kf0001", shot_index=0, manual=False)
    zoom = make_keyframe(read_frame(video, n - 2), None, id="kf0002", shot_index=0,
                         manual=False)
    assert truth.frames[n - 2].gsd_m < 0.06 < 0.4 < truth.frames[2].gsd_m
    catalog = TileCatalog.from_paths([town_tif])
    cfg = MatchConfig(matcher="sift")
    gates = RankConfig().gates()
    hyps = match_keyframe(wide, catalog, cfg, gates=gates)
    chained = chain_zoomed(video, [wide, zoom], hyps, gates)
    assert chained and all(h.keyframe_id == "kf0002" and h.via == "kf0001" for h in chained)
    r = rank_shots(hyps + chained, [wide, zoom])
    assert r.verdict == "located"
    place = {p.keyframe: p for p in r.shots[0].placements}["kf0002"]
    assert place.via == "kf0001" and place.via_homography is not None
    lon, lat = truth.frame_px_to_lonlat(n - 2, np.array([[159.5, 119.5]]))[0]
    err = haversine_m(place.lon, place.lat, float(lon), float(lat))
    radius = place.uncertainty["radius_m"]
    assert err < 3.0, err  # the frame is 16 m wide: placed, not just "somewhere near"
    assert err <= place.uncertainty["radius_2sigma_m"], (err, radius)
    assert radius < 5.0
    # without the wide keyframe nothing places the zoomed one
    assert chain_zoomed(video, [zoom], [], gates) == []


def test_deep_zoom_levels_shrink_the_keyframe_further() -> None:
    from workbench.match.sift import keyframe_variants

    rng = np.random.default_rng(0)
    img = cv2.resize(rng.integers(0, 255, (45, 80, 3), dtype=np.uint8), (640, 360),
                     interpolation=cv2.INTER_CUBIC)
    cfg = MatchConfig(polarities=("normal",), stretches=(1.0,))
    usual = keyframe_variants(img, None, cfg)
    assert sorted(v.level for v in usual) == sorted(cfg.frame_levels)
    deep = keyframe_variants(img, None, cfg, levels=cfg.zoom_levels,
                             min_side=cfg.zoom_min_side)
    assert deep and {v.level for v in deep} <= set(cfg.zoom_levels)
    assert min(v.level for v in deep) < 0.25 / 2  # 8x and more below full resolution
    for v in deep:  # keypoints in the keyframe's full-resolution grid
        assert float(v.feats.xy[:, 0].max()) > 320 and float(v.feats.xy[:, 1].max()) > 180
    # below the deep pass's smallest side nothing is described
    assert keyframe_variants(img, None, cfg, levels=(0.05,), min_side=32) == []


@pytest.mark.slow
def test_locating_again_with_a_hand_picked_keyframe_keeps_the_shots_apart(
        demo_data: Path, demo_locate: tuple[int, Path, str]) -> None:
    """The desktop app's "locate again" (``workbench_ui.jobs.relocate_job``): the case's
    keyframes, shots as its last result recorded them (the run's demo locate), plus one
    picked by hand."""
    from workbench.keyframes import load_keyframes
    from workbench.locate import LocateConfig, locate
    from workbench.locate.assemble import shots_of_result

    video = demo_data / "strike.mp4"
    tiles = [demo_data / "tiles" / "town.tif", demo_data / "tiles" / "other_town.tif"]
    rc, located, _ = demo_locate
    assert rc == 0
    first = LocateResult.from_json(json.loads((located / "locate.json").read_text()))
    assert first.verdict == "located"
    assert all(s.start_frame is not None for s in first.shots if s.shot >= 0)
    saved = load_keyframes(located / "keyframes")
    last_shot = max(first.shots, key=lambda s: s.shot)
    assert last_shot.end_frame is not None and last_shot.start_frame is not None
    idx = (last_shot.start_frame + last_shot.end_frame) // 2
    picked = make_keyframe(read_frame(video, idx), saved.keyframes[-1].overlay_mask,
                           id="m0001", manual=True)
    kfs = [dataclasses.replace(k, shot_index=-1) for k in saved.keyframes] + [picked]
    kset = KeyframeSet(video=probe(video), keyframes=kfs, shots=shots_of_result(first))
    cfg = LocateConfig(match=MatchConfig(matcher="sift"))
    again = locate(video, tiles, config=cfg, keyframes=kset)
    assert again.verdict == "located", again.reason
    shot_of = again.shot_of_keyframe()
    assert shot_of["m0001"] == last_shot.shot
    before = first.shot_of_keyframe()
    common = set(shot_of) & set(before)
    assert len(common) >= 2 and all(shot_of[k] == before[k] for k in common)
