"""Background tasks: results, one-line errors, cancel and crashes, in a thread and in a
child process."""

from __future__ import annotations

import sys
from typing import Any

import pytest

pytest.importorskip("PyQt6")
pytestmark = pytest.mark.gui

from test_ui_support import (  # noqa: E402
    job_crash,
    job_fail,
    job_loaded_qt,
    job_ok,
    job_surroundings,
    job_until_cancelled,
)


def _run(qtbot: Any, task: Any, cancel_after_ms: int | None = None) -> dict[str, Any]:
    from PyQt6.QtCore import QTimer

    got: dict[str, Any] = {"progress": []}
    task.progress.connect(lambda s, f: got["progress"].append((s, f)))
    task.succeeded.connect(lambda v: got.setdefault("ok", v))
    task.failed.connect(lambda m: got.setdefault("failed", m))
    task.cancelled.connect(lambda: got.setdefault("cancelled", True))
    with qtbot.waitSignal(task.finished, timeout=60_000):
        task.start()
        if cancel_after_ms is not None:
            QTimer.singleShot(cancel_after_ms, task.cancel)
    return got


@pytest.mark.parametrize("kind", ["thread", "process"])
def test_result_progress_error_cancel(qtbot: Any, kind: str) -> None:
    from workbench_ui.workers import ProcessTask, Task

    make = Task if kind == "thread" else ProcessTask
    got = _run(qtbot, make(job_ok, 5))
    assert got["ok"] == 10 and "failed" not in got
    assert got["progress"] and got["progress"][-1] == ("step 4", 1.0)
    got = _run(qtbot, make(job_fail, "/x/clip.mp4"))
    assert got["failed"] == "/x/clip.mp4: not a video FFmpeg can open"
    got = _run(qtbot, make(job_until_cancelled), cancel_after_ms=200)
    assert got.get("cancelled") and "ok" not in got and "failed" not in got


def test_a_child_process_job_runs_without_qt(qtbot: Any) -> None:
    from workbench_ui.workers import ProcessTask

    got = _run(qtbot, ProcessTask(job_loaded_qt))
    assert got["ok"] == [], got


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="jobs fork only on Linux")
def test_jobs_start_preloaded_and_see_the_parents_environment(
        qtbot: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Jobs are forked from a server that imported the job modules once; a forked child
    would otherwise keep the server's environment from when it started."""
    from workbench_ui.workers import ProcessTask, job_context, start_job_server

    assert job_context().get_start_method() == "forkserver"
    start_job_server()
    start_job_server()  # once is enough: the running server is kept
    first = _run(qtbot, ProcessTask(job_surroundings, "WORKBENCH_TEST_MARK"))["ok"]
    monkeypatch.setenv("WORKBENCH_TEST_MARK", "after the server started")
    second = _run(qtbot, ProcessTask(job_surroundings, "WORKBENCH_TEST_MARK"))["ok"]
    assert first["preloaded"] and second["preloaded"]  # no import of the core per job
    assert first["pid"] != second["pid"]  # one process per job
    assert second["mark"] == "after the server started"
    assert second["proj_db_shared_with_server"] is False  # PROJ's database reopened
    monkeypatch.delenv("WORKBENCH_TEST_MARK")
    assert _run(qtbot, ProcessTask(job_surroundings, "WORKBENCH_TEST_MARK"))["ok"]["mark"] is None


def test_a_job_that_cannot_start_is_a_message(qtbot: Any, monkeypatch: pytest.MonkeyPatch
                                              ) -> None:
    from workbench_ui.workers import ProcessTask

    task = ProcessTask(job_ok, 1, name="locate")

    def refuse(self: Any) -> None:
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr(type(task._ctx.Process(target=print)), "start", refuse)
    got = _run(qtbot, task)
    assert got["failed"] == "the locate job could not start (Connection refused)"
    assert not task.is_running()


def test_child_crash_is_a_message_not_a_dead_app(qtbot: Any) -> None:
    from workbench_ui.workers import ProcessTask

    got = _run(qtbot, ProcessTask(job_crash, name="locate"))
    assert "stopped unexpectedly" in got["failed"] and "exit code 7" in got["failed"]


def test_describe_error_is_one_line() -> None:
    from workbench_ui.runner import describe_error

    assert describe_error(FileNotFoundError(2, "No such file", "/a/b.mp4")) == \
        "/a/b.mp4: No such file"
    assert describe_error(ValueError("bad\nvalue")) == "internal error: ValueError: bad value"
