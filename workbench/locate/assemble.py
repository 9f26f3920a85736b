"""From the ranking to the result's per-shot and uncertainty sections (``locate.json``
``schema_minor`` 1): shots for keyframes that have none, the reference imagery's stated
accuracy in every radius, the ``--target`` pixel on every candidate and placement.

Every pixel -> position goes through :mod:`workbench.position` (one uncertainty model).
Positions are WGS84 lon/lat; homographies keyframe px -> tile level-0 px.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

from workbench.errors import UsageError
from workbench.imagery.catalog import Tile
from workbench.keyframes import Keyframe, KeyframeSet
from workbench.keyframes.model import Shot
from workbench.locate.model import ImageryAccuracy
from workbench.match.model import MatchHypothesis
from workbench.position import Position, Uncertainty, candidate_pixel_position, pixel_position
from workbench.results import Candidate, LocateResult, ShotResult


def assign_shots(keyframes: Sequence[Keyframe], kset: KeyframeSet | None) -> list[Keyframe]:
    """``keyframes`` with a shot for each: a keyframe without one (``shot_index < 0``, e.g.
    picked by hand) gets the shot containing its frame (``kset.shots``), else the shot of the
    keyframe nearest in time that has one; with no shot known anywhere it stays ``-1``."""
    known = [k for k in keyframes if k.shot_index >= 0]
    if kset is not None:
        known += [k for k in kset.keyframes if k.shot_index >= 0]
    out = []
    for k in keyframes:
        if k.shot_index < 0:
            shot = kset.shot_of(k.frame_index) if kset is not None else None
            if shot is not None:
                k = dataclasses.replace(k, shot_index=shot.index)
            elif known:
                near = min(known, key=lambda o: abs(o.time_s - k.time_s))
                k = dataclasses.replace(k, shot_index=near.shot_index)
        out.append(k)
    return out


def shot_ranges(shots: list[ShotResult], kset: KeyframeSet | None) -> None:
    """Record each shot's frame range (``start_frame``/``end_frame``) from ``kset.shots``."""
    ranges = {s.index: (s.start_frame, s.end_frame) for s in (kset.shots if kset else [])}
    for s in shots:
        if s.shot in ranges:
            s.start_frame, s.end_frame = (int(v) for v in ranges[s.shot])


def shots_of_result(result: LocateResult) -> list[Shot]:
    """The shots a locate result recorded (``shots[]`` with a frame range), as the keyframe
    pass's :class:`~workbench.keyframes.model.Shot` objects: locating again with keyframes
    picked since (a case's) gives each the shot of its frame (:func:`assign_shots`)."""
    fps = result.video.fps if result.video.fps > 0 else 25.0
    return [Shot(index=s.shot, start_frame=s.start_frame, end_frame=s.end_frame,
                 start_s=s.start_frame / fps, end_s=s.end_frame / fps, boundary="recorded")
            for s in result.shots
            if s.shot >= 0 and s.start_frame is not None and s.end_frame is not None]


def accuracy_for(tile_path: str, imagery: ImageryAccuracy) -> float | None:
    """The stated accuracy of raster ``tile_path`` (``None``: not known)."""
    if imagery is None:
        return None
    if isinstance(imagery, int | float):
        v: float | None = float(imagery)
    else:
        v = imagery.get(tile_path, imagery.get(Path(tile_path).name))
    if v is None or not math.isfinite(v) or v < 0:
        return None
    return float(v)


def finish_candidates(
    cands: list[Candidate], tiles: Sequence[Tile], target_xy: tuple[float, float] | None,
    imagery: ImageryAccuracy, source: str,
) -> list[dict[str, object]]:
    """Put the imagery's accuracy into each candidate's ``uncertainty_m`` and the target
    pixel's position on each; return the ``uncertainty`` section (one entry per rank)."""
    by_path = {str(t.path): t for t in tiles}
    section: list[dict[str, object]] = []
    for c in cands:
        acc = accuracy_for(c.tile, imagery)
        u = Uncertainty(c.scores.get("uncertainty_match_m", c.uncertainty_m),
                        c.scores.get("uncertainty_extrapolation_m", 0.0)
                        ).with_imagery(acc, source)
        c.uncertainty_m = float(u.radius_m)
        section.append({"rank": c.rank, **u.to_json()})
        tile = by_path.get(c.tile)
        if target_xy is None or tile is None:
            continue
        try:
            pos = candidate_pixel_position(c, tuple(tile.transform)[:6], tile.crs_wkt,
                                           tile.gsd_m, target_xy, imagery_accuracy_m=acc,
                                           imagery_source=source)
        except UsageError:  # beyond this candidate's horizon: no target position
            continue
        c.target = pos.to_target()
    return section


def finish_placements(
    shots: list[ShotResult], placed: Mapping[str, MatchHypothesis],
    target_xy: tuple[float, float] | None, imagery: ImageryAccuracy, source: str,
) -> None:
    """Each placement's radius with the imagery's accuracy (and the chain's error of a
    zoomed keyframe), and the target pixel's position through it."""
    for s in shots:
        for p in s.placements:
            h = placed.get(p.keyframe)
            if h is None:
                continue
            acc = accuracy_for(str(h.tile.path), imagery)
            w, hh = h.frame_size
            try:
                pos = _position(h, ((w - 1) / 2, (hh - 1) / 2), acc, source)
            except UsageError:
                continue
            if pos.components is not None:
                p.uncertainty = pos.components.to_json()
            if target_xy is not None:
                try:
                    p.target = _position(h, target_xy, acc, source).to_target()
                except UsageError:
                    p.target = None


def _position(h: MatchHypothesis, xy: tuple[float, float], acc: float | None, source: str
              ) -> Position:
    tile = h.tile
    pos = pixel_position(h.homography, h.keyframe_xy, h.tile_xy, tuple(tile.transform)[:6],
                         tile.crs_wkt, tile.gsd_m, xy, imagery_accuracy_m=acc,
                         imagery_source=source)
    chain_m = float(h.scores.get("chain_error_px", 0.0)) * float(tile.gsd_m)
    if pos.components is None or not chain_m > 0:
        return pos
    u = pos.components.with_match_error(chain_m)
    r = u.radius_m
    return dataclasses.replace(pos, components=u,
                               uncertainty_m=r if math.isfinite(r) else math.nan)
