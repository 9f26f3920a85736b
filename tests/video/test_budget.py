"""Footage decoded within the run's memory budget, and one-line errors for any path."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np
import pytest

from workbench.budget import (
    frame_pixel_cap,
    parse_size,
    read_pixel_cap,
    set_memory_budget,
)
from workbench.cli import main
from workbench.video import iter_frames, read_frame


def _clip(path: Path, w: int, h: int, n: int = 5) -> Path:
    rng = np.random.default_rng(0)
    with av.open(str(path), "w") as out:
        st = out.add_stream("libx264", rate=25, options={"preset": "ultrafast"})
        st.width, st.height, st.pix_fmt = w, h, "yuv420p"
        for _ in range(n):
            img = rng.integers(0, 255, (h, w, 3), np.uint8)
            for pkt in st.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(pkt)
        for pkt in st.encode():
            out.mux(pkt)
    return path


@pytest.fixture
def budget() -> Iterator[None]:
    yield
    set_memory_budget(None)


def test_parse_size() -> None:
    assert parse_size("2G") == 2 << 30
    assert parse_size("1500M") == 1500 << 20
    assert parse_size("1.5GiB") == 3 << 29
    for bad in ("", "2X", "-1G", "100M", "nan"):
        with pytest.raises(ValueError):
            parse_size(bad)


def test_frames_decoded_within_budget(tmp_path: Path, budget: None) -> None:
    """On main every frame came out at full size (8192^2 footage drove locate past 10 GB)."""
    video = _clip(tmp_path / "big.mp4", 2560, 1440)
    full = next(iter(iter_frames(video)))
    assert full.image.shape[0] * full.image.shape[1] <= frame_pixel_cap()
    assert full.image.shape[:2] == (1080, 1920)  # the default budget: about 1080p
    set_memory_budget(parse_size("1G"))
    small = read_frame(video, 2)
    assert small.image.shape[0] * small.image.shape[1] <= frame_pixel_cap() < 1920 * 1080
    assert abs(small.image.shape[1] / small.image.shape[0] - 16 / 9) < 0.02
    assert read_pixel_cap() < 32_000_000


def test_small_footage_untouched(tmp_path: Path) -> None:
    video = _clip(tmp_path / "small.mp4", 320, 240, n=2)
    assert next(iter(iter_frames(video))).image.shape == (240, 320, 3)


def test_max_memory_option(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                           budget: None) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--max-memory", "lots", "info", "x.mp4"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "not a memory size" in err and err.count("\n") == 1
    video = _clip(tmp_path / "v.mp4", 320, 240, n=2)
    assert main(["--max-memory", "1G", "info", "--no-hash", str(video)]) == 0


def test_path_with_newline_is_one_line(tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    """A newline (or an escape sequence) in a file name made a two-line error on main."""
    bad = tmp_path / "evil\nworkbench: VERIFIED\x1b[2K.mp4"
    bad.write_bytes(b"not a video at all" * 10)
    assert main(["info", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "\x1b" not in err
    assert "evil\\nworkbench" in err
