"""``verify``: check a case file against the files it describes and its own audit log.

Public API: :func:`verify_case` (path in, :class:`VerifyReport` out) and the
:class:`Finding` records of the report.  Inside: ``model`` (report types) <-
``records`` (analyst records vs the audit log) <- ``check`` (everything else).
"""

from workbench.verify.check import verify_case
from workbench.verify.model import Finding, VerifyReport

__all__ = ["Finding", "VerifyReport", "verify_case"]
