"""A small script-based language guess: enough to route Korean, Japanese, Chinese and English.

trafilatura's own language detection needs an optional model; the detector only needs to
know which script family an article is in, which character counts tell reliably.
"""
from __future__ import annotations


def _count(text: str) -> tuple[int, int, int, int]:
    hangul = kana = han = latin = 0
    for ch in text:
        o = ord(ch)
        if 0xAC00 <= o <= 0xD7A3 or 0x1100 <= o <= 0x11FF or 0x3130 <= o <= 0x318F:
            hangul += 1
        elif 0x3040 <= o <= 0x30FF:
            kana += 1
        elif 0x4E00 <= o <= 0x9FFF:
            han += 1
        elif ch.isascii() and ch.isalpha():
            latin += 1
    return hangul, kana, han, latin


def guess_language(text: str, hint: str | None = None, sample: int = 4000) -> str | None:
    """'ko', 'ja', 'zh' or 'en' from the characters of `text`; else the hint (e.g. html lang)."""
    hangul, kana, han, latin = _count(text[:sample])
    total = hangul + kana + han + latin
    hint = (hint or "").split("-")[0].lower() or None
    if total < 20:
        return hint
    if hangul / total > 0.2:
        return "ko"
    if kana / total > 0.1:
        return "ja"
    if han / total > 0.3:
        return "zh"
    if latin / total > 0.6:
        return hint if hint and hint not in ("ko", "ja", "zh") else "en"
    return hint
