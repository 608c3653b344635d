"""Explainable relevance of the owner's items to a target text (a job offer), local and fast.

Okapi BM25 over the owner's own items: each item (an experience with its skills, a diploma, a skill, a
credential) is a short document; the target text is the query. Words are stemmed with the Snowball
stemmer of the offer's language (French or English, told by which stop words the offer uses: "conseiller"
meets "conseil", "managing" meets "management"), then folded (accents and case removed: "Gérer" and
"gerer" meet); French and English stop words are dropped. A query word counts once however often the
offer repeats it, weighted by ``1 + log(count)``: a word the offer insists on counts more, but a 100 KB
offer that says "Excel" 300 times weighs it 6.7 times, not 300; the cost stays proportional to the
offer's distinct words.

Why BM25 and not embeddings: it runs in a few milliseconds with no model to download, and every score
is explained by the words that produced it (``Ranked.matched``), which the owner sees on the page.
Pure Python, no Flask: the benchmark and the tests call it directly.

Where the time goes, and the caches that keep a ranking of 500 items well under 50 ms even when no
item was tokenised before: the regular expression costs about 40 ns a character and the stemmer tens
of µs a word (pure Python), so both run once per distinct chunk or word, in bounded memos
(``_WORDS``: whitespace-separated chunk → its words; ``_TERMS``: word → term), and a text is turned
into its bag by ``map`` over those memos (C loops, no Python per word). Each text's bag is also kept
(``_bag``: the items are ranked again on every view of a CV's page and against each new offer).
Scoring visits only the items that share a term with the target. ``tests/test_cv_ranking.py`` holds
it to a plain reimplementation of the same formula, word for word and score for score.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import chain
from operator import attrgetter

import snowballstemmer

K1, B = 1.2, 0.75
WORD = re.compile(r"[^\W_]+(?:[-'’+#.][^\W_]+)*[+#]*", re.UNICODE)

STOP_WORDS = frozenset("""
a au aux avec ce ces cet cette dans de des du elle en et eux il ils je la le les leur leurs lui ma mais me
meme mes moi mon ne nos notre nous on ou par pas pour qu que qui sa se ses son sur ta te tes toi ton tu un une
vos votre vous c d j l m n s t y ete etre avoir ai as avons avez ont est sont sera serez etes fait faire
plus moins tres tout tous toute toutes afin ainsi aussi autre autres car chez comme dont donc elles
entre ici lors meme non oui peu puis quand quel quelle quels quelles sans selon si sous tant vers via
votre poste profil mission missions h f nh
the an and or of to in on at by for with from as is are was were be been being it its this that these
those we you your our their they he she his her them us i me my not no yes but if then than so such
can could will would shall should may might must do does did done have has had having about into over
under after before during within without per via also other more most some any each all both which who
whom whose what when where why how job role position candidate
""".split())


def fold(text: str) -> str:
    """Lower case, accents removed ("Écoute" → "ecoute"); the same folding for items and targets."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


LANGUAGES = ("fr", "en")
_STEMMERS = {"fr": snowballstemmer.stemmer("french"), "en": snowballstemmer.stemmer("english")}
_FRENCH_HINTS = frozenset("le la les des du et est pour avec dans une nous vous sur au aux".split())
_ENGLISH_HINTS = frozenset("the and of to for with in is are we you our on an".split())
_CACHE_MAX = 200_000  # entries per cache below: a stream of new words cannot grow them for ever


class _Memo(dict):
    """A bounded memo read with ``map(memo.__getitem__, keys)``: hits are dict look-ups done in C, and
    only a key never seen (``__missing__``) runs Python. Cleared when full (words recur a lot: it
    fills again at once with the common ones)."""

    def __init__(self, compute):
        super().__init__()
        self.compute = compute

    def __missing__(self, key):
        value = self.compute(key)
        if len(self) >= _CACHE_MAX:
            self.clear()
        self[key] = value
        return value


# A whitespace-separated chunk ("(Django,", "l'équipe.", "c++") -> the words ``WORD`` finds in it. No
# match spans white space (neither word characters nor joiners are spaces, and the pattern looks neither
# behind nor ahead), so the words of a text are its chunks' words in order; chunks recur across items,
# and this skips the regular expression (most of a cold ranking's time) for every chunk seen before.
_WORDS = _Memo(lambda chunk: tuple(WORD.findall(chunk)))


def _words(text: str) -> list[str]:
    """``WORD.findall(text)``, faster on texts made of known chunks."""
    return list(chain.from_iterable(map(_WORDS.__getitem__, text.split())))


def language_of(text: str, default: str = "fr") -> str:
    """ "fr" or "en", by which language's commonest words ``text`` uses more (``default`` on a tie)."""
    words = list(map(str.casefold, _words(text[:20_000])))
    french = sum(map(_FRENCH_HINTS.__contains__, words))
    english = sum(map(_ENGLISH_HINTS.__contains__, words))
    return "fr" if french > english else "en" if english > french else default


def _stem(surface: str, language: str) -> str:
    """A word's term: stemmed then folded; "" for a stop word, a number or a one-letter word."""
    lowered = surface.casefold().strip(".'’")
    term = fold(_STEMMERS[language].stemWord(lowered))
    if len(term) < 2 or fold(lowered) in STOP_WORDS or term.isdigit():
        return ""
    return term


# word as written -> its term ("" when it is not one), per language
_TERMS = {
    language: _Memo(lambda surface, language=language: _stem(surface, language)) for language in LANGUAGES
}


def terms(text: str, language: str = "fr") -> list[tuple[str, str]]:
    """(term, word as written) pairs of ``text``, stop words and one-letter words left out."""
    surfaces = _words(text)
    return [pair for pair in zip(map(_TERMS[language].__getitem__, surfaces), surfaces) if pair[0]]


@lru_cache(maxsize=8192)
def _bag(text: str, language: str) -> tuple[Counter, int, dict[str, str]]:
    """A text's term counts, its length in terms, and each term's first spelling (read-only: shared).

    Every step is a C loop over the memos (``_words``, ``_TERMS``): a text made of words seen before
    costs some 20 µs. Kept per text all the same (an item's text changes rarely; the same items are
    ranked on every view of a CV's page and against every new offer)."""
    surfaces = _words(text)
    found = list(map(_TERMS[language].__getitem__, surfaces))
    counts = Counter(found)
    skipped = counts.pop("", 0)
    spelling = dict(zip(reversed(found), reversed(surfaces)))  # the last write wins: the first spelling
    return counts, len(found) - skipped, spelling


@dataclass
class Ranked:
    """One item's relevance: its ``score`` and the words of the target it matched, best first."""

    key: tuple[str, str]  # (type, id)
    score: float
    matched: list[str] = field(default_factory=list)


def rank(
    target: str, documents: dict[tuple[str, str], str], *, language: str = "fr", max_words_shown: int = 8
) -> list[Ranked]:
    """Rank ``documents`` (key → text) against ``target``; ties and zero scores keep the given order.
    Words are stemmed in the target's language (``language`` when the target does not tell); the
    matched words are shown best first (equal contributions in the target's order), each as the item
    first writes it.

    Only an item sharing a term with the target is scored (the others score 0 whatever their length).
    The arithmetic is the plain formula's, in the same order (contributions summed largest first), so
    that the scores do not move by a rounding."""
    language = language_of(target or "", language if language in LANGUAGES else "fr")
    query = _bag(target or "", language)[0]
    wanted = query.keys()
    entries = [
        (key, bag := _bag(text or "", language), wanted & bag[0].keys()) for key, text in documents.items()
    ]
    total = len(entries) or 1
    average = sum(bag[1] for _, bag, _ in entries) / total or 1.0
    document_frequency = Counter(chain.from_iterable(common for _, _, common in entries))
    weights = {
        term: (1 + math.log(query[term])) * math.log(1 + (total - frequency + 0.5) / (frequency + 0.5))
        for term, frequency in document_frequency.items()
    }
    position = {term: index for index, term in enumerate(query)}.__getitem__
    plus_one = K1 + 1
    ranked = []
    for key, (counts, length, spelling), common in entries:
        if not common:
            ranked.append(Ranked(key, 0, []))  # round(sum([]), 4): the int 0 of an unmatched item
            continue
        norm = K1 * (1 - B + B * length / average)
        common = sorted(common, key=position)
        scores = [
            weights[term] * (frequency := counts[term]) * plus_one / (frequency + norm) for term in common
        ]
        best = sorted(range(len(scores)), key=scores.__getitem__, reverse=True)  # stable: target's order
        ranked.append(
            Ranked(
                key,
                round(sum(map(scores.__getitem__, best)), 4),
                [spelling[common[i]] for i in best[:max_words_shown]],
            )
        )
    ranked.sort(key=attrgetter("score"), reverse=True)  # stable: ties keep the given order
    return ranked
