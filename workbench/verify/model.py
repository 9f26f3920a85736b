"""The outcome of ``workbench verify``: findings and the report (the bottom of
:mod:`workbench.verify`, imported by its implementation)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["error", "warning"]
POSITION_TOL_M = 1.0  # stored position vs. its own homography
MAX_MEDIAN_RESIDUAL_PX = 8.0  # inliers of a matcher's homography sit well within this


@dataclass(frozen=True)
class Finding:
    """One verification problem.

    ``kind``: ``footage_missing``, ``footage_hash``, ``footage_copy``, ``keyframe_hash``,
    ``keyframe_decode``, ``raster_missing``, ``raster_hash``, ``raster_sidecar``,
    ``raster_georef``,
    ``audit_chain``, ``audit_missing``, ``audit_mismatch``, ``candidate_changed``,
    ``location_mismatch``,
    ``residuals``, ``refit_mismatch``, ``target_mismatch``, ``no_correspondences``;
    ``subject``: what it is about (a path, ``kf0003``, ``rank 1``, ``audit #12``);
    ``message``: one line with the expected and the found value.
    """

    severity: Severity
    kind: str
    subject: str
    message: str

    def __str__(self) -> str:
        return f"{self.severity.upper()} {self.kind} [{self.subject}]: {self.message}"


@dataclass
class VerifyReport:
    """Outcome of :func:`verify_case`: ``ok`` is ``True`` when no *error* finding exists."""

    path: str
    findings: list[Finding] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)  # one line per successful check
    audit_head: str = ""  # hash of the last audit entry (record it to detect truncation)

    @property
    def ok(self) -> bool:
        return not any(f.severity == "error" for f in self.findings)

    def error(self, kind: str, subject: str, message: str) -> None:
        self.findings.append(Finding("error", kind, subject, message))

    def warning(self, kind: str, subject: str, message: str) -> None:
        self.findings.append(Finding("warning", kind, subject, message))
