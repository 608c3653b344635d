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
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache

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
# word as written -> its term ("" when it is not one), per language: words recur a lot
_TERMS: dict[str, dict[str, str]] = {language: {} for language in LANGUAGES}
_TERMS_MAX = 200_000


def language_of(text: str, default: str = "fr") -> str:
    """ "fr" or "en", by which language's commonest words ``text`` uses more (``default`` on a tie)."""
    words = [word.casefold() for word in WORD.findall(text[:20_000])]
    french = sum(word in _FRENCH_HINTS for word in words)
    english = sum(word in _ENGLISH_HINTS for word in words)
    return "fr" if french > english else "en" if english > french else default


def _term(surface: str, language: str) -> str:
    cache = _TERMS[language]
    term = cache.get(surface)
    if term is None:
        lowered = surface.casefold().strip(".'’")
        term = fold(_STEMMERS[language].stemWord(lowered))
        if len(term) < 2 or fold(lowered) in STOP_WORDS or term.isdigit():
            term = ""
        if len(cache) >= _TERMS_MAX:  # bounded: a stream of new words cannot grow it for ever
            cache.clear()
        cache[surface] = term
    return term


def terms(text: str, language: str = "fr") -> list[tuple[str, str]]:
    """(term, word as written) pairs of ``text``, stop words and one-letter words left out."""
    found = []
    for surface in WORD.findall(text):
        term = _term(surface, language)
        if term:
            found.append((term, surface))
    return found


@lru_cache(maxsize=8192)
def _bag(text: str, language: str) -> tuple[Counter, int, dict[str, str]]:
    """A text's term counts, its length in terms, and each term's first spelling (read-only: shared).

    Words are counted as written first (in C), then folded once per distinct word. Kept per text (an
    item's text changes rarely; the same items are ranked on every view of a CV's page and against every
    new offer), which is the usual inverted-index trade: a cold ranking of 500 items tokenises them all,
    a warm one only scores."""
    counts: Counter = Counter()
    spelling: dict[str, str] = {}
    cache = _TERMS[language]
    for surface, n in Counter(WORD.findall(text)).items():
        term = cache.get(surface)
        if term is None:
            term = _term(surface, language)
        if term:
            counts[term] += n
            spelling.setdefault(term, surface)
    return counts, sum(counts.values()), spelling


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
    Words are stemmed in the target's language (``language`` when the target does not tell)."""
    language = language_of(target or "", language if language in LANGUAGES else "fr")
    query = _bag(target or "", language)[0]
    parsed = {}
    document_frequency: Counter = Counter()
    for key, text in documents.items():
        parsed[key] = bag = _bag(text or "", language)
        document_frequency.update(query.keys() & bag[0].keys())
    total = len(parsed) or 1
    average = sum(length for _, length, _ in parsed.values()) / total or 1.0
    weights = {
        term: (1 + math.log(count))
        * math.log(1 + (total - document_frequency[term] + 0.5) / (document_frequency[term] + 0.5))
        for term, count in query.items()
        if document_frequency[term]
    }
    ranked = []
    for key, (counts, length, spelling) in parsed.items():
        contributions = []
        norm = K1 * (1 - B + B * length / average)
        for term in weights.keys() & counts.keys():
            frequency = counts[term]
            contributions.append((weights[term] * frequency * (K1 + 1) / (frequency + norm), spelling[term]))
        contributions.sort(key=lambda pair: -pair[0])
        ranked.append(
            Ranked(
                key,
                round(sum(score for score, _ in contributions), 4),
                [surface for _, surface in contributions[:max_words_shown]],
            )
        )
    order = {key: position for position, key in enumerate(documents)}
    ranked.sort(key=lambda item: (-item.score, order[item.key]))
    return ranked
