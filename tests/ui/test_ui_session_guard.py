"""The session refuses a manual keyframe taken from footage other than the case's."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

pytest.importorskip("PyQt6")

from workbench_ui.session import Session

from workbench.errors import UsageError


class _FakeCase:
    def __init__(self, sha: str) -> None:
        self.video = SimpleNamespace(sha256=sha)
        self.added: list[int] = []

    def add_keyframe(self, frame_index, time_s, image, mask):
        self.added.append(frame_index)
        return SimpleNamespace(id="m0001", frame_index=frame_index, time_s=time_s,
                               sharpness=1.0)


def test_manual_keyframe_from_other_footage_is_refused(qapp, tmp_path: Path) -> None:
    s = Session(autosave_dir=tmp_path / "autosave")
    s.case = _FakeCase("a" * 64)
    img = np.zeros((8, 8, 3), np.uint8)
    s.set_footage(tmp_path / "other.mp4", SimpleNamespace(sha256="b" * 64))
    with pytest.raises(UsageError, match="not this case's footage"):
        s.add_keyframe(3, 0.1, img, None)
    assert s.case.added == []
    s.set_footage(tmp_path / "same.mp4", SimpleNamespace(sha256="a" * 64))
    assert s.add_keyframe(3, 0.1, img, None).id == "m0001"
    assert s.case.added == [3]


def test_guard_holds_for_footage_opened_as_the_app_does(qapp, tmp_path: Path) -> None:
    """The footage info the app's opener hands the session carries the SHA-256 the guard
    compares (a probe without the hash left the guard silently open)."""
    from test_ui_support import make_case_data, make_tiny_video
    from workbench_ui.jobs import probe_footage

    data = make_case_data(tmp_path / "data")
    other = make_tiny_video(tmp_path / "other.mp4", frames=14)
    s = Session(autosave_dir=tmp_path / "autosave")
    s.open_case(data["case"])
    img = np.zeros((8, 8, 3), np.uint8)
    s.set_footage(other, probe_footage(other))
    with pytest.raises(UsageError, match="not this case's footage"):
        s.add_keyframe(3, 0.1, img, None)
    s.set_footage(data["video"], probe_footage(data["video"]))
    assert s.add_keyframe(3, 0.3, img, None).manual
    s.close_case()


def test_opening_a_case_never_pairs_its_footage_with_another_video_info(qapp,
                                                                        tmp_path: Path) -> None:
    """After a case is opened, ``video_info`` describes ``video_path`` or is None (to be
    probed again), not the footage that was open before."""
    from test_ui_support import make_case_data, make_tiny_video
    from workbench_ui.jobs import probe_footage

    data = make_case_data(tmp_path / "data")
    other = make_tiny_video(tmp_path / "other.mp4", frames=14)
    s = Session(autosave_dir=tmp_path / "autosave")
    s.set_footage(other, probe_footage(other))
    s.open_case(data["case"])
    assert s.video_path == data["video"]
    assert s.video_info is None or s.video_info.path == s.video_path
    s.close_case()
