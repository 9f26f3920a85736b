"""The workbench's single error hierarchy.

Every error the core raises on purpose derives from :class:`WorkbenchError`,
mixed with the builtin it refines (``VideoOpenError`` is also an ``OSError``), so
callers can catch either.  Errors carry the offending ``path`` when there is one;
``str(err)`` is a single line naming the file and the problem, which the CLI
prints as is.
"""

from __future__ import annotations

from os import PathLike
from pathlib import Path


def one_line(exc: BaseException, limit: int = 160) -> str:
    """A foreign exception's text on one line, at most ``limit`` characters (its type
    name when it has no text), for the reason part of a :class:`WorkbenchError`."""
    return " ".join(str(exc).split())[:limit] or type(exc).__name__


def describe(exc: BaseException) -> str:
    """One line for the user: a :class:`WorkbenchError` as is; an ``OSError`` the core did
    not wrap as ``"<file>: <reason>"``; anything else as ``"<Type>: <text>"``."""
    if isinstance(exc, WorkbenchError):
        return str(exc)
    if isinstance(exc, OSError):
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        return f"{where}{exc.strerror or exc}"
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class WorkbenchError(Exception):
    """Root of all deliberate workbench errors.

    Args:
        message: what went wrong, one line, no trailing period needed.
        path: the file or folder concerned, if any; it prefixes ``str(err)``.
    """

    def __init__(self, message: str, path: str | PathLike[str] | None = None) -> None:
        self.message = " ".join(str(message).split())  # force one line
        self.path = Path(path) if path is not None else None
        super().__init__(self.message)

    def __str__(self) -> str:
        if self.path is not None:
            return f"{self.path}: {self.message}"
        return self.message


class Cancelled(WorkbenchError):
    """Raised inside long work when the caller's cancel event is set."""

    def __init__(self, message: str = "cancelled by the user") -> None:
        super().__init__(message)


class UsageError(WorkbenchError, ValueError):
    """Arguments that cannot be used (bad option value, empty tile list...)."""


class MatcherUnavailableError(UsageError):
    """An optional matcher backend was asked for but its extra is not installed."""


class OutputError(WorkbenchError, OSError):
    """An output location cannot be written (unwritable folder, disk full...)."""


# --- footage -----------------------------------------------------------------


class VideoError(WorkbenchError):
    """Base for footage problems."""


class VideoOpenError(VideoError, OSError):
    """The file does not exist, is not a file, or is not a video FFmpeg can open."""


class VideoDecodeError(VideoError, ValueError):
    """The video opened but no (or too few) frames decode."""


class KeyframeError(WorkbenchError, ValueError):
    """Keyframe extraction could not produce a usable result."""


# --- imagery -----------------------------------------------------------------


class RasterError(WorkbenchError):
    """Base for reference-imagery problems."""


class RasterOpenError(RasterError, OSError):
    """GDAL cannot open or read the raster (missing, corrupt, truncated)."""


class NotGeoreferencedError(RasterError, ValueError):
    """The raster has no usable georeferencing (no CRS or no geotransform)."""


class CRSError(RasterError, ValueError):
    """The raster's CRS is unknown or cannot be transformed to WGS84."""


class NoUsableTilesError(RasterError, ValueError):
    """No raster in the given paths can be used for matching."""


# --- case files ----------------------------------------------------------------


class CaseError(WorkbenchError):
    """Base for case-file problems."""


class CaseOpenError(CaseError, OSError):
    """The case file is missing, unreadable or not a workbench case."""


class CaseCorruptError(CaseError, ValueError):
    """The case file is damaged; nothing was changed."""


class CaseVersionError(CaseError, ValueError):
    """The case was written by a newer schema version than this software reads."""


class CaseRecordNotFoundError(CaseError, KeyError):
    """A record asked of a case (a keyframe id...) is not in it.  Also a ``KeyError``, so
    ``except KeyError`` callers keep working; ``str(err)`` stays one plain line."""


class ContextLayerError(CaseError, ValueError):
    """A claim context-layer file (GeoJSON/KML/GeoPackage) cannot be read or has no polygons."""


class VerificationError(CaseError):
    """``verify`` found a mismatch (tampering, moved or changed file)."""


class ReportError(WorkbenchError):
    """A report could not be produced."""
