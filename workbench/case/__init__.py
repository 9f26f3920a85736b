"""Case files: one portable SQLite file (``.wbcase``) holding a whole investigation.

The public API: :class:`Case` (open/create, read, analyst actions), :func:`new_case`
(locate or an existing ``locate.json`` into a new case), :func:`resolve_case_path`
(the one ``.wbcase`` rule for CASE arguments) and the records a case returns.

Inside the package, bottom to top: ``model`` (records) <- ``audit`` (hash chain) <-
``store`` (every SQL statement) <- ``ingest``/``files``/``geometry`` (inputs, paths,
refits) <- ``view`` (reads) <- ``actions`` (writes) <- ``casefile`` (lifecycle).
"""

from workbench.case.casefile import CASE_SUFFIX, Case, new_case, resolve_case_path
from workbench.case.model import (
    AuditEntry,
    Claim,
    ContextLayer,
    Decision,
    DecisionStatus,
    FootageRecord,
    FootageSource,
    ImageryMeta,
    Note,
    PointOfInterest,
    RasterRecord,
    ShadowRecord,
    TiePoint,
)

__all__ = [
    "CASE_SUFFIX", "AuditEntry", "Case", "Claim", "ContextLayer", "Decision", "DecisionStatus",
    "FootageRecord", "FootageSource", "ImageryMeta", "Note", "PointOfInterest", "RasterRecord",
    "ShadowRecord", "TiePoint",
    "new_case",
    "resolve_case_path",
]
