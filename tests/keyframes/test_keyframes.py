"""workbench.keyframes: shots, sub-shots, rejection, overlay masks, determinism, files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from ingest_clips import ClipTruth, ShotSpec, make_clip
from runshare import once_per_run

from workbench.errors import Cancelled, KeyframeError, OutputError
from workbench.keyframes import (
    KeyframeConfig,
    KeyframeSet,
    extract_keyframes,
    load_keyframes,
    make_keyframe,
    save_keyframes,
)
from workbench.keyframes.store import SCHEMA
from workbench.video import Frame


@pytest.fixture(scope="session")
def hud_clip(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ClipTruth]:
    """1 s title, pan, zoom x3 (sub-shots), pan + fade through black, pan; HUD; 480x270
    (once per test run)."""

    def build(folder: Path) -> tuple[Path, ClipTruth]:
        path = folder / "hud.mp4"
        truth = make_clip(path, [ShotSpec(3, 1, "pan"), ShotSpec(3, 2, "zoom"),
                                 ShotSpec(2, 3, "pan", speed=-60), ShotSpec(2, 4, "pan")],
                          title_s=1.0, fade_after=2)
        return path, truth

    return once_per_run(tmp_path_factory, "hud_clip", build)


@pytest.fixture(scope="session")
def hud_kset(hud_clip: tuple[Path, ClipTruth], tmp_path_factory: pytest.TempPathFactory
             ) -> KeyframeSet:
    return once_per_run(tmp_path_factory, "hud_kset", lambda _: extract_keyframes(
        hud_clip[0], KeyframeConfig(max_keyframes=None)))


def _shot_of(truth_shots: list[tuple[int, int]], index: int) -> int:
    return next((i for i, (a, b) in enumerate(truth_shots) if a <= index < b), -1)


def test_every_shot_covered_and_cuts_found(hud_kset: KeyframeSet,
                                           hud_clip: tuple[Path, ClipTruth]) -> None:
    truth = hud_clip[1]
    covered = {_shot_of(truth.shots, k.frame_index) for k in hud_kset.keyframes}
    assert covered >= set(range(len(truth.shots)))
    starts = [s.start_frame for s in hud_kset.shots]
    for a, _b in truth.shots[:3]:  # hard cuts (shot 3 starts with a fade-in)
        assert any(abs(a - s) <= 1 for s in starts), (a, starts)
    # the fade through black ends one shot and starts another around the black run
    assert any(truth.shots[2][1] - 12 <= s <= truth.shots[3][0] + 12 for s in starts)


def test_title_card_and_black_frames_rejected(hud_kset: KeyframeSet,
                                              hud_clip: tuple[Path, ClipTruth]) -> None:
    truth = hud_clip[1]
    assert truth.title is not None
    for k in hud_kset.keyframes:
        assert not truth.title[0] <= k.frame_index < truth.title[1]
        assert _shot_of(truth.shots, k.frame_index) >= 0  # never in the black gap
        assert float(k.image.mean()) > 40
    assert hud_kset.stats["frame_kinds"]["text"] + hud_kset.stats["frame_kinds"]["black"] >= 25
    assert hud_kset.shots[0].kind == "title"
    assert any(s.boundary == "fade" for s in hud_kset.shots)


def test_zoom_is_split_into_sub_shots_at_several_zoom_levels(hud_kset: KeyframeSet,
                                                             hud_clip: tuple[Path, ClipTruth]
                                                             ) -> None:
    truth = hud_clip[1]
    zoom_kfs = [k for k in hud_kset.keyframes if _shot_of(truth.shots, k.frame_index) == 1]
    assert len(zoom_kfs) >= 2
    zoom_shot = next(s for s in hud_kset.shots if s.start_frame == truth.shots[1][0])
    assert any(sub.reason == "zoom" for sub in zoom_shot.subshots)
    # pan shots that do not move far stay one sub-shot
    assert len(hud_kset.shots[1].subshots) == 1


def test_hud_mask_covers_hud_and_little_scene(hud_kset: KeyframeSet,
                                              hud_clip: tuple[Path, ClipTruth]) -> None:
    hud = hud_clip[1].hud
    assert hud is not None
    for k in hud_kset.keyframes:
        m = k.overlay_mask > 0
        assert k.overlay_mask.shape == k.image.shape[:2]
        assert (m & hud).sum() / hud.sum() >= 0.9, k.id
        assert (m & ~hud).sum() / (~hud).sum() < 0.05, k.id


def test_caps_and_near_duplicates(hud_clip: tuple[Path, ClipTruth], tmp_path: Path) -> None:
    capped = extract_keyframes(hud_clip[0], KeyframeConfig(max_keyframes=2))
    assert len(capped.keyframes) == 2
    assert capped.keyframes[0].frame_index < capped.keyframes[1].frame_index
    # a clip showing the same static view twice, split by a cut to a different scene
    clip = tmp_path / "dup.mp4"
    make_clip(clip, [ShotSpec(1, 7, "static"), ShotSpec(1, 8, "static"),
                     ShotSpec(1, 7, "static")], hud=False, size=(320, 180))
    kset = extract_keyframes(clip, KeyframeConfig(max_keyframes=None))
    assert len(kset.shots) == 3
    assert len(kset.keyframes) == 2  # the repeated view is a near-duplicate


def test_cross_dissolve_is_a_shot_boundary(tmp_path: Path) -> None:
    clip = tmp_path / "dissolve.mp4"
    truth = make_clip(clip, [ShotSpec(2, 1, "pan"), ShotSpec(2, 2, "zoom"),
                             ShotSpec(2, 3, "pan")], dissolve_after=0, size=(320, 180))
    kset = extract_keyframes(clip, KeyframeConfig(max_keyframes=None))
    centre = truth.shots[0][1] - 8  # the dissolve spans the last 15 frames of shot 0
    assert any(s.boundary == "dissolve" and abs(s.start_frame - centre) <= 10
               for s in kset.shots), [(s.start_frame, s.boundary) for s in kset.shots]
    for a, b in truth.shots:
        assert any(a <= k.frame_index < b for k in kset.keyframes)


def test_low_contrast_grey_cuts(tmp_path: Path) -> None:
    clip = tmp_path / "grey.mp4"
    truth = make_clip(clip, [ShotSpec(2, 1, "pan"), ShotSpec(2, 2, "zoom"),
                             ShotSpec(2, 3, "pan")], grey=True, size=(320, 180))
    kset = extract_keyframes(clip, KeyframeConfig(max_keyframes=None))
    starts = [s.start_frame for s in kset.shots]
    assert len(starts) == 3
    for a, _b in truth.shots[1:]:
        assert any(abs(a - s) <= 1 for s in starts), (a, starts)


def test_deterministic_and_round_trip(hud_clip: tuple[Path, ClipTruth], hud_kset: KeyframeSet,
                                      tmp_path: Path) -> None:
    again = extract_keyframes(hud_clip[0], KeyframeConfig(max_keyframes=None))
    assert [k.sha256 for k in again.keyframes] == [k.sha256 for k in hud_kset.keyframes]
    assert all(np.array_equal(a.overlay_mask, b.overlay_mask)
               for a, b in zip(again.keyframes, hud_kset.keyframes, strict=True))
    out = tmp_path / "kf"
    jpath = save_keyframes(hud_kset, out)
    doc: dict[str, Any] = json.loads(jpath.read_text())
    assert doc["schema"] == SCHEMA == "workbench.keyframes/1"
    assert doc["video"]["sha256"] == hud_kset.video.sha256
    first = doc["keyframes"][0]
    assert {"id", "frame_index", "time_s", "sha256", "sharpness", "shot_index", "image",
            "mask"} <= set(first)
    assert (out / first["image"]).is_file() and (out / first["mask"]).is_file()
    loaded = load_keyframes(out)
    assert [k.sha256 for k in loaded.keyframes] == [k.sha256 for k in hud_kset.keyframes]
    assert np.array_equal(loaded.keyframes[0].image, hud_kset.keyframes[0].image)
    assert loaded.keyframes[0].time_s == pytest.approx(hud_kset.keyframes[0].time_s)
    # tampering is detected
    img = cv2.imread(str(out / first["image"]))
    img[0, 0] = 255 - img[0, 0]
    cv2.imwrite(str(out / first["image"]), img)
    with pytest.raises(KeyframeError, match="SHA-256"):
        load_keyframes(out)


def test_save_refuses_a_foreign_folder(hud_kset: KeyframeSet, tmp_path: Path) -> None:
    (tmp_path / "precious.txt").write_text("keep me")
    with pytest.raises(OutputError):
        save_keyframes(hud_kset, tmp_path)
    assert (tmp_path / "precious.txt").read_text() == "keep me"


def test_progress_and_cancel(hud_clip: tuple[Path, ClipTruth]) -> None:
    seen: list[tuple[str, float]] = []
    extract_keyframes(hud_clip[0], KeyframeConfig(max_keyframes=3),
                      progress=lambda stage, f: seen.append((stage, f)))
    stages = {s for s, _ in seen}
    assert {"hashing", "decoding", "selecting keyframes"} <= stages
    assert all(-1.0 <= f <= 1.0 for _, f in seen)

    class StopAfter:
        def __init__(self) -> None:
            self.calls = 0

        def is_set(self) -> bool:
            self.calls += 1
            return self.calls > 3

    with pytest.raises(Cancelled):
        extract_keyframes(hud_clip[0], cancel=StopAfter())


def test_mask_for_a_manual_keyframe(hud_kset: KeyframeSet,
                                    hud_clip: tuple[Path, ClipTruth]) -> None:
    from workbench.video.reader import read_frame

    kf = hud_kset.keyframes[-1]
    frame = read_frame(hud_clip[0], kf.frame_index - 3)
    mask = hud_kset.mask_for_frame(frame.index)
    assert mask is not None and np.array_equal(mask, kf.overlay_mask)
    manual = make_keyframe(frame, mask, id="m0001", shot_index=kf.shot_index)
    assert manual.manual and manual.frame_index == kf.frame_index - 3
    assert manual.time_s == pytest.approx(kf.time_s - 3 / 25, abs=1e-6)


def test_make_keyframe_manual() -> None:
    img = np.full((40, 60, 3), 128, np.uint8)
    kf = make_keyframe(Frame(5, 0.2, img), None, id="m0001")
    assert kf.manual and kf.overlay_mask.shape == (40, 60) and not kf.overlay_mask.any()
    assert len(kf.sha256) == 64
    with pytest.raises(KeyframeError):
        make_keyframe(Frame(5, 0.2, img), np.zeros((10, 10), np.uint8), id="m0002")


def test_generator_clip_acceptance(cut_clip: Any) -> None:
    """fixtures.footage cut clip: every footage shot covered, title card rejected, HUD masked."""
    truth = cut_clip.truth
    kset = extract_keyframes(cut_clip.video, KeyframeConfig(max_keyframes=None))
    footage = truth.footage_shots()
    for shot in footage:
        assert any(shot.start_frame <= k.frame_index < shot.end_frame for k in kset.keyframes)
    card = truth.title_card
    assert card is not None
    assert all(not card["start_frame"] <= k.frame_index < card["end_frame"]
               for k in kset.keyframes)
    starts = {s.start_frame for s in kset.shots}
    assert all(any(abs(s - c) <= 1 for s in starts) for c in truth.cut_frames())
    assert kset.shots[0].kind == "title" and kset.shots[0].end_frame == card["end_frame"]
    hud_path = truth.hud_mask_path(cut_clip.truth_path)
    hud = cv2.imread(str(hud_path), cv2.IMREAD_GRAYSCALE) > 0
    scene_fractions = []
    for k in kset.keyframes:
        m = k.overlay_mask > 0
        assert (m & hud).sum() / hud.sum() >= 0.9, k.id
        scene_fractions.append((m & ~hud).sum() / (~hud).sum())
    assert max(scene_fractions) < 0.05


@pytest.fixture(scope="session")
def thermal_fade_clip(tmp_path_factory: pytest.TempPathFactory, town_tif: Path) -> Any:
    """The cut clip's shots at 480x270, white-hot thermal, shot 2 fading in through black
    (once per test run)."""
    from dataclasses import replace

    from workbench_fixtures.footage import render_footage
    from workbench_fixtures.testclips import cut_clip_spec

    def build(out: Path) -> Any:
        spec = cut_clip_spec()
        shots = [replace(s, transition="fade") if i == 1 else s for i, s in enumerate(spec.shots)]
        spec = replace(spec, shots=shots, thermal="whitehot", width=480, height=270)
        video, truth_path = out / "fade.mp4", out / "fade.truth.json"
        truth = render_footage(town_tif, video, spec, truth_path=truth_path)
        return video, truth_path, truth

    return once_per_run(tmp_path_factory, "thermal_fade_clip", build)


def test_generator_thermal_fade(thermal_fade_clip: Any) -> None:
    video, truth_path, truth = thermal_fade_clip
    kset = extract_keyframes(video, KeyframeConfig(max_keyframes=None))
    fade_shot = next(s for s in truth.footage_shots() if s.transition == "fade")
    # a boundary of kind "fade" falls inside the fade-out/fade-in around the shot start
    assert any(s.boundary == "fade" and abs(s.start_frame - fade_shot.start_frame) <= 16
               for s in kset.shots)
    for shot in truth.footage_shots():
        assert any(shot.start_frame <= k.frame_index < shot.end_frame for k in kset.keyframes)
    hud = cv2.imread(str(truth.hud_mask_path(truth_path)), cv2.IMREAD_GRAYSCALE) > 0
    for k in kset.keyframes:
        m = k.overlay_mask > 0
        assert (m & hud).sum() / hud.sum() >= 0.9, k.id
        assert (m & ~hud).sum() / (~hud).sum() < 0.05, k.id


def test_opencv_threads_off_during_the_pass_and_restored(hud_clip: tuple[Path, ClipTruth]
                                                         ) -> None:
    seen: list[int] = []
    before = cv2.getNumThreads()
    cv2.setNumThreads(3)
    try:
        extract_keyframes(hud_clip[0], KeyframeConfig(max_keyframes=2),
                          progress=lambda stage, frac: seen.append(cv2.getNumThreads()))
        assert seen and set(seen) == {1}
        assert cv2.getNumThreads() == 3
    finally:
        cv2.setNumThreads(before)
