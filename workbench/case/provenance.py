"""Provenance the analyst enters into a case: where the footage was obtained (URL or
channel, capture/download time, archived copy's SHA-256) and the imagery's acquisition
date, attribution and ground sample distance when the raster's own metadata lacks them.

Each action is one transaction with one audit-log entry (see :mod:`workbench.case.audit`);
records are append-only, the latest one is current.  Text is stored exactly as entered
(one line, whitespace collapsed); reports neutralise control and bidi characters.
"""

from __future__ import annotations

import math
import os
import re
from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import urlsplit

from workbench.case.audit import utc_now
from workbench.case.ingest import check_not_readonly
from workbench.case.model import FootageSource, ImageryMeta, RasterRecord
from workbench.case.view import CaseView
from workbench.claim import parse_time
from workbench.errors import CaseError, UsageError
from workbench.hashing import sha256_file

MAX_TEXT = 2000  # characters of a URL, channel, attribution or note
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")


def _one_line(value: str | None, what: str, path: Path) -> str | None:
    """``value`` with whitespace collapsed, ``None`` if empty; ``UsageError`` if too long."""
    if value is None:
        return None
    text = " ".join(str(value).split())
    if len(text) > MAX_TEXT:
        raise UsageError(f"{what} is longer than {MAX_TEXT} characters", path)
    return text or None


def _url(value: str | None, path: Path) -> str | None:
    text = None if value is None else str(value).strip()
    if not text:
        return None
    parts = urlsplit(text)
    if _CONTROL.search(text) or any(c.isspace() for c in text) or not parts.scheme or \
            not parts.netloc or len(text) > MAX_TEXT:
        raise UsageError(f"--url {text[:80]!r} is not a URL (e.g. https://t.me/channel/123)",
                         path)
    return text


def _not_future(when: datetime, what: str, path: Path) -> None:
    if when.astimezone(UTC) > datetime.now(UTC):
        raise UsageError(f"{what} {when.isoformat()} is in the future", path)


def parse_imagery_date(text: str, path: Path | None = None) -> str:
    """An imagery acquisition date: ``YYYY``, ``YYYY-MM``, ``YYYY-MM-DD`` or an ISO 8601
    date-time with its zone; returned normalised.  ``UsageError`` otherwise or if in the
    future."""
    raw = " ".join(str(text).split())
    if _DATE.match(raw):
        y, m, d = (int(v) for v in (raw + "-01-01")[:10].split("-"))
        try:
            day = date(y, m, d)
        except ValueError as exc:
            raise UsageError(f"imagery date {raw!r} is not a calendar date", path) from exc
        if day > datetime.now(UTC).date():
            raise UsageError(f"imagery date {raw} is in the future", path)
        return raw
    if not re.match(r"^\d{4}-\d{2}-\d{2}[T ]", raw):
        raise UsageError(f"imagery date {raw!r}: use YYYY, YYYY-MM, YYYY-MM-DD or an ISO 8601 "
                         "time with its zone", path)
    try:
        when = parse_time(raw)
    except UsageError as exc:
        raise UsageError(f"imagery date: {exc.message}", path) from exc
    _not_future(when, "imagery date", path or Path("."))
    return when.isoformat()


class ProvenanceActions(CaseView):
    """Footage source and imagery provenance: the analyst-entered half of a case's sources."""

    def set_footage_source(self, *, url: str | None = None, channel: str | None = None,
                           obtained: str | None = None,
                           archive: str | os.PathLike[str] | None = None,
                           note: str | None = None) -> FootageSource:
        """Record where the footage was obtained.

        Args:
            url: where it was published (``scheme://host/...``).
            channel: the channel or account (e.g. ``@ministry on Telegram``).
            obtained: when it was captured or downloaded, ISO 8601 with its zone.
            archive: the archived copy (any local file; hashed, its SHA-256 recorded and
                compared with the footage's).
            note: free text (how it was captured, tool used...).
        ``UsageError`` (nothing recorded) without a URL, channel or archive, on a malformed
        URL, a time without a zone or in the future; ``CaseError`` if the archive cannot
        be read.
        """
        check_not_readonly(self.readonly, self.path)
        link = _url(url, self.path)
        chan = _one_line(channel, "--channel", self.path)
        text = _one_line(note, "--note", self.path)
        when = None
        if obtained is not None and str(obtained).strip():
            try:
                t = parse_time(str(obtained))
            except UsageError as exc:
                raise UsageError(f"--obtained: {exc.message}", self.path) from exc
            _not_future(t, "--obtained", self.path)
            when = t.isoformat()
        a_path = a_name = a_sha = None
        a_size: int | None = None
        if archive is not None:
            p = Path(archive)
            if not p.is_file():
                raise CaseError("archived copy not found", p)
            a_sha, a_size = sha256_file(p, error=CaseError)
            a_path, a_name = str(p.resolve()), p.name
        if not (link or chan or a_sha):
            raise UsageError("a footage source needs --url, --channel or --archive", self.path)
        with self._db.tx():
            when_rec = utc_now()
            sid = self._db.insert_footage_source(FootageSource(
                0, link, chan, when, a_path, a_name, a_sha, a_size, text, self.analyst,
                when_rec))
            self._db.append_audit("source", {
                "url": link, "channel": chan, "obtained": when, "archive_path": a_path,
                "archive_name": a_name, "archive_sha256": a_sha, "archive_size": a_size,
                "archive_matches_footage": (a_sha == self.footage.video.sha256) if a_sha
                else None, "note": text}, self.analyst, time=when_rec,
                rows=[f"footage_sources/{sid}"])
        return FootageSource(sid, link, chan, when, a_path, a_name, a_sha, a_size, text,
                             self.analyst, when_rec)

    def find_raster(self, name: str | os.PathLike[str]) -> RasterRecord:
        """The case's raster named by its recorded path, the path the locate result uses,
        a path to the same file, or its unique file name (``UsageError`` otherwise)."""
        text = str(name)
        resolved = str(Path(text).resolve()) if text else ""
        hits = [r for r in self.rasters if text in (r.path, r.ref_path) or resolved == r.path]
        if not hits:
            hits = [r for r in self.rasters if Path(r.path).name == Path(text).name]
        if len(hits) != 1:
            names = ", ".join(Path(r.path).name for r in self.rasters) or "none"
            why = "is not a raster of this case" if not hits else "names several rasters"
            raise UsageError(f"{text!r} {why} (rasters: {names[:300]})", self.path)
        return hits[0]

    def set_imagery_meta(self, raster: str | os.PathLike[str], *, acquired: str | None = None,
                         attribution: str | None = None,
                         gsd_m: float | None = None) -> ImageryMeta:
        """Record the acquisition date, attribution and/or GSD (metres) of one of the case's
        rasters, as the analyst establishes them (e.g. from the provider's catalogue).

        ``UsageError`` (nothing recorded) if the raster is not in the case, nothing is
        given, the date is malformed or in the future, or the GSD is not a positive number.
        """
        check_not_readonly(self.readonly, self.path)
        rec = self.find_raster(raster)
        when = parse_imagery_date(acquired, self.path) if acquired is not None and \
            str(acquired).strip() else None
        who = _one_line(attribution, "--attribution", self.path)
        gsd = None
        if gsd_m is not None:
            gsd = float(gsd_m)
            if not (math.isfinite(gsd) and 0 < gsd <= 10_000):
                raise UsageError(f"--gsd {gsd_m} is not a ground sample distance in metres",
                                 self.path)
        if when is None and who is None and gsd is None:
            raise UsageError("imagery-meta needs --date, --attribution or --gsd", self.path)
        with self._db.tx():
            when_rec = utc_now()
            mid = self._db.insert_imagery_meta(ImageryMeta(
                0, rec.sha256, rec.path, when, who, gsd, self.analyst, when_rec))
            self._db.append_audit("imagery_meta", {
                "raster": rec.path, "sha256": rec.sha256, "acquired": when,
                "attribution": who, "gsd_m": gsd,
                "file_says": {"acquired": rec.acquired, "attribution": rec.attribution,
                              "gsd_m": rec.gsd_m}}, self.analyst, time=when_rec,
                rows=[f"imagery_meta/{mid}"])
        return ImageryMeta(mid, rec.sha256, rec.path, when, who, gsd, self.analyst, when_rec)
