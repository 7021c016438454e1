"""Making untrusted text safe to show: every writer (terminal, JSON, HTML, CSV, JUnit XML,
Gradescope JSON) passes what a submission contributed -- messages, printed output, source
lines, file names -- through here before writing it.

Characters that could act instead of being read are replaced by a visible Python-style escape
(``\\x1b``, ``\\u202e``, ``\\udc80``), so a reader sees that they were there:

- C0/C1 control characters and DEL: they start ANSI/OSC sequences that recolour, retitle or
  rewrite a terminal, and most of them are illegal in XML. Escaping ESC (and the C1 CSI/OSC
  introducers) leaves the rest of a sequence as plain, harmless text.
- lone surrogates: they cannot be encoded as UTF-8, so writing one would raise.
- U+FFFE and U+FFFF: not characters, illegal in XML.
- bidirectional controls (the "Trojan Source" set) and the Unicode line/paragraph separators:
  they make text read differently from what it is.

Newline and tab stay where text may span lines (messages, captured output, source); a single
line (ids, names, CSV cells, XML attributes) shows them escaped too. Escaping is idempotent:
an escape is printable ASCII, so showing shown text changes nothing.
"""

from __future__ import annotations

import re
from typing import Any

_BIDI_CONTROLS = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_UNSAFE_IN_TEXT = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f" + _BIDI_CONTROLS + "\u2028\u2029\ud800-\udfff\ufffe\uffff]")
_UNSAFE_IN_LINE = re.compile(
    "[\x00-\x1f\x7f-\x9f" + _BIDI_CONTROLS + "\u2028\u2029\ud800-\udfff\ufffe\uffff]")

# Spreadsheets run a cell that starts with one of these as a formula (OWASP "CSV injection").
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _escape(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: object) -> str:
    """Text that may span lines, safe to show anywhere: newlines and tabs kept (a CRLF becomes
    a newline), every other unsafe character shown as an escape."""
    return _UNSAFE_IN_TEXT.sub(_escape, str(text).replace("\r\n", "\n"))


def visible_line(text: object) -> str:
    """One line of text, safe to show anywhere: newlines and tabs are escaped as well."""
    return _UNSAFE_IN_LINE.sub(_escape, str(text))


def visible_tree(value: Any) -> Any:
    """A JSON-like structure (dicts, lists, tuples, scalars) with every string in it, keys
    included, made ``visible``; anything else that is not a number is shown as its text."""
    if isinstance(value, dict):
        return {visible_tree(k): visible_tree(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [visible_tree(v) for v in value]
    if value is None or isinstance(value, bool | int | float):
        return value
    return visible(value)


def csv_cell(text: object) -> str:
    """A CSV cell a spreadsheet shows as text: one visible line, and a leading ``'`` when it
    would otherwise start a formula -- the convention spreadsheets themselves use to mark a
    cell as text (OWASP's advice for CSV injection)."""
    line = visible_line(text)
    return "'" + line if line.startswith(_FORMULA_STARTS) else line
