"""The whole geolocation job: footage + reference rasters -> :class:`LocateResult`.

``video -> keyframes -> tile catalog -> match (every keyframe, shared tile
features) -> rank -> candidates`` with WGS84 positions (``lat``/``lon`` of the
keyframe's image centre), an uncertainty in metres, the footprint polygon, the
inlier tie points (keyframe px <-> tile level-0 px, re-verifiable later) and,
when asked, the ground position of a target pixel (crosshair, impact point).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from workbench.atomic import atomic_write_text
from workbench.errors import (
    KeyframeError,
    NoUsableTilesError,
    RasterOpenError,
    UsageError,
    VideoError,
)
from workbench.hashing import sha256_file
from workbench.imagery.catalog import TileCatalog
from workbench.keyframes import (
    Keyframe,
    KeyframeSet,
    extract_keyframes,
    load_keyframes,
    make_keyframe,
)
from workbench.keyframes.store import write_keyframe_files
from workbench.locate.assemble import (
    assign_shots,
    finish_candidates,
    finish_placements,
    shot_ranges,
)
from workbench.locate.model import (
    LOCATE_JSON,
    LocateConfig,
    check_imagery_accuracy,
    stated_accuracy,
)
from workbench.locate.zoom import chain_zoomed
from workbench.match.model import MatchHypothesis
from workbench.match.pipeline import check_matcher, finish_matching, match_keyframe
from workbench.match.tilefeatures import TileFeatureCache
from workbench.outputs import output_set
from workbench.progress import CancelToken, ProgressCallback, check_cancel, report, scaled
from workbench.rank.ranking import Ranking, rank_shots
from workbench.results import LocateResult, VideoRef
from workbench.video.reader import probe, read_frame

log = logging.getLogger(__name__)

def select_keyframes(keyframes: Sequence[Keyframe], n: int) -> list[Keyframe]:
    """Up to ``n`` keyframes: round-robin over shots, sharpest first within a shot.

    Keyframes whose usable (non-overlay) area is below 20 % of the frame are skipped.
    Returned in time order.
    """
    usable = [k for k in keyframes if k.overlay_fraction() < 0.8]
    by_shot: dict[int, list[Keyframe]] = {}
    for k in usable:
        by_shot.setdefault(k.shot_index, []).append(k)
    queues = [sorted(v, key=lambda k: -k.sharpness) for _, v in sorted(by_shot.items())]
    chosen: list[Keyframe] = []
    while len(chosen) < n and any(queues):
        for q in queues:
            if q and len(chosen) < n:
                chosen.append(q.pop(0))
    return sorted(chosen, key=lambda k: k.frame_index)


def add_companions(
    video: str | os.PathLike[str], chosen: list[Keyframe], kset: KeyframeSet, n_total: int,
    gap_s: float,
) -> list[Keyframe]:
    """``chosen`` plus frames ``gap_s`` after/before each keyframe (same shot), up to
    ``n_total`` in all; they reuse their keyframe's overlay mask.  Time order."""
    fps = kset.video.fps if kset.video.fps > 0 else 25.0
    step = max(1, round(gap_s * fps))
    shot_range = {s.index: (s.start_frame, s.end_frame) for s in kset.shots}
    out = list(chosen)
    for sign in (1, -1):
        for kf in chosen:
            if len(out) >= n_total:
                break
            idx = kf.frame_index + sign * step
            lo, hi = shot_range.get(kf.shot_index, (0, kset.video.frame_count))
            if not lo <= idx < hi or any(abs(idx - k.frame_index) < step / 2 for k in out):
                continue
            try:
                frame = read_frame(video, idx)
            except (VideoError, UsageError) as exc:
                log.info("companion frame %d skipped: %s", idx, exc)
                continue
            if frame.image.shape[:2] != kf.image.shape[:2]:
                continue
            out.append(make_keyframe(frame, kf.overlay_mask, id=f"{kf.id}c{len(out)}",
                                     shot_index=kf.shot_index, manual=False))
    return sorted(out, key=lambda k: k.frame_index)


def locate(
    video: str | os.PathLike[str],
    tile_paths: Sequence[str | os.PathLike[str]],
    *,
    out_dir: str | os.PathLike[str] | None = None,
    target_xy: tuple[float, float] | None = None,
    config: LocateConfig | None = None,
    keyframes: KeyframeSet | None = None,
    companions: bool | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    hypothesis_filter: Callable[[list[MatchHypothesis]], list[MatchHypothesis]] | None = None,
) -> LocateResult:
    """Find where ``video`` was filmed among the rasters in ``tile_paths``.

    Args:
        video: the footage file.
        tile_paths: raster files or folders (any GDAL raster, any CRS).
        out_dir: if given, ``locate.json`` and ``keyframes/`` (PNGs, masks) are
            written there (atomically).
        target_xy: a keyframe pixel ``(x, y)`` (full-resolution frame px, centre of
            the top-left pixel at 0) to geolocate on every candidate.
        keyframes: pre-extracted keyframes (e.g. analyst-picked); default: extracted.
        companions: match companion frames (``LocateConfig.companion_s``) around the
            keyframes; default: only when the keyframes are extracted here (``True`` for
            a saved extraction, :func:`reuse_keyframes`, to give the same result).
        hypothesis_filter: applied to all match hypotheses before ranking (the region
            index drops the same place found twice in overlapping windows of one raster).

    Keyframes without a shot (picked by hand) get the shot of their frame, else of the
    nearest keyframe in time (:func:`workbench.locate.assemble.assign_shots`); each shot is
    judged on its own (``result.shots``), and a keyframe the imagery cannot match (extreme
    zoom) is placed through a wider keyframe of its shot (:mod:`workbench.locate.zoom`).

    Returns:
        A :class:`LocateResult`; ``verdict`` is ``not_located`` (with ``reason``) when
        no keyframe is usable or nothing in the imagery matches.

    Raises:
        UsageError / NoUsableTilesError / RasterOpenError: unusable tile arguments.
        VideoOpenError / VideoDecodeError: unreadable footage.  OutputError: cannot
        write ``out_dir``.  Cancelled: ``cancel`` was set.
    """
    cfg = config or LocateConfig()
    check_imagery_accuracy(cfg.imagery_accuracy_m)  # (also when set after construction)
    if cfg.threads:
        cv2.setNumThreads(cfg.threads)
    t0 = time.perf_counter()
    if not tile_paths:
        raise UsageError("no tile paths given (pass raster files or folders with --tiles)")
    if target_xy is not None and not all(np.isfinite(target_xy)):
        raise UsageError(f"target pixel must be finite numbers, not {target_xy!r}")
    check_matcher(cfg.match)  # fail fast: unknown matcher, or the learned extra is missing
    if target_xy is not None and keyframes is None:
        info = probe(video, compute_hash=False)  # fail fast, before any long work
        _check_target(target_xy, info.width, info.height)
    catalog = TileCatalog.from_paths(list(tile_paths), progress=scaled(progress, 0.0, 0.02),
                                     cancel=cancel)
    warnings = list(catalog.warnings)
    reason = ""
    t_kf = time.perf_counter()
    kset: KeyframeSet | None = keyframes
    if kset is None:
        try:
            kset = extract_keyframes(video, cfg.keyframes, progress=scaled(progress, 0.02, 0.25),
                                     cancel=cancel)
        except KeyframeError as exc:
            reason = f"no usable keyframe ({exc.message})"
            warnings.append(str(exc))
    if kset is not None:
        warnings.extend(kset.warnings)
    t_kf = time.perf_counter() - t_kf
    chosen = select_keyframes(kset.keyframes, cfg.max_keyframes) if kset else []
    if kset is not None and not chosen:
        reason = "no usable keyframe (all frames are overlay, black or title card)"
    chosen = assign_shots(chosen, kset)
    with_companions = keyframes is None if companions is None else companions
    if with_companions and kset is not None and chosen and cfg.companion_s > 0:
        chosen = add_companions(video, chosen, kset, cfg.max_keyframes, cfg.companion_s)
    if target_xy is not None and chosen:
        h, w = chosen[0].image.shape[:2]
        vw, vh = (kset.video.width, kset.video.height) if kset is not None else (w, h)
        if (w, h) != (vw, vh) and vw > 0 and vh > 0 and keyframes is None:
            # footage above the working size (workbench.budget) is analysed downscaled:
            # the target, given in the footage's pixels, goes to keyframe pixels
            target_xy = ((target_xy[0] + 0.5) * w / vw - 0.5, (target_xy[1] + 0.5) * h / vh - 0.5)
        _check_target(target_xy, w, h)
    t_m = time.perf_counter()
    hyps: list[MatchHypothesis] = []
    cache = TileFeatureCache(cfg.match, cache_dir=cfg.feature_cache)
    gates = cfg.rank.gates()  # the caller's rank settings reach the matcher's gates
    for i, kf in enumerate(chosen):
        check_cancel(cancel)
        sub = scaled(progress, 0.25 + 0.7 * i / len(chosen), 0.25 + 0.7 * (i + 1) / len(chosen))
        hyps.extend(match_keyframe(kf, catalog, cfg.match, gates=gates, cache=cache,
                                   progress=sub, cancel=cancel))
    # the backends' job-level pass (the learned backend retries with other keyframes' hints)
    hyps.extend(finish_matching(chosen, catalog, cfg.match, gates=gates, cache=cache,
                                cancel=cancel))
    warnings.extend(cache.warnings)
    if chosen and len(cache.failed) == len(catalog.tiles):
        first = cache.warnings[0] if cache.warnings else "unreadable pixels"
        raise NoUsableTilesError(f"no tile could be read ({first})")
    t_m = time.perf_counter() - t_m
    if hypothesis_filter is not None:
        hyps = hypothesis_filter(hyps)
    # a keyframe zoomed beyond the imagery: placed through a wider keyframe of its shot
    t_z = time.perf_counter()
    hyps.extend(chain_zoomed(video, chosen, hyps, gates, cancel=cancel))
    t_m += time.perf_counter() - t_z
    ranking = rank_shots(hyps, chosen, cfg.rank) if chosen else Ranking("not_located", [], "")
    verdict, cands = ranking.verdict, ranking.candidates
    if chosen:
        reason = ranking.reason
    unc_section = finish_candidates(cands, catalog.tiles, target_xy, cfg.imagery_accuracy_m,
                                    cfg.imagery_accuracy_source)
    finish_placements(ranking.shots, ranking.placed, target_xy, cfg.imagery_accuracy_m,
                      cfg.imagery_accuracy_source)
    shot_ranges(ranking.shots, kset)
    report(progress, "writing results", 0.97)
    video_ref = _video_ref(video, kset)
    tile_refs = []
    for t in catalog.tiles:
        digest = ""
        if cfg.hash_tiles:
            check_cancel(cancel)
            digest = sha256_file(t.path, cancel=cancel, error=RasterOpenError)[0]
        tile_refs.append(t.to_ref(digest))
    result = LocateResult(
        verdict=verdict,
        video=video_ref,
        keyframes=[k.to_ref() for k in chosen],
        candidates=cands,
        tiles=tile_refs,
        timing_s={},
        reason=reason,
        method={
            "matcher": "RootSIFT + FLANN ratio test + USAC_MAGSAC homography",
            "frame_levels": list(cfg.match.frame_levels),
            "stretches": list(cfg.match.stretches),
            "polarities": list(cfg.match.polarities),
            "ratio": cfg.match.ratio,
            "ransac_px": cfg.match.ransac_px,
            "min_inliers": cfg.match.min_inliers,
            "backend": cfg.match.matcher,
            "learned_hypotheses": sum(1 for h in hyps if h.scores.get("learned")),
            "hypotheses": len(hyps),
            "keyframes_extracted": len(kset.keyframes) if kset else 0,
            "target_xy": list(target_xy) if target_xy is not None else None,
            "chained_hypotheses": sum(1 for h in hyps if h.scores.get("chained")),
            # as stated (one value or per raster), so the case's locate audit entry names it
            **stated_accuracy(cfg.imagery_accuracy_m, cfg.imagery_accuracy_source),
        },
        warnings=warnings,
        shots=ranking.shots,
        uncertainty=unc_section,
    )
    sub_set = None
    if out_dir is not None and kset is not None and chosen:
        sub_set = KeyframeSet(video=kset.video, keyframes=chosen, shots=kset.shots,
                              warnings=kset.warnings, config=kset.config)
        result.keyframes = [
            k.to_ref(image=f"keyframes/{k.id}.png", mask=f"keyframes/{k.id}_mask.png")
            for k in chosen
        ]
    result.timing_s = {
        "keyframes": round(t_kf, 3),
        "match": round(t_m, 3),
        "total": round(time.perf_counter() - t0, 3),
    }
    if out_dir is not None:
        write_locate_outputs(result, sub_set, out_dir)
    report(progress, "done", 1.0)
    return result


def reuse_keyframes(
    video: str | os.PathLike[str],
    folder: str | os.PathLike[str],
    *,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> KeyframeSet:
    """The keyframes a ``workbench keyframes VIDEO --out FOLDER`` run saved, checked to
    come from ``video`` (the SHA-256 recorded in ``keyframes.json`` equals the file's);
    the set's video metadata is ``video``'s own probe, as a fresh extraction records it.

    Raises:
        KeyframeError: unreadable or changed keyframe files.  UsageError: the keyframes
            were extracted from another video.  VideoOpenError: unreadable ``video``.
    """
    kset = load_keyframes(folder)
    info = probe(video, progress=progress, cancel=cancel)
    if kset.video.sha256 != info.sha256:
        recorded = kset.video.sha256[:12] or "none"
        raise UsageError(
            f"keyframes in {os.fspath(folder)} come from another video (recorded SHA-256 "
            f"{recorded}..., this file {info.sha256[:12]}...)", video)
    return dataclasses.replace(kset, video=info)


def _check_target(target_xy: tuple[float, float], w: int, h: int) -> None:
    if not (-0.5 <= target_xy[0] < w - 0.5 and -0.5 <= target_xy[1] < h - 0.5):
        raise UsageError(
            f"target pixel {target_xy[0]:g},{target_xy[1]:g} is outside the {w}x{h} frame"
        )


def _video_ref(video: str | os.PathLike[str], kset: KeyframeSet | None) -> VideoRef:
    if kset is not None:
        return kset.video.to_ref()
    return probe(video).to_ref()


def write_locate_outputs(
    result: LocateResult, keyframes: KeyframeSet | None, out_dir: str | os.PathLike[str], *,
    force: bool = False,
) -> Path:
    """Write ``locate.json`` and ``keyframes/`` into ``out_dir`` as one output set
    (:func:`workbench.outputs.output_set`, set ``"locate"``): both switch at once, so a
    killed run never leaves an old ``locate.json`` beside new keyframes; a folder holding
    files the workbench did not write is refused unless ``force``.  Returns the JSON path.

    Raises:
        OutputError: ``out_dir`` cannot be written or holds foreign files.
    """
    with output_set(out_dir, "locate", force=force) as stage:
        if keyframes is not None:
            write_keyframe_files(keyframes, stage / "keyframes")
        write_locate_json(result, stage)
    return Path(out_dir) / LOCATE_JSON


def write_locate_json(result: LocateResult, out_dir: str | os.PathLike[str]) -> Path:
    """Write ``out_dir/locate.json`` atomically (schema ``workbench.locate/1``); return its path."""
    doc: Any = result.to_json()
    text = json.dumps(doc, indent=1, allow_nan=False, ensure_ascii=False) + "\n"
    return atomic_write_text(Path(out_dir) / LOCATE_JSON, text)
