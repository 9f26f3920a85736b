"""Case-file speed: create, analyst actions, open, verify and reports.

Run: ``.venv/bin/python benchmarks/bench_case.py [--keep DIR]`` (about 15 s, 1 core).

Uses the synthetic scene of ``tests/casekit.py`` (768 px town, 320x240 keyframes, no
engine) and measures, printing one JSON document:

* ``Case.create`` (hashing, PNG blobs, one transaction, fsync, rename);
* analyst actions per second (each is one fsync'd transaction + a chained audit entry);
* ``Case.open`` of a case with 1000 audit entries (quick_check included);
* ``verify_case`` and ``write_reports`` (all four formats, each format separately);
* the case file size.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from casekit import make_scene  # noqa: E402

from workbench.case.casefile import Case  # noqa: E402
from workbench.report import write_reports  # noqa: E402
from workbench.verify.check import verify_case  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--keep", help="work in this folder and keep it")
    args = ap.parse_args()
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench_case_"))
    work.mkdir(parents=True, exist_ok=True)
    out: dict[str, object] = {}
    try:
        scene = make_scene(work / "scene")
        path = work / "bench.wbcase"
        path.unlink(missing_ok=True)
        t = time.perf_counter()
        case = Case.create(path, video_path=scene.video, tiles=[scene.tile],
                           result=scene.result, keyframes_dir=scene.out_dir)
        out["create_s"] = round(time.perf_counter() - t, 4)
        n = 1000
        t = time.perf_counter()
        for i in range(n):
            if i % 2:
                case.add_note(f"note {i}")
            else:
                case.confirm(1, f"confirm {i}")
        dt = time.perf_counter() - t
        out["actions_per_s"] = round(n / dt, 1)
        case.close()
        t = time.perf_counter()
        with Case.open(path) as c2:
            out["open_s"] = round(time.perf_counter() - t, 4)
            t = time.perf_counter()
            out["audit_entries"] = len(c2.audit_log())
            out["read_audit_log_s"] = round(time.perf_counter() - t, 4)
        t = time.perf_counter()
        rep = verify_case(path)
        out["verify_s"] = round(time.perf_counter() - t, 4)
        out["verify_ok"] = rep.ok
        with Case.open(path) as c3:
            for fmt in ("geojson", "kml", "html", "pdf"):
                t = time.perf_counter()
                [p] = write_reports(c3, [fmt], work / "rep")
                out[f"report_{fmt}_s"] = round(time.perf_counter() - t, 3)
                out[f"report_{fmt}_bytes"] = p.stat().st_size
        out["case_bytes"] = path.stat().st_size
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
