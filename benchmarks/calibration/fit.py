"""Fit the calibrated confidence and report it on ``benchmarks/locate``, in one run.

    .venv/bin/python benchmarks/calibration/fit.py [--write] [--matcher sift]

1. Reads the evidence ``collect.py`` cached (``.cache/evidence/calib-<matcher>``), re-runs
   the real ranking on every clip and records the evidence of every candidate place
   (:class:`workbench.rank.calibration.Evidence`) with its label: right when the
   place's position is within the clip's hit radius of the true ground position of its
   keyframe's centre.
2. Fits the model of :mod:`workbench.rank.calibration` on all of it (equal-count bins of
   evidence strength, ``(right + 1) / (n + 2)`` per bin, adjacent bins pooled while not
   increasing); reports 5-fold cross-validated calibration (folds by clip).
3. Scores ``benchmarks/locate`` (``.cache/evidence/bench-<matcher>``, never used to fit)
   with the fitted model through the real ranking: ECE (top-1 candidate of each clip
   and all candidates), precision / recall of ``located``, wrong ``located``, right
   answers supported by several keyframes below ``located``; draws the reliability
   diagram ``benchmarks/calibration_reliability.png``.
4. When both ``bench-sift`` and ``bench-auto`` evidence exist: ``--matcher sift`` vs
   ``auto`` (learned extra installed) on the benchmark clips both hold.
5. ``--write``: writes the fitted constants into ``workbench/rank/calibration.py``.

Prints Markdown tables; the collection (``collect.py``) is the slow part, this is seconds.
"""

from __future__ import annotations

import argparse
import math
import pickle
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(HERE))

from collect import KfStub  # noqa: E402  (unpickling needs the class)

import workbench.rank.calibration as cal  # noqa: E402
import workbench.rank.ranking as ranking  # noqa: E402
from workbench.geo import haversine_m  # noqa: E402
from workbench.rank.model import RankConfig  # noqa: E402

CACHE = HERE / ".cache" / "evidence"
PNG = REPO / "benchmarks" / "calibration_reliability.png"


@dataclass
class Place:
    clip: str
    family: str
    evidence: cal.Evidence
    right: bool


@dataclass
class ClipResult:
    clip: str
    family: str
    positive: bool
    verdict: str
    conf: float  # rank-1 confidence (0 without candidates)
    right1: bool  # rank-1 candidate right
    n_kf1: int  # keyframes supporting rank 1
    cands: list[tuple[float, bool]]  # (confidence, right) of every candidate
    secs: float
    shots_located: int = 0  # shots whose own verdict is `located`
    shots_located_wrong: int = 0  # ... whose place is not within the hit radius
    shots_several_below: int = 0  # shots whose right place has >= 2 own keyframes, not located


def load(kind: str, matcher: str) -> list[dict[str, Any]]:
    d = CACHE / f"{kind}-{matcher}"
    sys.modules["__main__"].KfStub = KfStub  # type: ignore[attr-defined]  # pickled by collect.py
    return [pickle.loads(p.read_bytes()) for p in sorted(d.glob("*.pkl"))]


def _right(doc: dict[str, Any], kf: str, lon: float, lat: float) -> bool:
    t = doc["truth"].get(kf)
    return t is not None and haversine_m(lon, lat, t[0], t[1]) <= doc["tol_m"]


def rank_clip(doc: dict[str, Any], model: cal.Model | str | None,
              record: list[cal.Evidence] | None = None,
              cfg: RankConfig | None = None) -> ClipResult:
    """The real ranking of one cached clip with ``model`` (recording the evidence);
    ``"previous"``: the confidence before calibration (credibility capped at 0.99)."""
    real = ranking.calibrated_confidences
    calls = [0]

    def spy(ev: list[cal.Evidence], m: cal.Model | None = None) -> list[float]:
        # rank_shots scores the job's places first (the candidates' confidence), then
        # each shot's share of them (the shots' verdicts): record the first call only,
        # so every place of a clip is one calibration sample, not one per shot as well
        calls[0] += 1
        if record is not None and calls[0] == 1:
            record.extend(cal.with_rivals(ev))
        if model == "previous":
            return [min(0.99, e.combined * e.unconfirmed) for e in ev]
        return real(ev, model if isinstance(model, cal.Model) else None)

    ranking.calibrated_confidences = spy  # type: ignore[assignment]
    try:
        rk = ranking.rank_shots(doc["hyps"], doc["kfs"], cfg or RankConfig())
    finally:
        ranking.calibrated_confidences = real  # type: ignore[assignment]
    verdict, cands = rk.verdict, rk.candidates
    cl = [(c.confidence, _right(doc, c.keyframe_id, c.lon, c.lat)) for c in cands]
    top = cands[0] if cands else None
    res = ClipResult(doc["name"], doc["family"], bool(doc["positive"]), verdict,
                     top.confidence if top else 0.0, bool(cl and cl[0][1]),
                     len(top.supporting_keyframes) if top else 0, cl,
                     float(doc.get("secs", 0.0)))
    for sh in rk.shots:
        if sh.candidate_rank is None:
            continue
        c = cands[sh.candidate_rank - 1]
        right = cl[sh.candidate_rank - 1][1]
        if sh.verdict == "located":
            res.shots_located += 1
            res.shots_located_wrong += not right
        elif right and len(set(c.supporting_keyframes) & set(sh.keyframes)) >= 2:
            res.shots_several_below += 1
    return res


def places(docs: list[dict[str, Any]]) -> list[Place]:
    out = []
    for d in docs:
        rec: list[cal.Evidence] = []
        rank_clip(d, None, rec)
        out += [Place(d["name"], d["family"], e, _right(d, e.keyframe_id, e.lon, e.lat))
                for e in rec]
    return out


def fit(pl: list[Place], min_bin: int = 25, max_bins: int = 6) -> cal.Model:
    """Equal-count bins of :func:`cal.strength` (at least ``min_bin`` places each), per bin
    ``(right + 1) / (n + 2)``, then pool-adjacent-violators for monotonicity."""
    pts = sorted((cal.strength(p.evidence), p.right) for p in pl)
    n = len(pts)
    k = max(1, min(max_bins, n // min_bin))
    cuts = [round(i * n / k) for i in range(k + 1)]
    bins = [[pts[cuts[i]:cuts[i + 1]]] for i in range(k)]
    # blocks: (right, n, [points]) merged while a lower bin is right at least as often
    blocks = [[sum(r for _, r in b[0]), len(b[0]), b[0]] for b in bins if b[0]]
    i = 0
    while i < len(blocks) - 1:
        (r0, n0, p0), (r1, n1, p1) = blocks[i], blocks[i + 1]
        if (r0 + 1) / (n0 + 2) >= (r1 + 1) / (n1 + 2):  # pool equal bins too
            blocks[i] = [r0 + r1, n0 + n1, p0 + p1]
            del blocks[i + 1]
            i = max(0, i - 1)
        else:
            i += 1
    edges = tuple(float(b[2][0][0]) for b in blocks[1:])
    probs = tuple(round((b[0] + 1) / (b[1] + 2), 4) for b in blocks)
    return cal.Model("tmp", edges, probs, tuple(int(b[1]) for b in blocks))


def ece(pairs: list[tuple[float, bool]], bins: int = 10) -> float:
    if not pairs:
        return float("nan")
    p = np.array([a for a, _ in pairs])
    y = np.array([b for _, b in pairs], float)
    idx = np.minimum((p * bins).astype(int), bins - 1)
    tot = 0.0
    for b in range(bins):
        s = idx == b
        if s.any():
            tot += s.sum() / len(p) * abs(p[s].mean() - y[s].mean())
    return float(tot)


def located_stats(rs: list[ClipResult], located_at: float) -> dict[str, Any]:
    loc = [r for r in rs if r.verdict == "located"]
    ok = sum(r.right1 for r in loc)
    pos = [r for r in rs if r.positive]
    several = [r for r in rs if r.right1 and r.n_kf1 >= 2 and r.verdict != "located"]
    return {"located": len(loc), "located_right": ok, "located_wrong": len(loc) - ok,
            "precision": ok / len(loc) if loc else float("nan"),
            "recall": ok / len(pos) if pos else float("nan"), "n_pos": len(pos),
            "n_neg": len(rs) - len(pos),
            "neg_located": sum(r.verdict == "located" for r in rs if not r.positive),
            "several_below": [r.clip for r in several], "hit1": sum(r.right1 for r in pos),
            "shots_located": sum(r.shots_located for r in rs),
            "shots_located_wrong": sum(r.shots_located_wrong for r in rs),
            "shots_several_below": sum(r.shots_several_below for r in rs)}


def _bins(pairs: list[tuple[float, bool]]) -> list[tuple[float, float, int]]:
    p = np.array([a for a, _ in pairs])
    y = np.array([b for _, b in pairs], float)
    idx = np.minimum((p * 10).astype(int), 9)
    return [(float(p[idx == b].mean()), float(y[idx == b].mean()), int((idx == b).sum()))
            for b in range(10) if (idx == b).any()]


def diagram(sets: dict[str, list[tuple[float, bool]]], path: Path, title: str) -> None:
    """Reliability diagram drawn with OpenCV (matplotlib is not in the lock): left, share
    right per confidence decile (marker area ~ count, count printed); right, histogram."""
    import cv2

    w, h, m = 1100, 560, 70
    img = np.full((h, w, 3), 255, np.uint8)
    colours = [(200, 90, 30), (40, 40, 220), (60, 160, 60), (150, 50, 150)]
    pw = (w - 3 * m) // 2
    ph = h - 2 * m - 40

    def panel(x0: int, xlabel: str, ylabel: str, yticks: list[tuple[float, str]]) -> None:
        cv2.rectangle(img, (x0, m), (x0 + pw, m + ph), (0, 0, 0), 1)
        for v in range(11):
            x = x0 + round(v / 10 * pw)
            cv2.line(img, (x, m + ph), (x, m + ph + 5), (0, 0, 0), 1)
            if v % 2 == 0:
                cv2.putText(img, f"{v / 10:.1f}", (x - 12, m + ph + 20),
                            cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
        for fy, lab in yticks:
            y = m + ph - round(fy * ph)
            cv2.line(img, (x0 - 5, y), (x0, y), (0, 0, 0), 1)
            cv2.putText(img, lab, (x0 - 42, y + 4), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1,
                        cv2.LINE_AA)
        cv2.putText(img, xlabel, (x0 + pw // 2 - 90, m + ph + 40), cv2.FONT_HERSHEY_SIMPLEX,
                    0.5, (0, 0, 0), 1, cv2.LINE_AA)
        cv2.putText(img, ylabel, (x0, m - 10), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1,
                    cv2.LINE_AA)

    x0 = m
    panel(x0, "stated confidence (bin mean)", "share right (count per bin)",
          [(v / 10, f"{v / 10:.1f}") for v in range(0, 11, 2)])
    cv2.line(img, (x0, m + ph), (x0 + pw, m), (150, 150, 150), 1, cv2.LINE_AA)

    def pt(px: float, py: float) -> tuple[int, int]:
        return x0 + round(px * pw), m + ph - round(py * ph)

    for k, (name, pairs) in enumerate(sets.items()):
        col = colours[k % len(colours)]
        bins = _bins(pairs) if pairs else []
        for (a, b), (c, d) in zip([(x, y) for x, y, _ in bins][:-1],
                                  [(x, y) for x, y, _ in bins][1:], strict=True):
            cv2.line(img, pt(a, b), pt(c, d), col, 1, cv2.LINE_AA)
        for x, y, n in bins:
            cv2.circle(img, pt(x, y), max(3, min(12, round(2 * math.sqrt(n)))), col, 2,
                       cv2.LINE_AA)
            px, py = pt(x, y)
            cv2.putText(img, str(n), (px + 6, py + 14 + 11 * k), cv2.FONT_HERSHEY_SIMPLEX, 0.35,
                        col, 1, cv2.LINE_AA)
        cv2.putText(img, f"{name}: ECE {ece(pairs):.3f}, n={len(pairs)}",
                    (x0 + pw // 5, m + ph * 3 // 4 + 16 * k), cv2.FONT_HERSHEY_SIMPLEX, 0.4, col,
                    1, cv2.LINE_AA)
    # histogram (log counts)
    x1 = 2 * m + pw
    allmax = 1
    hists = []
    for pairs in sets.values():
        hh, _ = np.histogram([a for a, _ in pairs], bins=20, range=(0, 1))
        hists.append(hh)
        allmax = max(allmax, int(hh.max()) if hh.size else 1)
    top = math.log10(allmax + 1)
    panel(x1, "stated confidence", "candidates (log scale)",
          [(math.log10(v + 1) / top, str(v)) for v in (1, 10, 100, 1000) if v <= allmax * 1.01])
    bw = pw / 20
    for k, hh in enumerate(hists):
        col = colours[k % len(colours)]
        for i, n in enumerate(hh):
            if n:
                xa = x1 + round(i * bw + k * bw / len(hists))
                xb = x1 + round(i * bw + (k + 1) * bw / len(hists)) - 1
                y = m + ph - round(math.log10(n + 1) / top * ph)
                cv2.rectangle(img, (xa, y), (xb, m + ph), col, -1)
    cv2.putText(img, title, (m, h - 14), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.imwrite(str(path), img)


def write_model(m: cal.Model, version: str) -> None:
    p = REPO / "workbench" / "rank" / "calibration.py"
    text = p.read_text()
    block = (
        "# BEGIN FITTED (written by benchmarks/calibration/fit.py; do not edit by hand)\n"
        f'MODEL_VERSION = "{version}"\n'
        "MODEL = Model(\n"
        "    version=MODEL_VERSION,\n"
        f"    edges={tuple(round(e, 4) for e in m.edges)!r},\n"
        f"    probs={m.probs!r},\n"
        f"    counts={m.counts!r},\n"
        ")\n"
        "# END FITTED"
    )
    text = re.sub(r"# BEGIN FITTED.*?# END FITTED", block, text, flags=re.S)
    p.write_text(text)


def compare_matchers(model: cal.Model) -> None:
    """``--matcher sift`` vs ``auto`` (learned extra installed) on the benchmark clips both
    collections hold: hit@1, wrong ``located``, seconds (the engine's own total)."""
    import statistics

    runs = {m: {d["name"]: d for d in load("bench", m)} for m in ("sift", "auto")}
    names = sorted(set(runs["sift"]) & set(runs["auto"]))
    if not names:
        return
    print(f"\n`--matcher sift` vs `--matcher auto` (learned installed), benchmarks/locate, "
          f"{len(names)} clips collected by both:\n")
    print("| | sift | auto |")
    print("|---|---|---|")
    res = {m: [rank_clip(runs[m][n], model) for n in names] for m in runs}
    secs = {m: [float(runs[m][n]["secs"]) for n in names] for m in runs}
    learned = sum(sum(1 for h in runs["auto"][n]["hyps"] if h.scores.get("learned"))
                  for n in names)

    def row(label: str, f: Any) -> None:
        print(f"| {label} | {f('sift')} | {f('auto')} |")

    def pos(m: str) -> list[ClipResult]:
        return [r for r in res[m] if r.positive]

    row("positives hit@1", lambda m: f"{sum(r.right1 for r in pos(m))}/{len(pos(m))}")
    row("positives `located` and right",
        lambda m: f"{sum(r.right1 and r.verdict == 'located' for r in pos(m))}/{len(pos(m))}")
    row("`located` but wrong (positives + negatives)",
        lambda m: str(sum(r.verdict == "located" and not r.right1 for r in res[m])))
    row("negatives `located`", lambda m: str(sum(r.verdict == "located" for r in res[m]
                                                  if not r.positive)))
    row("median seconds per clip", lambda m: f"{statistics.median(secs[m]):.1f}")
    row("total seconds", lambda m: f"{sum(secs[m]):.0f}")
    for g in sorted({runs["sift"][n]["family"] for n in names}):
        idx = [i for i, n in enumerate(names) if runs["sift"][n]["family"] == g]
        row(f"{g}: hit@1 / median s", lambda m, idx=idx: (
            f"{sum(res[m][i].right1 for i in idx)}/{len(idx)} / "
            f"{statistics.median(secs[m][i] for i in idx):.1f}"))
    print(f"\nlearned hypotheses (auto): {learned}")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--matcher", default="sift")
    ap.add_argument("--bench-matcher", default=None, help="default: --matcher")
    ap.add_argument("--write", action="store_true")
    ap.add_argument("--version", default="")
    a = ap.parse_args()
    docs = load("calib", a.matcher)
    bench = load("bench", a.bench_matcher or a.matcher)
    if not docs:
        print("no cached calibration evidence: run collect.py calib first", file=sys.stderr)
        return 2
    fams: dict[str, list[int]] = {}
    for d in docs:
        f = fams.setdefault(d["family"], [0, 0])
        f[0 if d["positive"] else 1] += 1
    print(f"calibration set: {len(docs)} clips ("
          + ", ".join(f"{k} {v[0]}+/{v[1]}-" for k, v in sorted(fams.items())) + ")")
    nokf = [d["name"] for d in docs if not d["kfs"]]
    print(f"clips without a usable keyframe (footage mostly outside the raster, or blank): "
          f"{len(nokf)} ({sum(d['positive'] for d in docs if not d['kfs'])} positive) "
          + " ".join(nokf[:8]))
    pl = places(docs)
    print(f"candidate places: {len(pl)}, right {sum(p.right for p in pl)}")
    cfg = RankConfig()
    # 5-fold cross-validation by clip
    names = sorted({d["name"] for d in docs})
    fold = {n: i % 5 for i, n in enumerate(names)}
    cv_res: list[ClipResult] = []
    for k in range(5):
        train = [p for p in pl if fold[p.clip] != k]
        m = fit(train)
        cv_res += [rank_clip(d, m) for d in docs if fold[d["name"]] == k]
    model = fit(pl)
    version = a.version or f"bins-{len(docs)}clips-{len(pl)}places-{a.matcher}"
    model = cal.Model(version, model.edges, model.probs, model.counts)
    print(f"model {version}: cap {model.cap}; strength edges {model.edges}, "
          f"probabilities {model.probs}, places per bin {model.counts}")
    calib_full = [rank_clip(d, model) for d in docs]
    bench_res = [rank_clip(d, model) for d in bench]
    bench_old = [rank_clip(d, "previous") for d in bench]

    def report(name: str, rs: list[ClipResult]) -> dict[str, Any]:
        top = [(r.conf, r.right1) for r in rs if r.cands]
        allc = [c for r in rs for c in r.cands]
        s = located_stats(rs, cfg.located_at)
        print(f"| {name} | {len(rs)} | {ece(top):.3f} | {ece(allc):.3f} | "
              f"{s['located_right']}/{s['located']} ({100 * s['precision']:.1f} %) | "
              f"{s['located_right']}/{s['n_pos']} ({100 * s['recall']:.1f} %) | "
              f"{s['located_wrong']} | {s['neg_located']}/{s['n_neg']} | "
              f"{len(s['several_below'])} {' '.join(s['several_below'][:4])} | "
              f"{s['shots_located_wrong']}/{s['shots_located']} | {s['shots_several_below']} |")
        return {"top": top, "all": allc, **s}

    print("\n| set | clips | ECE top-1 | ECE all candidates | `located` precision | "
          "`located` recall | wrong `located` | negatives `located` | right, >= 2 keyframes, "
          "not `located` | shots: wrong / `located` | shots: right, >= 2 own keyframes, "
          "not `located` |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    r_cv = report("calibration set, 5-fold CV", cv_res)
    report("calibration set, fit on all (in-sample)", calib_full)
    r_b = report("benchmarks/locate, fitted model", bench_res)
    r_o = report("benchmarks/locate, previous confidence", bench_old)
    diagram({"calibration set (5-fold CV), all candidates": r_cv["all"],
             "benchmarks/locate, top-1": r_b["top"],
             "benchmarks/locate, previous confidence, top-1": r_o["top"]}, PNG,
            f"calibrated confidence {version} ({len(docs)} calibration clips; "
            f"benchmark {len(bench)} clips)")
    print(f"\nreliability diagram: {PNG.relative_to(REPO)}")
    print("\n`located` threshold (RankConfig.located_at) sweep, fitted model: precision / "
          "recall / wrong `located`\n")
    print("| located_at | calibration set (5-fold CV) | benchmarks/locate |")
    print("|---|---|---|")
    for at in (0.5, 0.6, 0.7, 0.8, 0.9):
        c = RankConfig(located_at=at)
        cvr = []
        for k in range(5):
            m = fit([p for p in pl if fold[p.clip] != k])
            cvr += [rank_clip(d, m, cfg=c) for d in docs if fold[d["name"]] == k]
        br = [rank_clip(d, model, cfg=c) for d in bench]

        def pr(rs: list[ClipResult], at: float = at) -> str:
            s = located_stats(rs, at)
            return (f"{s['located_right']}/{s['located']} / {s['located_right']}/{s['n_pos']} / "
                    f"{s['located_wrong']}")

        print(f"| {at:.1f}{' (current)' if at == cfg.located_at else ''} | {pr(cvr)} | "
              f"{pr(br)} |")
    print("\nbenchmark per clip: name verdict conf right1 n_kf")
    for r in bench_res:
        print(f"  {r.clip:22s} {r.verdict:11s} {r.conf:.3f} {int(r.right1)} {r.n_kf1}")
    compare_matchers(model)
    if a.write:
        write_model(model, version)
        print("written to workbench/rank/calibration.py")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
