"""Desktop workbench responsiveness and the cost of the comparison view.

Run: ``.venv/bin/python benchmarks/bench_ui.py [--demo DIR]``  (about 1 minute).

Prints one JSON document with:

* ``locate_event_loop``: the real locate on the demo data (footage + both towns) run
  in a child process (:class:`workbench_ui.workers.ProcessTask`, what the app does) and, for
  comparison, in a thread of the GUI process (:class:`workbench_ui.workers.Task`).  For each:
  wall time, longest gap between ticks of a 5 ms QTimer, the 99th percentile gap, and
  the longest time the GUI thread itself was busy between two ticks.  Goal: no gap
  over 100 ms caused by the app (busy < 100 ms; wall gaps also include time the GUI
  thread waits for a CPU on a loaded machine).
* ``compare``: time to prepare the comparison of candidate 1 (crop read + warp, off
  the GUI thread) and to display it (GUI thread), and one point geolocation.
* ``real_imagery``: crop read + warp for a synthetic candidate in the middle of each
  real raster in ``../shared/data/imagery`` (skipped when absent).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
IMAGERY = REPO.parent / "shared" / "data" / "imagery"


def _loop_stats(app: Any, start_job: Any) -> dict[str, float]:
    from PyQt6.QtCore import QTimer

    gaps: list[float] = []
    busy = [0.0]
    last = [0.0, 0.0]

    def tick() -> None:
        now, cpu = time.perf_counter(), time.thread_time()
        if last[0]:
            gaps.append(now - last[0])
            busy[0] = max(busy[0], cpu - last[1])
        last[0], last[1] = now, cpu

    timer = QTimer()
    timer.setInterval(5)
    timer.timeout.connect(tick)
    done: list[Any] = []
    t0 = time.perf_counter()
    task = start_job()
    task.finished.connect(lambda: done.append(1))
    task.failed.connect(lambda m: print("job failed:", m, file=sys.stderr))
    timer.start()
    task.start()
    while not done:
        app.processEvents()
        time.sleep(0.001)
    timer.stop()
    wall = time.perf_counter() - t0
    g = sorted(gaps)
    return {
        "wall_s": round(wall, 2),
        "max_gap_ms": round(1000 * max(g), 1) if g else 0.0,
        "p99_gap_ms": round(1000 * g[int(0.99 * (len(g) - 1))], 1) if g else 0.0,
        "max_gui_busy_ms": round(1000 * busy[0], 1),
        "ticks": len(g),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo", type=Path, default=Path(tempfile.gettempdir()) / "wb-demo")
    args = parser.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from workbench_fixtures.cli import make_demo

    demo = make_demo(args.demo)
    from PyQt6.QtWidgets import QApplication

    app = QApplication([sys.argv[0]])
    from workbench_ui.jobs import locate_into_case
    from workbench_ui.workers import ProcessTask, Task

    work = Path(tempfile.mkdtemp(prefix="bench-ui-"))
    tiles = [Path(demo["town"]), Path(demo["other_town"])]
    out: dict[str, Any] = {"cpu_count": os.cpu_count(), "loadavg_1m": os.getloadavg()[0]}
    out["locate_event_loop"] = {
        "child_process": _loop_stats(app, lambda: ProcessTask(
            locate_into_case, work / "p.wbcase", Path(demo["video"]), tiles, name="locate")),
        "gui_thread_worker": _loop_stats(app, lambda: Task(
            locate_into_case, work / "t.wbcase", Path(demo["video"]), tiles, name="locate")),
    }

    # --- the comparison of candidate 1 ---------------------------------------------------
    from workbench_ui.compare import CompareWidget
    from workbench_ui.compare_data import prepare

    from workbench.case.casefile import Case
    from workbench.compare import locate_pixel

    with Case.open(work / "p.wbcase") as case:
        res = case.result
        cand = res.candidates[0]
        tile = next(t for t in res.tiles if t.path == cand.tile)
        image, mask = case.keyframe_image(cand.keyframe_id), case.keyframe_mask(cand.keyframe_id)
    t = time.perf_counter()
    data = prepare(cand, tile, image, mask)
    t_prep = time.perf_counter() - t
    w = CompareWidget()
    w.resize(1000, 500)
    w.show()
    app.processEvents()
    t = time.perf_counter()
    w.apply(data)
    app.processEvents()
    t_apply = time.perf_counter() - t
    t = time.perf_counter()
    for _ in range(100):
        locate_pixel(cand, tile, 320.0, 180.0)
    t_point = (time.perf_counter() - t) / 100
    out["compare"] = {
        "prepare_ms": round(1000 * t_prep, 1),
        "display_ms_gui_thread": round(1000 * t_apply, 1),
        "crop_px": list(data.crop.image.shape[:2]),
        "locate_pixel_ms": round(1000 * t_point, 2),
    }

    # --- real imagery ------------------------------------------------------------------------
    real: dict[str, Any] = {}
    if IMAGERY.is_dir():
        import dataclasses

        import numpy as np

        from workbench.errors import WorkbenchError
        from workbench.imagery.catalog import catalog_file

        for path in sorted(IMAGERY.glob("*/*.tif")):
            try:
                t0 = catalog_file(path)
            except WorkbenchError as exc:
                real[path.name] = {"error": str(exc)}
                continue
            ref = t0.to_ref()
            cx, cy = t0.width / 2, t0.height / 2
            hm = np.array([[1.0, 0, cx - 320], [0, 1.0, cy - 180], [0, 0, 1]])
            c2 = dataclasses.replace(cand, homography=hm.tolist(), keyframe_xy=[], tile_xy=[],
                                     tile=str(path))
            t = time.perf_counter()
            try:
                d = prepare(c2, ref, image, mask)
            except WorkbenchError as exc:
                real[path.name] = {"error": str(exc)}
                continue
            real[path.name] = {
                "raster_px": [t0.height, t0.width],
                "prepare_ms": round(1000 * (time.perf_counter() - t), 1),
                "crop_px": list(d.crop.image.shape[:2]),
                "scale": round(d.crop.scale, 2),
            }
    out["real_imagery"] = real or "skipped: ../shared/data/imagery absent"
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
