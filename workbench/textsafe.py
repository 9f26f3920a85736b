"""Untrusted text made safe to print on a terminal or write into XML: the one helper.

Notes, labels, file names, claim text and metadata come from people and files the
workbench does not control.  Printed raw, an ANSI escape sequence can move the cursor
and overwrite "rejected" with "CONFIRMED", a bidi override can reverse a word, and a
newline in a file name turns a one-line error into two.  :func:`safe_text` makes such
text visible instead: control characters (C0, DEL, C1), bidi overrides/isolates and
other format characters become ``\\x1b``-style escapes (``\\u202e`` beyond Latin-1),
and a backslash is doubled so an escape cannot be faked.  Ordinary text, accents and
non-Latin scripts are unchanged.
"""

from __future__ import annotations

import os
import re
import unicodedata
from typing import TextIO

__all__ = ["echo", "safe_path", "safe_text", "visible_controls"]

_TAB_NL = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _escape_char(ch: str) -> str:
    code = ord(ch)
    if ch in _TAB_NL:
        return _TAB_NL[ch]
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def _unsafe(ch: str) -> bool:
    # Cc: C0/C1 controls and DEL; Cf: format characters (bidi overrides and isolates,
    # zero-width joiners...); Cs: lone surrogates (from surrogateescape'd file names);
    # Zl/Zp: line and paragraph separators (they break a line like "\n")
    return unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Zl", "Zp")


def safe_text(text: object, *, keep_newlines: bool = False) -> str:
    """``text`` (``str()`` of any object) with control and format characters escaped.

    Args:
        text: untrusted text; ``None`` gives ``"None"`` like ``str``.
        keep_newlines: leave ``"\\n"`` as is (multi-line notes shown as paragraphs);
            every other control character is still escaped.
    """
    s = str(text)
    if s.isprintable() and "\\" not in s:  # the common case, fast
        return s
    out = []
    for ch in s:
        if ch == "\\":
            out.append("\\\\")
        elif (keep_newlines and ch == "\n") or ch == " " or not _unsafe(ch):
            out.append(ch)
        else:
            out.append(_escape_char(ch))
    return "".join(out)


def safe_path(path: str | os.PathLike[str]) -> str:
    """A file path for a one-line message: :func:`safe_text` of it, so a newline or an
    escape sequence in a file name is shown escaped, never acted on."""
    try:
        text = os.fspath(path)
    except TypeError:
        text = str(path)
    if isinstance(text, bytes):
        text = text.decode("utf-8", "surrogateescape")
    return safe_text(text)


# in documents (HTML, PDF, KML): bidi embeddings/overrides/isolates and marks, zero-width
# characters, BOM, line/paragraph separators, C0 (except tab/newline) and C1 controls,
# lone surrogates and the non-characters XML 1.0 cannot hold
_INVISIBLE = re.compile("[\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff"
                        "\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def visible_controls(text: object) -> str:
    """``text`` (``str()`` of any object) for a document a person reads (HTML, PDF, KML):
    each bidi control, zero-width, control or XML-forbidden character replaced by a
    visible ``[U+XXXX]`` marker (tabs and newlines kept), so ``"evil\u202egnp.exe"``
    cannot show as ``evilexe.png``.  The result still needs the format's own escaping.
    (For a terminal use :func:`safe_text`.)"""
    return _INVISIBLE.sub(lambda m: f"[U+{ord(m.group()):04X}]", str(text))


def echo(text: object, *, file: TextIO | None = None) -> None:
    """``print`` for the CLI: one line of user-derived text, control characters escaped
    (a note or a file name cannot move the cursor, recolour or overwrite the terminal)."""
    print(safe_text(text), file=file)
