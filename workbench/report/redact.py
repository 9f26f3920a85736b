"""Text hygiene for shared reports: visible bidi/control characters, and local paths
redacted to file name + SHA-256.

* :func:`workbench.textsafe.visible_controls` (applied by every writer) — a
  right-to-left override (U+202E) or any other bidi
  control, zero-width or C0/C1 control character in case text would reorder or hide
  what a reader sees (``"evil\u202egnp.exe"`` shows as ``evilexe.png``).  Each one is
  replaced by a visible ``[U+202E]`` marker; the HTML and PDF writers apply it to every
  string before escaping.
* :class:`Redactor` — the analyst's local paths (``/home/alice/leaks/clip.mp4``) tell
  a reader who and where the analyst is; with redaction on, each known path becomes its
  file name and SHA-256, and any other absolute path its file name.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any

_FILE_URI = re.compile(r"file://[^\s\"'<>]+", re.IGNORECASE)
_POSIX = re.compile(r"(?<![\w:/.~-])~?/(?:[^/\s\"'<>|]+/)+[^/\s\"'<>|,;)\]]*")
_WINDOWS = re.compile(r"(?<![\w])[A-Za-z]:\\(?:[^\\\s\"'<>|]+\\)*[^\\\s\"'<>|,;)\]]*")


def _name(path: str) -> str:
    win = PureWindowsPath(path)
    return (win.name if "\\" in path else PurePosixPath(path).name) or path.rstrip("/\\")


class Redactor:
    """Replaces local paths in report text.  ``known``: path -> SHA-256 of the file
    (``""`` if none); ``on=False`` leaves text untouched."""

    def __init__(self, known: Iterable[tuple[str, str]], *, on: bool = True) -> None:
        self.on = on
        # longest first, so /a/b/clip.mp4 wins over /a/b
        self._known = sorted({p: s for p, s in known if p}.items(), key=lambda kv: -len(kv[0]))

    def label(self, path: str, sha256: str = "") -> str:
        """What a redacted path becomes: ``name [SHA-256 0123456789abcdef…]``."""
        return f"{_name(path)} [SHA-256 {sha256[:16]}…]" if sha256 else f"…/{_name(path)}"

    def name(self, path: str) -> str:
        """A path field: its file name when redacting, else the path."""
        return _name(path) if self.on and path else path

    def text(self, value: str) -> str:
        """Free text with every known path, ``file://`` URI and absolute path replaced."""
        if not self.on or not value:
            return value
        out = value
        for p, sha in self._known:
            if p in out:
                out = out.replace(p, self.label(p, sha))
        out = _FILE_URI.sub(lambda m: self.label(m.group()), out)
        out = _WINDOWS.sub(lambda m: self.label(m.group()), out)
        return _POSIX.sub(lambda m: self.label(m.group()), out)

    def json(self, value: Any) -> Any:
        """A JSON-ready value with every string passed through :meth:`text`."""
        return _walk(value, self.text) if self.on else value


def _walk(value: Any, fn: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, dict):
        return {fn(str(k)): _walk(v, fn) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_walk(v, fn) for v in value]
    return value


__all__ = ["Redactor", "redact_report"]


def redact_report(d: Any, red: Redactor) -> Any:
    """A copy of a :class:`~workbench.report.model.ReportData` with every local path in
    it (footage, rasters, layers, the archived copy, audit details, notes, verification
    lines...) redacted by ``red``.  Typed ``Any`` to keep this module below the model."""
    if not red.on:
        return d
    t, j = red.text, red.json

    def cand(c: Any) -> Any:
        return replace(c, tile=t(c.tile))

    def dec(x: Any) -> Any:
        return replace(x, note=t(x.note)) if x is not None else None

    def raster(r: Any) -> Any:
        if r is None:
            return None
        return replace(r, path=red.name(r.path), ref_path=t(r.ref_path),
                       sidecars={red.name(k): v for k, v in r.sidecars.items()})

    sections = [replace(s, candidate=cand(s.candidate), decision=dec(s.decision),
                        raster=raster(s.raster),
                        raster_missing=t(s.raster_missing) if s.raster_missing else None,
                        marks=[replace(m, label=t(m.label)) for m in s.marks])
                for s in d.sections]
    primary = sections[d.sections.index(d.primary)] if d.primary in d.sections else None
    v = d.verification
    if v is not None:
        v = replace(v, path=red.name(v.path), checked=[t(c) for c in v.checked],
                    findings=[replace(f, subject=t(f.subject), message=t(f.message))
                              for f in v.findings])
    video = replace(d.footage.video, path=red.name(d.footage.video.path))
    src = d.source
    if src is not None:
        src = replace(src, archive_path=red.name(src.archive_path or "") or None,
                      channel=t(src.channel or "") or None, note=t(src.note or "") or None)
    return replace(
        d, case_path=red.name(d.case_path), reason=t(d.reason), primary=primary,
        sections=sections, candidates=[(cand(c), dec(x)) for c, x in d.candidates],
        claim=replace(d.claim, text=t(d.claim.text)) if d.claim else None,
        context_layers=[replace(c, source_path=red.name(c.source_path))
                        for c in d.context_layers],
        footage=replace(d.footage, video=video),
        rasters=[(raster(r), st) for r, st in d.rasters], method=j(d.method),
        warnings=[t(w) for w in d.warnings],
        notes=[replace(n, text=t(n.text)) for n in d.notes],
        points=[replace(p, label=t(p.label)) for p in d.points],
        audit=[replace(a, details=j(a.details)) for a in d.audit], verification=v,
        missing_rasters=[red.name(p) for p in d.missing_rasters], source=src,
        imagery_meta={k: replace(m, raster_path=red.name(m.raster_path))
                      for k, m in d.imagery_meta.items()}, redacted=True)
