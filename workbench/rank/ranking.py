"""Aggregate match hypotheses into ranked candidate locations, per shot, with a verdict.

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
equally well supports neither strongly.

**Shots.** Footage often cuts between places (a wide approach, then the target; or two
sites).  Each shot is judged on its own keyframes: its place is the most credible
cluster its keyframes support, and two credible places supported by keyframes of the
*same* shot contradict each other (that shot is ``ambiguous``).  Two shots at two
different places do not: the overall verdict is ``located`` as soon as one shot is,
and the per-shot results (:class:`workbench.results.ShotResult`) say which shot shows
which place.  Keyframes without a known shot (``shot_index`` missing or ``-1``) form one
group.  *Chained* hypotheses (``scores["chained"]``: a zoomed keyframe placed through a
wider keyframe of its shot, :mod:`workbench.locate.zoom`) are the same evidence as their
wider keyframe's: they place their keyframe and confirm the place, but add no credibility.

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
from workbench.position import uncertainty
from workbench.rank.calibration import calibrated_confidences, cluster_evidence
from workbench.rank.model import MAX_CONFIDENCE, RankConfig
from workbench.results import Candidate, Placement, ShotResult, Verdict

UNKNOWN_SHOT = -1


@dataclass
class _Hyp:
    hyp: MatchHypothesis
    lon: float
    lat: float
    diag_m: float
    plaus: float
    cred: float
    post: float = 0.0  # cred normalised among the same keyframe's hypotheses

    @property
    def chained(self) -> bool:
        return bool(self.hyp.scores.get("chained", 0.0))


@dataclass
class _Cluster:
    members: list[_Hyp] = field(default_factory=list)
    credibility: float = 0.0

    def keyframes(self, *, chained: bool = True) -> set[str]:
        return {m.hyp.keyframe_id for m in self.members if chained or not m.chained}


@dataclass
class Ranking:
    """What :func:`rank_shots` found: the overall ``verdict`` and ``reason``, the
    ``candidates`` (rank 1 = best; a located shot's place first) and one
    :class:`~workbench.results.ShotResult` per shot (placements of directly matched and
    chained keyframes; the pipeline adds the imagery's accuracy and the target)."""

    verdict: Verdict
    candidates: list[Candidate]
    reason: str
    shots: list[ShotResult] = field(default_factory=list)
    placed: dict[str, MatchHypothesis] = field(default_factory=dict)  # kf id -> its placement


def _credibility(inliers: float, plaus: float, cfg: RankConfig) -> float:
    x = (inliers * plaus - cfg.inlier_mid) / cfg.inlier_width
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, x))))


def rank_hypotheses(
    hyps: Sequence[MatchHypothesis],
    keyframes: Sequence[Any],
    config: RankConfig | None = None,
) -> tuple[Verdict, list[Candidate], str]:
    """:func:`rank_shots` without the per-shot results: ``(verdict, candidates, reason)``."""
    r = rank_shots(hyps, keyframes, config)
    return r.verdict, r.candidates, r.reason


def _shot(k: Any) -> int:
    s = getattr(k, "shot_index", None)
    return UNKNOWN_SHOT if s is None or int(s) < 0 else int(s)


def rank_shots(
    hyps: Sequence[MatchHypothesis],
    keyframes: Sequence[Any],
    config: RankConfig | None = None,
) -> Ranking:
    """Cluster, score and rank hypotheses of all keyframes of one video, shot by shot.

    ``keyframes``: the keyframes that were matched (anything with ``.id`` and optionally
    ``.shot_index`` and ``.time_s``).  Candidates are each at the WGS84 ground position of
    their representative keyframe's image centre.
    """
    cfg = config or RankConfig()
    gates = cfg.gates()
    n_kf = len(keyframes)
    shot_of = {str(k.id): _shot(k) for k in keyframes}
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
    if not any(not it.chained for it in items):
        why = (
            f"no geometrically plausible match in the imagery for any of {n_kf} keyframe(s)"
            if n_kf else "no usable keyframe"
        )
        return Ranking("not_located", [], why, _empty_shots(keyframes))
    # per keyframe, its hypotheses compete (plus "none of these")
    by_kf: dict[str, list[_Hyp]] = {}
    for it in items:
        by_kf.setdefault(it.hyp.keyframe_id, []).append(it)
    for group in by_kf.values():
        total = sum(g.cred for g in group) + (1.0 - max(g.cred for g in group))
        for g in group:
            g.post = g.cred / max(total, 1e-12)
    clusters = [cl for cl in _cluster(items, cfg) if cl.keyframes(chained=False)]
    kf_info = {str(k.id): (shot_of[str(k.id)], getattr(k, "time_s", None)) for k in keyframes}
    for cl, p in zip(clusters, _calibrated([cl.members for cl in clusters], kf_info, cfg, n_kf),
                     strict=True):
        cl.credibility = p
    clusters.sort(key=lambda c: -c.credibility)
    placed: dict[str, MatchHypothesis] = {}
    shots = _judge_shots(clusters, keyframes, kf_info, cfg, placed)
    # a located shot's place comes first, then by confidence
    located_ids = {id(s[1]) for s in shots if s[0].verdict == "located" and s[1] is not None}
    clusters.sort(key=lambda c: (id(c) not in located_ids, -c.credibility))
    kept = clusters[: cfg.max_candidates]
    cands = [_candidate(cl) for cl in kept]
    for i, c in enumerate(cands, start=1):
        c.rank = i
    rank_of = {id(cl): i for i, cl in enumerate(kept, start=1)}
    results = []
    for res, place in shots:
        if place is not None:
            res.candidate_rank = rank_of.get(id(place))
            if res.candidate_rank is None:  # beyond max_candidates: no place to point at
                res.verdict, res.placements = "not_located", []
        results.append(res)
    verdict, reason = _overall(results, cands, n_kf)
    keep = {p.keyframe for s in results for p in s.placements}
    return Ranking(verdict, cands, reason, results,
                   {k: h for k, h in placed.items() if k in keep})


# --- confidence (one function: the calibrated model replaces its body) ---------------


def _calibrated(groups: Sequence[Sequence[_Hyp]], kf_info: dict[str, tuple[int, Any]],
                cfg: RankConfig, n_matched: int) -> list[float]:
    """The confidence of each place (``groups``: the members putting keyframes there,
    strongest first): the calibrated probability of being right
    (:mod:`workbench.rank.calibration`), from the evidence of :func:`candidate_confidence`
    and the keyframes, shots and rival places.  Chained placements (a zoomed frame placed
    through a wider one) add no evidence."""
    shot_ids = {k: v[0] for k, v in kf_info.items()}
    evidence = []
    for mem in groups:
        own = [m for m in mem if not m.chained] or list(mem)
        evidence.append(cluster_evidence(own, _cluster_credibility(mem, cfg),
                                         _unconfirmed_factor(mem, kf_info, cfg), shot_ids,
                                         n_matched))
    return calibrated_confidences(evidence)


def candidate_confidence(
    members: Sequence[_Hyp], kf_info: dict[str, tuple[int, Any]], cfg: RankConfig
) -> float:
    """The confidence of a place from the hypotheses that put keyframes there (``members``,
    chained ones included; they add no credibility) and the matched keyframes' ``kf_info``
    (id -> (shot, time_s)): the best keyframe's credibility raised by the others' agreement,
    lowered by nearby keyframes of the same shot that do not see it.  In ``[0, 1]``
    (the cap :data:`MAX_CONFIDENCE` is applied to the reported value)."""
    return _cluster_credibility(members, cfg) * _unconfirmed_factor(members, kf_info, cfg)


def _cluster_credibility(members: Sequence[_Hyp], cfg: RankConfig) -> float:
    """Best member's credibility, raised by other keyframes agreeing (discounted)."""
    best_per_kf: dict[str, float] = {}
    for m in members:
        if m.chained:
            continue
        k = m.hyp.keyframe_id
        best_per_kf[k] = max(best_per_kf.get(k, 0.0), m.post)
    if not best_per_kf:
        return 0.0
    creds = sorted(best_per_kf.values(), reverse=True)
    miss = 1.0 - creds[0]
    for c in creds[1:]:
        miss *= 1.0 - cfg.other_weight * c
    return 1.0 - miss


def _unconfirmed_factor(
    members: Sequence[_Hyp], kf_info: dict[str, tuple[int, Any]], cfg: RankConfig
) -> float:
    """``missing_factor`` per keyframe of the same shot, close in time to a supporting
    keyframe, that does not see this place (near-identical views should agree)."""
    support = {m.hyp.keyframe_id for m in members}
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


# --- shots ----------------------------------------------------------------------------


def _empty_shots(keyframes: Sequence[Any]) -> list[ShotResult]:
    groups: dict[int, list[str]] = {}
    for k in keyframes:
        groups.setdefault(_shot(k), []).append(str(k.id))
    return [ShotResult(s, sorted(ids), "not_located", None, 0.0,
                       "no geometrically plausible match for this shot's keyframes")
            for s, ids in sorted(groups.items())]


def _judge_shots(
    clusters: list[_Cluster], keyframes: Sequence[Any], kf_info: dict[str, tuple[int, Any]],
    cfg: RankConfig, placed: dict[str, MatchHypothesis],
) -> list[tuple[ShotResult, _Cluster | None]]:
    """Each shot's own verdict from its own keyframes' members of each cluster."""
    groups: dict[int, list[str]] = {}
    for k in keyframes:
        groups.setdefault(kf_info[str(k.id)][0], []).append(str(k.id))
    out: list[tuple[ShotResult, _Cluster | None]] = []
    for shot, ids in sorted(groups.items()):
        in_shot = set(ids)
        scored = []
        for cl in clusters:
            mem = [m for m in cl.members if m.hyp.keyframe_id in in_shot]
            if any(not m.chained for m in mem):
                scored.append((0.0, cl, mem))
        confs = _calibrated([t[2] for t in scored], kf_info, cfg, len(ids))
        scored = sorted(((c, cl, mem) for c, (_, cl, mem) in zip(confs, scored, strict=True)),
                        key=lambda t: -t[0])
        res = ShotResult(shot, sorted(ids), "not_located", None, 0.0,
                         "no geometrically plausible match for this shot's keyframes")
        if not scored:
            out.append((res, None))
            continue
        conf, best, mem = scored[0]
        own = {m.hyp.keyframe_id for m in mem if not m.chained}
        rival = next((t for t in scored[1:] if t[0] >= 0.5 * conf
                      and not {m.hyp.keyframe_id for m in t[2] if not m.chained} <= own), None)
        res.confidence = float(min(MAX_CONFIDENCE, max(0.0, conf)))
        n_own = len(own)
        if conf >= cfg.located_at and rival is None:
            res.verdict = "located"
            top = max(m.hyp.inliers for m in mem if not m.chained)
            res.reason = (f"{n_own} of {len(ids)} keyframe(s) of this shot agree on this place "
                          f"({top} inliers on the best)")
            res.placements = _placements(mem, placed)
        elif conf >= cfg.ambiguous_at:
            res.verdict = "ambiguous"
            res.reason = ("this shot matches several places with comparable support"
                          if rival is not None else
                          f"weak support: {n_own} of {len(ids)} keyframe(s) of this shot")
        else:
            res.reason = "only weak, isolated matches in this shot"
        out.append((res, best if res.verdict != "not_located" else None))
    return out


def _overall(shots: list[ShotResult], cands: list[Candidate], n_kf: int) -> tuple[Verdict, str]:
    """Located as soon as one shot is; the reason says which shot shows which place."""
    def name(s: ShotResult) -> str:
        return "keyframes without a shot" if s.shot == UNKNOWN_SHOT else f"shot {s.shot}"

    located = [s for s in shots if s.verdict == "located"]
    if located:
        best = cands[0]
        first = next((s for s in located if s.candidate_rank == 1), located[0])
        reason = (f"{len(best.supporting_keyframes)} of {n_kf} keyframe(s) agree on this place "
                  f"({best.inliers} inliers on the best)")
        if len(shots) > 1:
            parts = [f"{name(s)}: place {s.candidate_rank}" if s.verdict == "located"
                     else f"{name(s)}: {s.verdict.replace('_', ' ')}" for s in shots]
            reason += "; " + ", ".join(parts)
        others = {s.candidate_rank for s in located} - {first.candidate_rank}
        if others:
            reason += f" ({len(others)} other place(s) seen in other shots)"
        return "located", reason
    amb = [s for s in shots if s.verdict == "ambiguous"]
    if amb:
        return "ambiguous", amb[0].reason if len(shots) == 1 else \
            f"{name(amb[0])}: {amb[0].reason}"
    best_inl = cands[0].inliers if cands else 0
    return "not_located", (f"only weak, isolated matches (best {best_inl} inliers); "
                           "the footage is probably not covered by the imagery")


def _placements(members: Sequence[_Hyp], placed: dict[str, MatchHypothesis]
                ) -> list[Placement]:
    """One placement per keyframe: its best hypothesis in the place's cluster (direct
    matches preferred over chained ones), at the keyframe's centre pixel."""
    best: dict[str, _Hyp] = {}
    for m in members:
        k = m.hyp.keyframe_id
        cur = best.get(k)
        if cur is None or (cur.chained, -cur.hyp.inliers) > (m.chained, -m.hyp.inliers):
            best[k] = m
    out = []
    for k, m in sorted(best.items()):
        h = m.hyp
        placed[k] = h
        w, hh = h.frame_size
        u = uncertainty(h.homography, h.keyframe_xy, h.tile_xy, ((w - 1) / 2, (hh - 1) / 2),
                        h.tile.gsd_m)
        # a chained keyframe: the frame-to-frame chain's own error, with the match's
        u = u.with_match_error(float(h.scores.get("chain_error_px", 0.0)) * float(h.tile.gsd_m))
        vh = None if h.via_homography is None else \
            [[float(v) for v in row] for row in np.asarray(h.via_homography)]
        out.append(Placement(
            keyframe=k, lon=m.lon, lat=m.lat, tile=str(h.tile.path),
            homography=[[float(v) for v in row] for row in np.asarray(h.homography)],
            uncertainty=u.to_json(), via=h.via, via_homography=vh))
    return out


def _cluster(items: list[_Hyp], cfg: RankConfig) -> list[_Cluster]:
    """Greedy clustering by ground distance of the image centres, strongest first
    (chained hypotheses after the direct ones: they never seed a cluster they can join)."""
    clusters: list[_Cluster] = []
    for it in sorted(items, key=lambda i: (i.chained, -(i.cred + 1e-3 * i.hyp.inliers))):
        for cl in clusters:
            seed = cl.members[0]
            radius = max(cfg.cluster_min_m, 0.6 * max(seed.diag_m, it.diag_m))
            if haversine_m(seed.lon, seed.lat, it.lon, it.lat) <= radius:
                cl.members.append(it)
                break
        else:
            clusters.append(_Cluster([it]))
    return clusters


def _candidate(cl: _Cluster) -> Candidate:
    direct = [m for m in cl.members if not m.chained]
    rep_item = direct[0]
    rep = rep_item.hyp
    tile = rep.tile
    w, h = rep.frame_size
    centre = ((w - 1) / 2, (h - 1) / 2)
    unc = uncertainty(rep.homography, rep.keyframe_xy, rep.tile_xy, centre, tile.gsd_m)
    outline = frame_outline(rep.homography, rep.frame_size)
    if outline is None:  # cannot happen for a plausible hypothesis; keep the frame corners
        outline = frame_corners(rep.frame_size)
    ring = tile.px_to_lonlat(np.vstack([outline, outline[:1]]))
    supporting = sorted(cl.keyframes(chained=False))
    scores = {k: float(v) for k, v in rep.scores.items()}
    scores["credibility"] = cl.credibility
    scores["n_supporting"] = float(len(supporting))
    gxy = getattr(tile, "gsd_xy_m", (tile.gsd_m, tile.gsd_m))
    scores["camera_error"] = camera_error(rep.homography, rep.frame_size, gxy)
    scores["uncertainty_match_m"] = unc.match_m
    scores["uncertainty_extrapolation_m"] = unc.extrapolation_m
    return Candidate(
        rank=0,
        lat=float(rep_item.lat),
        lon=float(rep_item.lon),
        confidence=float(min(MAX_CONFIDENCE, max(0.0, cl.credibility))),
        uncertainty_m=float(unc.radius_m),
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
