"""Aggregate match hypotheses into ranked candidate locations with a confidence and verdict.

Inlier counts alone do not separate a true find from footage that is not in the
imagery, so each hypothesis first gets a *plausibility* from its geometry (is it a
camera looking at the ground: no mirror image, convex footprint, bounded shear and
perspective, inliers spread over the frame, small residuals;
:mod:`workbench.match.gates`, with this stage's thresholds) and its support; then
hypotheses of different keyframes that put the camera at the same ground place are
clustered, and a cluster is as credible as its best member plus (discounted,
because keyframes of one shot are correlated) the agreement of the others.  The
hypotheses of one keyframe compete (each gets its share of that keyframe's total
credibility, with a "none of these" term), so a keyframe matching two places
equally well supports neither strongly.  Different shots may show different places
(several candidates can be credible); two credible places supported by keyframes of
the *same* shot contradict each other and the verdict is ``ambiguous``.

Positions are WGS84 lon/lat; homographies map keyframe px -> tile level-0 px
(``(x, y)`` = (col, row), centre of the top-left pixel at ``(0, 0)``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from workbench.geo import haversine_m
from workbench.match.gates import effective_inliers, plausibility
from workbench.match.geometry import camera_error, frame_corners, frame_outline
from workbench.match.model import MatchHypothesis
from workbench.position import radius_m
from workbench.rank.calibration import calibrated_confidences, cluster_evidence
from workbench.rank.model import MAX_CONFIDENCE, RankConfig
from workbench.results import Candidate, Verdict


@dataclass
class _Hyp:
    hyp: MatchHypothesis
    lon: float
    lat: float
    diag_m: float
    plaus: float
    cred: float
    post: float = 0.0  # cred normalised among the same keyframe's hypotheses


@dataclass
class _Cluster:
    members: list[_Hyp] = field(default_factory=list)
    credibility: float = 0.0


def _credibility(inliers: float, plaus: float, cfg: RankConfig) -> float:
    x = (inliers * plaus - cfg.inlier_mid) / cfg.inlier_width
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, x))))


def rank_hypotheses(
    hyps: Sequence[MatchHypothesis],
    keyframes: Sequence[Any],
    config: RankConfig | None = None,
) -> tuple[Verdict, list[Candidate], str]:
    """Cluster, score and rank hypotheses of all keyframes of one video.

    ``keyframes``: the keyframes that were matched (anything with ``.id`` and
    optionally ``.shot_index``: places supported by keyframes of the same shot compete).
    Returns ``(verdict, candidates, reason)``; candidates are
    sorted by rank (1 = best), each at the WGS84 ground position of its
    representative keyframe's image centre.
    """
    cfg = config or RankConfig()
    gates = cfg.gates()
    n_kf = len(keyframes)
    items: list[_Hyp] = []
    for h in hyps:
        plaus = plausibility(h.scores, gates)
        if plaus <= 0:
            continue
        c = h.tile.px_to_lonlat([[h.scores["centre_x"], h.scores["centre_y"]]])[0]
        if not np.all(np.isfinite(c)):
            continue
        diag = float(h.scores.get("footprint_diag_px", 0.0)) * float(h.tile.gsd_m)
        cred = _credibility(effective_inliers(h), plaus, cfg)
        items.append(_Hyp(h, float(c[0]), float(c[1]), diag, plaus, cred))
    if not items:
        why = (
            f"no geometrically plausible match in the imagery for any of {n_kf} keyframe(s)"
            if n_kf else "no usable keyframe"
        )
        return "not_located", [], why
    # per keyframe, its hypotheses compete (plus "none of these")
    by_kf: dict[str, list[_Hyp]] = {}
    for it in items:
        by_kf.setdefault(it.hyp.keyframe_id, []).append(it)
    for group in by_kf.values():
        total = sum(g.cred for g in group) + (1.0 - max(g.cred for g in group))
        for g in group:
            g.post = g.cred / max(total, 1e-12)
    clusters = _cluster(items, cfg)
    kf_info = {str(k.id): (getattr(k, "shot_index", None), getattr(k, "time_s", None))
               for k in keyframes}
    # confidence = calibrated probability of being right (workbench.rank.calibration)
    shot_ids = {k: v[0] for k, v in kf_info.items()}
    evidence = [cluster_evidence(cl.members, _cluster_credibility(cl, cfg),
                                 _unconfirmed_factor(cl, kf_info, cfg), shot_ids, n_kf)
                for cl in clusters]
    for cl, p in zip(clusters, calibrated_confidences(evidence), strict=True):
        cl.credibility = p
    clusters.sort(key=lambda c: -c.credibility)
    shot_of = {str(k.id): getattr(k, "shot_index", None) for k in keyframes}
    cands = [_candidate(cl, cl.credibility) for cl in clusters[: cfg.max_candidates]]
    for i, c in enumerate(cands, start=1):
        c.rank = i
    best = cands[0]
    # another place seen in the same shot as the best one contradicts it
    best_shots = {shot_of.get(k) for k in best.supporting_keyframes}
    rival = next(
        (c for c in cands[1:]
         if {shot_of.get(k) for k in c.supporting_keyframes} & best_shots
         and c.confidence >= 0.5 * best.confidence
         and not set(c.supporting_keyframes) <= set(best.supporting_keyframes)),
        None,
    )
    if best.confidence >= cfg.located_at and rival is None:
        verdict: Verdict = "located"
        reason = (
            f"{len(best.supporting_keyframes)} of {n_kf} keyframe(s) agree on this place "
            f"({best.inliers} inliers on the best)"
        )
        others = [c for c in cands[1:] if c.confidence >= cfg.located_at]
        if others:
            reason += f"; {len(others)} other place(s) seen in other shots"
    elif best.confidence >= cfg.ambiguous_at:
        verdict = "ambiguous"
        if rival is not None:
            reason = "the same shot matches several places with comparable support"
        else:
            reason = f"weak support: {best.inliers} inliers, {len(best.supporting_keyframes)} " \
                     f"of {n_kf} keyframe(s)"
    else:
        verdict = "not_located"
        reason = f"only weak, isolated matches (best {best.inliers} inliers); " \
                 "the footage is probably not covered by the imagery"
    return verdict, cands, reason


def _cluster(items: list[_Hyp], cfg: RankConfig) -> list[_Cluster]:
    """Greedy clustering by ground distance of the image centres, strongest first."""
    clusters: list[_Cluster] = []
    for it in sorted(items, key=lambda i: -(i.cred + 1e-3 * i.hyp.inliers)):
        for cl in clusters:
            seed = cl.members[0]
            radius = max(cfg.cluster_min_m, 0.6 * max(seed.diag_m, it.diag_m))
            if haversine_m(seed.lon, seed.lat, it.lon, it.lat) <= radius:
                cl.members.append(it)
                break
        else:
            clusters.append(_Cluster([it]))
    return clusters


def _cluster_credibility(cl: _Cluster, cfg: RankConfig) -> float:
    """Best member's credibility, raised by other keyframes agreeing (discounted)."""
    best_per_kf: dict[str, float] = {}
    for m in cl.members:
        k = m.hyp.keyframe_id
        best_per_kf[k] = max(best_per_kf.get(k, 0.0), m.post)
    creds = sorted(best_per_kf.values(), reverse=True)
    miss = 1.0 - creds[0]
    for c in creds[1:]:
        miss *= 1.0 - cfg.other_weight * c
    return 1.0 - miss


def _unconfirmed_factor(
    cl: _Cluster, kf_info: dict[str, tuple[Any, Any]], cfg: RankConfig
) -> float:
    """``missing_factor`` per keyframe of the same shot, close in time to a supporting
    keyframe, that does not see this place (near-identical views should agree)."""
    support = {m.hyp.keyframe_id for m in cl.members}
    missing = 0
    for k, (shot, t) in kf_info.items():
        if k in support or t is None:
            continue
        for s in support:
            s_shot, s_t = kf_info.get(s, (None, None))
            if s_t is not None and s_shot == shot and abs(float(t) - float(s_t)) <= cfg.confirm_s:
                missing += 1
                break
    return float(cfg.missing_factor**missing)


def _candidate(cl: _Cluster, confidence: float) -> Candidate:
    rep = cl.members[0].hyp
    tile = rep.tile
    w, h = rep.frame_size
    centre = ((w - 1) / 2, (h - 1) / 2)
    unc = radius_m(rep.homography, rep.keyframe_xy, rep.tile_xy, centre, tile.gsd_m)
    outline = frame_outline(rep.homography, rep.frame_size)
    if outline is None:  # cannot happen for a plausible hypothesis; keep the frame corners
        outline = frame_corners(rep.frame_size)
    ring = tile.px_to_lonlat(np.vstack([outline, outline[:1]]))
    supporting = sorted({m.hyp.keyframe_id for m in cl.members})
    scores = {k: float(v) for k, v in rep.scores.items()}
    scores["credibility"] = cl.credibility
    scores["n_supporting"] = float(len(supporting))
    gxy = getattr(tile, "gsd_xy_m", (tile.gsd_m, tile.gsd_m))
    scores["camera_error"] = camera_error(rep.homography, rep.frame_size, gxy)
    return Candidate(
        rank=0,
        lat=float(cl.members[0].lat),
        lon=float(cl.members[0].lon),
        confidence=float(min(MAX_CONFIDENCE, max(0.0, confidence))),
        uncertainty_m=float(unc),
        keyframe_id=rep.keyframe_id,
        tile=str(tile.path),
        inliers=int(rep.inliers),
        footprint=[[float(p[0]), float(p[1])] for p in ring],
        homography=[[float(v) for v in row] for row in np.asarray(rep.homography)],
        keyframe_xy=[[float(x), float(y)] for x, y in rep.keyframe_xy],
        tile_xy=[[float(x), float(y)] for x, y in rep.tile_xy],
        supporting_keyframes=supporting,
        scores=scores,
    )
