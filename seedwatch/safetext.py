"""Text that leaves the program (alerts, CSV) carries no control characters.

Article titles and texts come from anyone: an ESC sequence can clear a terminal or plant a
hyperlink, NUL cuts strings in some receivers, bidi overrides make a line read differently
from what it holds. `clean` removes terminal escape sequences whole, then every other control
character (C0, DEL, C1) and the bidi embedding/override/isolate controls.
"""
from __future__ import annotations

import re

# CSI (ESC [ ... final), OSC (ESC ] ... BEL or ESC \), other two-byte ESC sequences; and their
# 8-bit forms (U+009B CSI, U+009D OSC).
_ANSI = re.compile(r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"
                   r"|(?:\x1b\]|\x9d)[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
                   r"|\x1b[@-Z\\-_]")
_BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_CONTROL = {c: None for c in [*range(0x00, 0x20), *range(0x7f, 0xa0)]} | {ord(c): None for c in _BIDI}


def clean(text: str, keep: str = "") -> str:
    """`text` without escape sequences and control characters; `keep` names control
    characters to leave in place (e.g. "\\n\\t" for multi-line CSV cells)."""
    if not text:
        return text
    text = _ANSI.sub("", text)
    table = {k: v for k, v in _CONTROL.items() if chr(k) not in keep} if keep else _CONTROL
    return text.translate(table)
