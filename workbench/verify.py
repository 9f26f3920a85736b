"""``workbench verify``: check a case file against the files it describes.

Re-hashes the footage, every stored keyframe PNG and every reference raster,
checks the audit log's hash chain, and recomputes each confirmed location from
the stored correspondences (keyframe pixel <-> tile pixel tie points).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Finding:
    """One verification problem.

    ``kind``: ``footage_missing``, ``footage_hash``, ``keyframe_hash``, ``raster_missing``,
    ``raster_hash``, ``audit_chain``, ``location_mismatch``, ``residuals``, ...;
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

    @property
    def ok(self) -> bool:
        return not any(f.severity == "error" for f in self.findings)


def verify_case(path: str | os.PathLike[str]) -> VerifyReport:
    """Verify the case file at ``path`` (opened read-only, never modified).

    Raises the ``Case.open`` errors (``CaseOpenError``, ``CaseCorruptError``,
    ``CaseVersionError``) when the case itself cannot be read.
    """
    raise NotImplementedError
