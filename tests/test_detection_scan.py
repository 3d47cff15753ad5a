"""The fast lexicon scan (detection/lexicon.py `_SplitScan`) finds exactly what the one trie
pattern finds, and the scoring paths it speeds up (folding, sentence bounds, datelines) keep
their meaning. All texts here are written for these tests or generated from lexicon forms.
"""
import dataclasses
import random
from pathlib import Path

import pytest

from detection import Detector, load_topic
from detection.lexicon import _SplitScan, load_lexicon
from detection.text import analyse, fold, split_segments

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
LEXICON = SEEDS / "lexicon" / "korea.toml"


@pytest.fixture(scope="module")
def lexicon():
    return load_lexicon(LEXICON)


@pytest.fixture(scope="module")
def detector():
    return Detector(load_topic(SEEDS / "inter-korean-diplomacy.toml"))


def _reference(lex, text: str) -> list[tuple[int, int]]:
    return [m.span() for m in lex.pattern.finditer(text)]


def _glued_forms(lex, rng: random.Random, count: int) -> list[str]:
    """Texts made of lexicon forms, cut forms and separators glued together, so that forms
    touch, overlap and nest in every way the scan must resolve like the trie."""
    forms = sorted(lex.form_to_concept) + sorted(lex.cased_to_concept)
    glue = [" ", "", "", "-", "'", ".", "\n", "가", "북", "한", "a", "e", "1", "2", "·", "(", "s "]
    texts = []
    for _ in range(count):
        parts = []
        for _ in range(rng.randint(1, 14)):
            form = rng.choice(forms)
            cut = rng.random()
            if cut < 0.2:
                form = form[:rng.randint(1, len(form))]
            elif cut < 0.3:
                form = form[rng.randint(0, len(form) - 1):]
            parts += [form, rng.choice(glue)]
        texts.append("".join(parts).lower())
    return texts


def test_the_fast_scan_finds_what_the_trie_pattern_finds(lexicon, monkeypatch):
    walks = []
    replay = _SplitScan._walk
    monkeypatch.setattr(_SplitScan, "_walk", staticmethod(
        lambda *args: walks.append(1) or replay(*args)))
    rng = random.Random(13)
    texts = _glued_forms(lexicon, rng, 3000)
    # English-looking texts too (the scan picks its word-by-word English path on them).
    texts += [t + " the agreement was seen as a new step" * 3 for t in texts[:500]]
    for text in texts:
        assert lexicon.scanner.spans(text) == _reference(lexicon, text), text
    # The generated texts must reach the replay of overlapping parts, or it is untested.
    assert len(walks) > 20


def test_find_all_is_the_same_without_the_fast_scan(lexicon):
    plain = dataclasses.replace(lexicon, scanner=None)
    for text in ("South Korea's unification ministry proposed talks with the North at Panmunjom.",
                 "통일부는 북한에 남북회담을 제안했다. 北 김여정 담화, 9·19 군사합의",
                 "Trump-Kim summit: US and UN officials (Yonhap) said 남북 talks..."):
        assert lexicon.find_all(text) == plain.find_all(text)


def _toy_lexicon(tmp_path, body: str):
    path = tmp_path / "toy.toml"
    path.write_text(body, encoding="utf-8")
    return load_lexicon(path)


def test_forms_of_two_parts_starting_at_one_place_keep_the_trie_order(tmp_path):
    # "2" (an English form: whole word) and "2차" (Hangul-bounded) start alike. At a position
    # the trie tries English forms before Hangul-bounded ones, so "2차" is never found where
    # "2" stands on its own, but it is after a Latin letter (where "2" is not a word).
    lex = _toy_lexicon(tmp_path, '[concepts.A]\ngroup = "event"\nen = ["2"]\n'
                                 '[concepts.B]\ngroup = "event"\nko_word = ["2차"]\n')
    for text in ("2차 회담", "a2차 회담", "회담 2차, 2 차례"):
        assert lex.scanner.spans(text) == _reference(lex, text)
    assert [form for _, form, _ in lex.find_all("2차 회담")] == ["2"]
    assert [form for _, form, _ in lex.find_all("a2차 회담")] == ["2차"]


def test_an_english_form_that_swallows_the_start_of_a_korean_one(tmp_path):
    lex = _toy_lexicon(tmp_path, '[concepts.A]\ngroup = "event"\nen = ["summit 9"]\n'
                                 '[concepts.B]\ngroup = "event"\nko = ["9·19"]\n')
    for text in ("summit 9·19", "the summit 9·19 and 9·19", "summit 9"):
        assert lex.scanner.spans(text) == _reference(lex, text)
    assert [form for _, form, _ in lex.find_all("summit 9·19 and 9·19")] == ["summit 9", "9·19"]


def test_an_english_form_may_start_where_one_that_ends_in_a_stop_ends(tmp_path):
    # "u.s.*" ends in a non-letter, so a form right after it ("u.s.talks") is a word of its
    # own; the word-by-word English scan must look again from the last character.
    lex = _toy_lexicon(tmp_path, '[concepts.A]\ngroup = "event"\nen = ["u.s.*", "talks"]\n')
    for text in ("u.s.talks were seen here, the envoy said, between the sides",
                 "u.s.talks", "the u.s.u.s.talks there were eerie"):
        assert lex.scanner.spans(text) == _reference(lex, text), text
    assert len(lex.scanner.spans("u.s.talks were seen here, the envoy said")) == 2


def test_a_part_is_searched_again_where_its_own_scan_was_inside_a_match(tmp_path):
    # 남 and 북 forms fall in different parts. The 북 part alone finds "북북" at 1, and so never
    # looks at 2; the trie takes "남북" at 0 and then finds "북한" at 2.
    lex = _toy_lexicon(tmp_path, '[concepts.A]\ngroup = "event"\nko = ["남북"]\n'
                                 '[concepts.B]\ngroup = "context"\nko = ["북북", "북한"]\n')
    assert lex.scanner.spans("남북북한") == _reference(lex, "남북북한") == [(0, 2), (2, 4)]


def test_folding_is_skipped_only_for_texts_with_nothing_to_fold():
    plain = "North Korea 北 9·19 李대통령"
    assert fold(plain) == plain
    assert fold("\uf9e1대통령") == "李대통령"          # compatibility ideograph
    assert fold("ＵＮ ｔａｌｋｓ") == "UN talks"         # full-width Latin
    assert fold("9ㆍ19, 9・19, 9･19") == "9·19, 9·19, 9·19"  # middle-dot look-alikes
    assert fold("\U0002f800") != "\U0002f800"          # a supplementary-plane one


@pytest.mark.parametrize("title, plain", [
    # the only in-scope evidence is a full-width form, folded before matching
    ("Ｐｙｏｎｇｙａｎｇ rejects Seoul's offer of talks", "Pyongyang rejects Seoul's offer of talks"),
    ("ＤＰＲＫ agrees to talks with South Korea", "DPRK agrees to talks with South Korea"),
    # a cased form ("North"), given with its case on the original text, after folding
    ("Seoul proposes talks with Ｎｏｒｔｈ", "Seoul proposes talks with North"),
    # a compatibility ideograph for 北
    ("\uf963 김여정 담화…남북 대화 거부", "北 김여정 담화…남북 대화 거부"),
])
def test_folded_and_cased_forms_alone_bring_an_article_in_scope(detector, title, plain):
    folded, ordinary = detector.score(title, ""), detector.score(plain, "")
    assert ordinary.explanation["in_scope"], plain
    assert folded.explanation["in_scope"]
    assert (folded.score, folded.decision) == (ordinary.score, ordinary.decision)


def test_the_cased_form_counts_only_with_its_case_and_its_context(detector):
    assert not detector.score("Seoul proposes talks with north", "").explanation["in_scope"]
    assert not detector.score("Talks with North", "").explanation["in_scope"]  # no Korea named


def test_sentence_bounds_and_datelines(lexicon):
    _text, segments, _short = split_segments("", "첫 문장이다.둘째 문장 △인사 ○명단\n끝")
    assert len(segments) == 5
    for lead in ("", "(", "회담\n"):
        found = analyse(lexicon, "", lead + "SEOUL, Dec. 28 (Yonhap) -- Officials met.")
        assert "seoul" not in [form for _, form, _ in found.hits], lead
    # Not a dateline when the capitals run on from a word character (here a Hangul
    # syllable: no word boundary), so "Seoul" is a hit there.
    found = analyse(lexicon, "", "회담SEOUL, Dec. 28 (Yonhap) -- Officials met.")
    assert "seoul" in [form for _, form, _ in found.hits]


def test_full_stops_after_initials_and_abbreviations_do_not_end_a_sentence():
    from detection.text import _ABBREVIATIONS, _ASCII_LETTERS
    # The quick test in _after_abbreviation relies on this: only a Latin letter (or a
    # space) before a full stop can end an abbreviation or an initial.
    assert all(word[-1] in _ASCII_LETTERS for word in _ABBREVIATIONS)
    body = ("Mr. Kim met N. Korean and U.S. envoys on Dec. 28 (\"Gen. Park\" too). 회담은 끝났다. "
            "Next came No. 2.다음 문장 Dr .Lee left.")
    sentences = [body[s.start:s.end].strip() for s in split_segments("", body)[1]]
    assert sentences == ["Mr. Kim met N. Korean and U.S. envoys on Dec. 28 (\"Gen. Park\" too).",
                         "회담은 끝났다.", "Next came No. 2.", "다음 문장 Dr .Lee left."]
    # and the quick test in _sentence_spans on this: after a lower-case letter, only a word
    # whose last two letters end a listed abbreviation is looked at further
    from detection.text import _ABBREVIATION_ENDS
    assert min(map(len, _ABBREVIATIONS)) >= 2 and "id" not in _ABBREVIATION_ENDS
    body = "Talks vs. sanctions drew approx. 30 people, est. 40 by noon. Then the envoy said. Ms. Ri left."
    sentences = [body[s.start:s.end].strip() for s in split_segments("", body)[1]]
    assert sentences == ["Talks vs. sanctions drew approx. 30 people, est. 40 by noon.",
                         "Then the envoy said.", "Ms. Ri left."]
