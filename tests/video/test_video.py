"""workbench.video: hashing, probing, exact timestamps (VFR), seeking, bad input."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import numpy as np
import pytest
from ingest_clips import encode

from workbench.errors import Cancelled, UsageError, VideoOpenError
from workbench.hashing import sha256_file
from workbench.video.reader import iter_frames, probe, read_frame

PTS_MS = [0, 40, 140, 160, 193, 293, 343, 363, 463, 480] * 1


def _frames(n: int, w: int = 160, h: int = 120) -> list[np.ndarray]:
    rng = np.random.default_rng(1)
    out = []
    for i in range(n):
        img = (rng.random((h, w, 3)) * 255).astype(np.uint8)
        img[: h // 4, : w // 4] = (i * 20) % 256  # a block whose grey level encodes i
        out.append(img)
    return out


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("video")
    pts = []
    t = 0
    for k in range(30):  # variable steps 20..100 ms
        pts.append(t)
        t += (20, 33, 100, 50)[k % 4]
    out = {}
    for ext in ("mkv", "mp4"):
        out[f"vfr.{ext}"] = d / f"vfr.{ext}"
        encode(out[f"vfr.{ext}"], _frames(30), 25, pts_ms=pts)
    out["cfr.mp4"] = d / "cfr.mp4"
    encode(out["cfr.mp4"], _frames(20), 25)
    out["pts"] = d / "pts.txt"
    out["pts"].write_text(" ".join(map(str, pts)))
    return out


def test_sha256_streams_and_matches_hashlib(tmp_path: Path) -> None:
    data = np.random.default_rng(0).bytes(3_000_001)
    f = tmp_path / "blob.bin"
    f.write_bytes(data)
    calls: list[float] = []
    digest = sha256_file(f, chunk_size=1 << 16, progress=lambda s, x: calls.append(x))
    assert digest == (hashlib.sha256(data).hexdigest(), len(data))
    assert len(calls) > 10 and calls[-1] == pytest.approx(1.0)
    ev = threading.Event()
    ev.set()
    with pytest.raises(Cancelled):
        sha256_file(f, cancel=ev)


def test_probe_vfr_metadata(clips: dict[str, Path]) -> None:
    for name in ("vfr.mkv", "vfr.mp4"):
        info = probe(clips[name])
        assert info.frame_count == 30
        assert info.variable_frame_rate is True
        assert (info.width, info.height) == (160, 120)
        assert info.codec == "h264"
        assert info.sha256 == hashlib.sha256(clips[name].read_bytes()).hexdigest()
        assert info.to_ref().frame_count == 30
    cfr = probe(clips["cfr.mp4"])
    assert cfr.variable_frame_rate is False
    assert cfr.fps == pytest.approx(25.0, rel=1e-3)
    assert cfr.frame_count == 20
    assert cfr.duration_s == pytest.approx(0.8, abs=1e-3)


def test_exact_pts_on_vfr_and_seek(clips: dict[str, Path]) -> None:
    expected = [int(v) / 1000 for v in clips["pts"].read_text().split()]
    for name in ("vfr.mkv", "vfr.mp4"):
        frames = list(iter_frames(clips[name], max_width=80))
        assert [f.index for f in frames] == list(range(30))
        assert [round(f.pts_s, 4) for f in frames] == pytest.approx(expected, abs=1e-4)
        assert frames[0].image.shape == (60, 80, 3) and frames[0].image.dtype == np.uint8
        for idx in (0, 7, 22, 29):
            fr = read_frame(clips[name], idx)
            assert fr.index == idx
            assert fr.pts_s == pytest.approx(expected[idx], abs=1e-4)
            # the block encoding the frame number proves it is the right picture
            assert abs(int(fr.image[5:20, 5:30].mean()) - (idx * 20) % 256) < 12
        with pytest.raises(UsageError):
            read_frame(clips[name], 30)


def test_rotation_from_display_matrix(tmp_path: Path) -> None:
    import av

    path = tmp_path / "rot.mp4"
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=25)
        s.width, s.height, s.pix_fmt = 160, 96, "yuv420p"
        s.set_display_rotation(90)  # counter-clockwise, i.e. 270 clockwise for display
        for img in _frames(3, 160, 96):
            for pkt in s.encode(av.VideoFrame.from_ndarray(img, format="bgr24")):
                c.mux(pkt)
        for pkt in s.encode():
            c.mux(pkt)
    info = probe(path, compute_hash=False)
    assert info.rotation == 270
    assert (info.width, info.height) == (96, 160)
    assert next(iter_frames(path)).image.shape == (160, 96, 3)


def test_audio_only_file_has_no_video_stream(tmp_path: Path) -> None:
    import wave

    path = tmp_path / "sound.mp4"  # the extension lies: FFmpeg probes the content
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x00\x01" * 8000)
    with pytest.raises(VideoOpenError, match="no video stream"):
        probe(path)


@pytest.mark.parametrize("kind", ["missing", "folder", "empty", "text", "truncated_mp4"])
def test_bad_inputs_raise_one_line_naming_the_file(
    tmp_path: Path, clips: dict[str, Path], kind: str
) -> None:
    path = tmp_path / "bad.mp4"
    if kind == "folder":
        path = tmp_path
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "text":
        path.write_text("not a video\n" * 50)
    elif kind == "truncated_mp4":
        data = clips["cfr.mp4"].read_bytes()
        path.write_bytes(data[: len(data) // 2])
    with pytest.raises(VideoOpenError) as err:
        probe(path)
    msg = str(err.value)
    assert "\n" not in msg and str(path) in msg


def test_truncated_mkv_yields_what_decodes_with_a_warning(
    tmp_path: Path, clips: dict[str, Path]
) -> None:
    data = clips["vfr.mkv"].read_bytes()
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(data[: len(data) // 2])
    warnings: list[str] = []
    frames = list(iter_frames(cut, warnings=warnings))
    assert 3 <= len(frames) < 30
    assert warnings and "cut.mkv" in warnings[0]
