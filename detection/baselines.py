"""Two reference systems that seedwatch must beat, run on the same evaluation file.

keyword  the boolean query an analyst would type: both Koreas AND a talks word, with the
         Korean equivalents;
tfidf    plain TF-IDF cosine between each article and the seed text (word tokens, IDF from
         the evaluation file itself); its threshold is picked afterwards as the one with the
         best F1 on that file, so it is an optimistic (oracle) baseline.
"""
from __future__ import annotations

import math
import re
from collections import Counter

_EN_NORTH = ("north korea", "n. korea", "n.korea")
_EN_SOUTH = ("south korea", "s. korea", "s.korea")
_EN_TALKS = re.compile(r"\b(?:talks?|dialogue|summit|negotiat\w*)\b")
_KO_NORTH = ("북한", "북측", "北")
_KO_SOUTH = ("남한", "한국", "남측", "韓")
_KO_TALKS = ("회담", "대화", "정상회담", "협상")
_WORD = re.compile(r"\w+")


def keyword_match(title: str, text: str) -> bool:
    """("North Korea" AND "South Korea" AND talks-word) in English or in Korean."""
    doc = f"{title}\n{text}".lower()
    english = (any(k in doc for k in _EN_NORTH) and any(k in doc for k in _EN_SOUTH)
               and _EN_TALKS.search(doc) is not None)
    if english:
        return True
    return (any(k in doc for k in _KO_NORTH) and any(k in doc for k in _KO_SOUTH)
            and any(k in doc for k in _KO_TALKS))


def _tokens(text: str) -> Counter:
    return Counter(_WORD.findall(text.lower()))


class TfidfBaseline:
    """Cosine between TF-IDF vectors of the seed(s) and each document of a collection."""

    def __init__(self, seed_texts: list[str]):
        self.seed_tf = Counter()
        for text in seed_texts:
            self.seed_tf.update(_tokens(text))

    def scores(self, documents: list[tuple[str, str]]) -> list[float]:
        doc_tfs = [_tokens(f"{title}\n{text}") for title, text in documents]
        df = Counter()
        for tf in doc_tfs:
            df.update(tf.keys())
        n = len(doc_tfs) + 1
        idf = {w: math.log(n / (1 + df.get(w, 0))) + 1.0 for w in self.seed_tf}
        seed = {w: (1 + math.log(c)) * idf[w] for w, c in self.seed_tf.items()}
        seed_norm = math.sqrt(sum(v * v for v in seed.values())) or 1.0
        return [self._cosine(seed, seed_norm, tf, df, n) for tf in doc_tfs]

    @staticmethod
    def _cosine(seed: dict, seed_norm: float, tf: Counter, df: Counter, n: int) -> float:
        dot = norm = 0.0
        for word, count in tf.items():
            weight = (1 + math.log(count)) * (math.log(n / (1 + df[word])) + 1.0)
            norm += weight * weight
            if word in seed:
                dot += weight * seed[word]
        return dot / (seed_norm * math.sqrt(norm)) if norm else 0.0
