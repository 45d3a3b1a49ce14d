"""Text from clients and printers made safe to show on the operator's terminal.

A Film Session Label, a calling AE title or a CUPS message is data from
outside; printed raw, an ESC or CSI (C1 0x9B) starts a terminal control
sequence (ECMA-48 §5) that can retitle, recolour or rewrite the screen, and a
newline forges a row of the operator's table.  Every such field the command
line prints goes through :func:`escape_controls`; ``--json`` output is left
raw, as ``json.dumps`` escapes control characters itself (RFC 8259 §7).
"""

from __future__ import annotations

import logging
import unicodedata

_NAMED = {
    "\\": "\\\\",
    "\a": "\\a",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\v": "\\v",
    "\f": "\\f",
    "\r": "\\r",
    "\x1b": "\\e",
}
_HIDDEN = ("Cc", "Cf", "Cs", "Zl", "Zp")
"""Unicode categories with no glyph of their own: controls, format characters (such as
bidirectional overrides), lone surrogates, line and paragraph separators."""


def _escape(char: str) -> str:
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def escape_controls(text: str) -> str:
    """``text`` on one line with nothing a terminal would act on, as ``ls -b`` shows names.

    C0 controls, DEL and C1 controls (ECMA-48 §5) and other characters without a
    glyph become backslash escapes (``\\n``, ``\\e``, ``\\x7f``, ``\\x9b``,
    ``\\u202e``); a backslash is doubled, so the escapes cannot be forged.
    """
    if text.isprintable() and "\\" not in text:
        return text
    return "".join(
        _escape(char) if char == "\\" or unicodedata.category(char) in _HIDDEN else char
        for char in text
    )


class EscapingFormatter(logging.Formatter):
    """Log lines with client text escaped: one record is one line, whatever a peer sent.

    Log messages quote AE titles, UIDs and labels; on a console or in a plain
    log file a control character in them would act as in any other output.
    Tracebacks keep their lines: they come from our code, not from clients.
    """

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 (logging's name)
        record.message = escape_controls(record.message)
        return super().formatMessage(record)
