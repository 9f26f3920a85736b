"""The outcome of ``workbench verify``: findings and the report (the bottom of
:mod:`workbench.verify`, imported by its implementation)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["error", "warning"]
POSITION_TOL_M = 1.0  # stored position vs. its own homography
MAX_MEDIAN_RESIDUAL_PX = 8.0  # inliers of a matcher's homography sit well within this

# exit codes of `workbench verify` (documented in its --help and docs/verify.md)
EXIT_VERIFIED = 0  # every check ran and passed
EXIT_MISMATCH = 1  # at least one check found tampering, a changed or missing file
EXIT_BAD_INPUT = 2  # the case (or a key/option) cannot be read at all
EXIT_NOT_CHECKED = 3  # no mismatch found, but some check could not run (internal failure)


@dataclass(frozen=True)
class Finding:
    """One verification problem.

    ``kind``: ``footage_missing``, ``footage_hash``, ``footage_copy``,
    ``footage_metadata``, ``keyframe_hash``, ``keyframe_decode``, ``keyframe_changed``,
    ``raster_missing``, ``raster_hash``, ``raster_sidecar``, ``raster_georef``,
    ``raster_metadata``, ``audit_chain``, ``audit_missing``, ``audit_mismatch``,
    ``audit_rows`` (an entry's recorded row digests altered), ``row_deleted``,
    ``row_changed``, ``record_unreadable``, ``schema_changed`` (dropped/planted
    trigger, rebuilt table), ``anchor_signature``, ``anchor_head``,
    ``anchor_untrusted``, ``anchor_timestamp``, ``candidate_changed``,
    ``location_mismatch``, ``residuals``, ``refit_mismatch``, ``target_mismatch``,
    ``no_correspondences``;
    ``subject``: what it is about (a path, ``kf0003``, ``rank 1``, ``audit #12``,
    ``note 3``, ``trigger notes_no_delete``);
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
    """Outcome of :func:`verify_case`.

    ``ok`` is ``True`` when no *error* finding exists and every check ran
    (``not_checked`` empty); ``status`` is ``"verified"``, ``"mismatch"`` or
    ``"not checked"``; ``partly`` lists what the case's age leaves uncheckable;
    ``anchoring`` says up to which audit entry the log is signed, by which key.
    """

    path: str
    findings: list[Finding] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)  # one line per successful check
    audit_head: str = ""  # hash of the last audit entry (record it to detect truncation)
    not_checked: list[str] = field(default_factory=list)  # checks that could not run
    partly: list[str] = field(default_factory=list)  # what this case's schema cannot prove
    anchoring: str = "not anchored"  # one line: signed up to which entry, by which key
    anchored_seq: int = 0  # last audit entry covered by a valid signature (0: none)
    audit_entries: int = 0
    fingerprints: list[str] = field(default_factory=list)  # keys of valid signatures

    @property
    def tampered(self) -> bool:
        return any(f.severity == "error" for f in self.findings)

    @property
    def ok(self) -> bool:
        return not self.tampered and not self.not_checked

    @property
    def status(self) -> str:
        return "mismatch" if self.tampered else "not checked" if self.not_checked else \
            "verified"

    @property
    def exit_code(self) -> int:
        return EXIT_MISMATCH if self.tampered else EXIT_NOT_CHECKED if self.not_checked \
            else EXIT_VERIFIED

    def error(self, kind: str, subject: str, message: str) -> None:
        self.findings.append(Finding("error", kind, subject, message))

    def warning(self, kind: str, subject: str, message: str) -> None:
        self.findings.append(Finding("warning", kind, subject, message))
