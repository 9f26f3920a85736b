"""Longer fuzz campaign over the CLI: counts per input class and peak memory per input.

    .venv/bin/python benchmarks/fuzz/campaign.py --per-class 80 --minutes 15

Input classes: MP4 (``info`` and ``keyframes --out``), GeoTIFF (``tiles``, and
``locate`` on a share of them), GeoJSON and KML context layers (``case context`` then
``report``), case files (byte mutants and damaged content: ``case info``, ``report``),
and the crafted hostile rasters of ``tests/hostile.py`` (``tiles``).  The mutators and
seeds are those of the CI suite (``tests/fuzz/fuzzkit.py``), with other seeds.

Each input runs in a child forked from a parent that has already imported the
workbench (no interpreter start-up per input), with stdout/stderr in files, an
address-space cap (``--cap-gb``, default 4) and a wall-clock limit (``--timeout``,
default 120 s; beyond it the child is killed and counted as a hang).  Peak memory is
the child's own ``ru_maxrss`` (``os.wait4``); it includes the pages shared with the
parent (~the imported libraries), so it is the resident size a separate process
would have.

Outcomes: ``ok`` (exit 0), ``clean error`` (exit 2 with one ``workbench: error:``
line), ``internal`` (exit 1: ``internal error``), ``crash`` (killed by a signal other
than the timeout, or a traceback on stderr), ``hang`` (timeout), ``messy`` (an exit 2
whose stderr is not one clean line), ``data lost`` (a foreign file in ``--out``
changed or gone, or a temp folder left behind).  Exit code 1 if anything but ok and
clean errors was seen.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "fuzz")]

import fuzzkit  # noqa: E402  (after the path set-up above)
import hostile  # noqa: E402

# pre-import what the commands load lazily, so children start warm
import workbench.case  # noqa: E402
import workbench.keyframes  # noqa: E402
import workbench.locate  # noqa: E402
import workbench.report  # noqa: E402, F401
from workbench.cli import main  # noqa: E402


@dataclass
class Stats:
    tried: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    peak_kb: int = 0
    seconds: float = 0.0
    examples: dict[str, str] = field(default_factory=dict)

    def add(self, outcome: str, peak_kb: int, secs: float, example: str) -> None:
        self.tried += 1
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1
        self.peak_kb = max(self.peak_kb, peak_kb)
        self.seconds += secs
        self.examples.setdefault(outcome, example)


def run_child(args: list[str], work: Path, cap_gb: float, timeout: float
              ) -> tuple[int | None, int, str, str, int, float]:
    """Fork, run ``main(args)``; returns (exit code or None, signal, stdout, stderr,
    peak kB, seconds)."""
    out_p, err_p = work / "stdout", work / "stderr"
    t0 = time.monotonic()
    pid = os.fork()
    if pid == 0:  # child
        try:
            n = int(cap_gb * (1 << 30))
            resource.setrlimit(resource.RLIMIT_AS, (n, n))
            fo = os.open(out_p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
            fe = os.open(err_p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
            os.dup2(fo, 1)
            os.dup2(fe, 2)
            sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115
            sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115
            try:
                code = main(args)
            except SystemExit as exc:
                code = int(exc.code or 0) if not isinstance(exc.code, str) else 2
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
        except BaseException:
            import traceback

            traceback.print_exc()
            sys.stderr.flush()
            os._exit(99)
    deadline = t0 + timeout
    while True:
        wpid, status, usage = os.wait4(pid, os.WNOHANG)
        if wpid:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            wpid, status, usage = os.wait4(pid, 0)
            return None, signal.SIGKILL, "", _read(err_p), usage.ru_maxrss, timeout
        time.sleep(0.02)
    secs = time.monotonic() - t0
    code = os.waitstatus_to_exitcode(status)
    sig = -code if code < 0 else 0
    return (code if code >= 0 else None), sig, _read(out_p), _read(err_p), usage.ru_maxrss, secs


def _read(p: Path) -> str:
    try:
        return p.read_bytes().decode("utf-8", "replace")
    except OSError:
        return ""


def classify(code: int | None, sig: int, out: str, err: str, timed_out: bool) -> str:
    if timed_out:
        return "hang"
    if code is None or code == 99:
        return "crash"
    lines = [ln for ln in err.splitlines() if ln.strip()]
    if "Traceback" in err:
        return "crash"
    if "\x1b" in out or "\x1b" in err:
        return "messy"
    if code == 1 or any("internal error" in ln for ln in lines):
        return "internal"
    if code == 0:
        return "ok"
    if code == 2 and lines and all(ln.startswith("workbench") for ln in lines) and sum(
            ": error:" in ln for ln in lines) == 1:
        return "clean error"
    return "messy"


def temps_left(*folders: Path) -> bool:
    for f in folders:
        if f.is_dir() and any(".wbtmp-" in n or ".wbnew-" in n or ".wbold-" in n
                              for n in os.listdir(f)):
            return True
    return False


def main_campaign() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--per-class", type=int, default=60)
    ap.add_argument("--minutes", type=float, default=15.0, help="wall-clock bound")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--cap-gb", type=float, default=4.0)
    ap.add_argument("--timeout", type=float, default=120.0)
    ap.add_argument("--locate-every", type=int, default=10,
                    help="also run locate on every N-th GeoTIFF mutant (0: never)")
    a = ap.parse_args()
    end = time.monotonic() + a.minutes * 60
    work = Path(tempfile.mkdtemp(prefix="wb-fuzz-"))
    seeds = work / "seeds"
    seeds.mkdir()
    s = {"mp4": fuzzkit.seed_mp4(seeds / "seed.mp4"),
         "tif": fuzzkit.seed_geotiff(seeds / "seed.tif"),
         "geojson": fuzzkit.seed_geojson(seeds / "seed.geojson"),
         "kml": fuzzkit.seed_kml(seeds / "seed.kml"),
         "case": fuzzkit.seed_case(seeds / "case")}
    stats: dict[str, Stats] = {}
    lost = 0

    def record(cls: str, args: list[str], out_dir: Path | None = None,
               keep: Path | None = None) -> str:
        nonlocal lost
        code, sig, out, err, kb, secs = run_child(args, work, a.cap_gb, a.timeout)
        outcome = classify(code, sig, out, err, timed_out=code is None and sig == 9
                           and secs >= a.timeout)
        if keep is not None and (not keep.is_file() or keep.read_text() != "keep"):
            outcome = "data lost"
        if out_dir is not None and temps_left(out_dir, out_dir.parent):
            outcome = "data lost"
        lost += outcome == "data lost"
        stats.setdefault(cls, Stats()).add(outcome, kb, secs,
                                           f"{' '.join(args)[:160]} -> {err.strip()[-200:]}")
        return outcome

    rng = random.Random(a.seed)
    n = a.per_class

    def mutants(kind: str, fn: Callable[[bytes, random.Random], bytes], count: int) -> list[Path]:
        data = s[kind].read_bytes()
        folder = work / f"in_{kind}"
        folder.mkdir(exist_ok=True)
        paths = []
        for i in range(count):
            p = folder / f"{kind}{i:04d}{s[kind].suffix}"
            p.write_bytes(fn(data, rng))
            paths.append(p)
        return paths

    jobs: list[Callable[[], None]] = []
    kout = work / "kf_out"
    kout.mkdir()
    (kout / "keep.txt").write_text("keep")
    for i, p in enumerate(mutants("mp4", fuzzkit.mutate_bytes, n)):
        jobs.append(lambda p=p: record("MP4 (info)", ["info", "--no-hash", str(p)]))
        if i % 2 == 0:
            jobs.append(lambda p=p: record("MP4 (keyframes --out)", [
                "-q", "keyframes", str(p), "--out", str(kout), "--force"], kout,
                kout / "keep.txt"))
    lout = work / "loc_out"
    lout.mkdir()
    (lout / "keep.txt").write_text("keep")
    for i, p in enumerate(mutants("tif", fuzzkit.mutate_bytes, n)):
        jobs.append(lambda p=p: record("GeoTIFF (tiles)", ["tiles", str(p)]))
        if a.locate_every and i % a.locate_every == 0:
            jobs.append(lambda p=p: record("GeoTIFF (locate)", [
                "-q", "locate", str(s["mp4"]), "--tiles", str(p), "--out", str(lout),
                "--force"], lout, lout / "keep.txt"))
    for kind, fn in (("geojson", fuzzkit.mutate_json), ("kml", fuzzkit.mutate_kml)):
        for i, p in enumerate(mutants(kind, fn, n)):
            def layer(p: Path = p, i: int = i, kind: str = kind) -> None:
                case = work / f"layer_{kind}.wbcase"
                if i % 5 == 0 or not case.exists():
                    shutil.copyfile(s["case"], case)
                cls = "GeoJSON" if kind == "geojson" else "KML"
                record(f"{cls} (case context)", ["case", "context", str(case), str(p),
                                                 "--user", "fuzz"])
                if i % 5 == 4:
                    rout = work / f"rep_{kind}"
                    record(f"{cls} (report after)", ["report", str(case), "--format",
                                                     "geojson,kml", "--out", str(rout)], rout)
            jobs.append(layer)
    cases = [fuzzkit.edit_case(s["case"], work / f"edit{i:02d}.wbcase", sql)
             for i, sql in enumerate(fuzzkit.CASE_EDITS)]
    data = s["case"].read_bytes()
    for i in range(max(0, n - len(cases))):
        p = work / f"bytes{i:03d}.wbcase"
        p.write_bytes(fuzzkit.mutate_bytes(data, rng))
        cases.append(p)
    rout = work / "rep_case"
    rout.mkdir()
    (rout / "keep.txt").write_text("keep")
    for p in cases:
        jobs.append(lambda p=p: record("case file (case info)", ["case", "info", str(p)]))
        jobs.append(lambda p=p: record("case file (report)", [
            "report", str(p), "--format", "geojson,kml", "--out", str(rout), "--force"], rout,
            rout / "keep.txt"))
    hdir = work / "hostile"
    for make in hostile.RASTERS.values():
        path = make(hdir)
        jobs.append(lambda path=path: record("crafted raster (tiles)", ["tiles", str(path)]))
    rng.shuffle(jobs)
    t0 = time.monotonic()
    done = 0
    for job in jobs:
        if time.monotonic() > end:
            break
        job()
        done += 1
    wall = time.monotonic() - t0
    cols = ("ok", "clean error", "internal", "crash", "hang", "messy", "data lost")
    runs = sum(st.tried for st in stats.values())
    print(f"fuzz campaign: {runs} runs ({done}/{len(jobs)} jobs) in {wall / 60:.1f} min"
          f" (seed {a.seed}, cap {a.cap_gb:g} GB, timeout {a.timeout:g} s)\n")
    print("| input class (command) | tried | " + " | ".join(cols) + " | peak RSS | mean s |")
    print("|---|---:|" + "---:|" * len(cols) + "---:|---:|")
    bad = 0
    for cls in sorted(stats):
        st = stats[cls]
        bad += sum(st.outcomes.get(c, 0) for c in cols[2:])
        print(f"| {cls} | {st.tried} | "
              + " | ".join(str(st.outcomes.get(c, 0)) for c in cols)
              + f" | {st.peak_kb / 1024:.0f} MB | {st.seconds / max(1, st.tried):.1f} |")
    tot = Stats()
    for st in stats.values():
        for k, v in st.outcomes.items():
            tot.outcomes[k] = tot.outcomes.get(k, 0) + v
        tot.tried += st.tried
        tot.peak_kb = max(tot.peak_kb, st.peak_kb)
    print(f"| **all** | {tot.tried} | "
          + " | ".join(str(tot.outcomes.get(c, 0)) for c in cols)
          + f" | {tot.peak_kb / 1024:.0f} MB | |")
    for cls in sorted(stats):
        for outcome, ex in stats[cls].examples.items():
            if outcome in cols[2:] or (outcome == "clean error" and "after" in cls):
                print(f"\n{cls} {outcome}: {ex}")
    shutil.rmtree(work, ignore_errors=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main_campaign())
