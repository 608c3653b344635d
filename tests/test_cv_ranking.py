"""The CV relevance ranking (pure, no application): folding, stop words, BM25 order, explanations."""

import math
import random
import re
import unicodedata

import pytest
import snowballstemmer

from app.services import cv_ranking
from app.services.cv_ranking import B, K1, fold, language_of, rank, terms


def test_folding_accents_case_and_stemming_meet():
    assert fold("Gérer l'ÉQUIPE") == "gerer l'equipe"
    assert [t for t, _ in terms("Compétences en gestion des équipes")] == [
        t for t, _ in terms("competence gestion equipe")
    ]
    assert [t for t, _ in terms("Accueillir et conseiller")] == [t for t, _ in terms("accueil, conseil")]
    assert [t for t, _ in terms("Skills: the project management of teams", "en")] == [
        t for t, _ in terms("skill project manage team", "en")
    ]


def test_the_offer_tells_its_language():
    assert language_of("Nous recherchons un vendeur pour la boutique et les clients") == "fr"
    assert language_of("We are looking for a developer with the skills to lead our team") == "en"
    assert language_of("Python Django", default="en") == "en"
    ranked = rank(
        "We need someone managing the shop", {("experience", "1"): "Shop management"}, language="fr"
    )
    assert ranked[0].score > 0 and set(ranked[0].matched) == {"Shop", "management"}


def test_stop_words_and_numbers_do_not_match():
    ranked = rank("le la les de des et 2024 the and of", {("skill", "a"): "le la de 2024 the"})
    assert ranked[0].score == 0 and ranked[0].matched == []


def test_relevant_items_first_with_the_words_that_matched():
    documents = {
        ("experience", "1"): "Serveur restaurant service en salle encaissement",
        ("experience", "2"): "Stage développeur Python Django API REST tests automatisés",
        ("skill", "3"): "Python Python programmation",
        ("diploma", "4"): "Baccalauréat général",
    }
    offer = "Nous recherchons un développeur Python (Django, API REST). Tests automatisés appréciés."
    ranked = rank(offer, documents)
    order = [r.key for r in ranked]
    assert order[0] == ("experience", "2")
    assert order.index(("skill", "3")) < order.index(("experience", "1"))
    best = ranked[0]
    assert "Python" in best.matched and "Django" in best.matched and best.score > 0
    assert {r.key: r.score for r in ranked}[("diploma", "4")] == 0


def test_an_offer_repeating_a_word_does_not_swamp_the_others():
    documents = {("skill", "excel"): "Excel", ("skill", "compta"): "Comptabilité fournisseurs"}
    once = {r.key: r.score for r in rank("Excel comptabilité fournisseurs", documents)}
    spammed = {r.key: r.score for r in rank("Excel " * 300 + " comptabilité fournisseurs", documents)}
    assert once[("skill", "compta")] > once[("skill", "excel")]
    assert spammed[("skill", "excel")] < 7 * once[("skill", "excel")]  # 1 + log(300), not 300
    assert spammed[("skill", "compta")] == once[("skill", "compta")]


def test_zero_scores_keep_the_given_order_and_empty_input_is_fine():
    documents = {("experience", str(i)): f"item {i}" for i in range(5)}
    assert [r.key for r in rank("", documents)] == list(documents)
    assert rank("anything", {}) == []


def test_non_latin_scripts_and_emoji():
    ranked = rank("Ingénieur 東京 🚀 данные", {("experience", "1"): "Projet à 東京 avec данные 🚀"})
    assert ranked[0].score > 0 and "東京" in ranked[0].matched


# --- the optimised ranking against a plain, independent BM25 ----------------------------------------
# ``rank`` memoises words per chunk, maps them in C and scores only the items sharing a term: this
# reference reads every word with the regular expression, one at a time, and scores every item with
# the textbook formula. Any change of tokens, stems, folding, stop words, scores, order or shown
# words makes the two differ.

REFERENCE_WORD = re.compile(r"[^\W_]+(?:[-'’+#.][^\W_]+)*[+#]*")
FRENCH_HINTS = "le la les des du et est pour avec dans une nous vous sur au aux".split()
ENGLISH_HINTS = "the and of to for with in is are we you our on an".split()
REFERENCE_STEMMERS = {"fr": snowballstemmer.stemmer("french"), "en": snowballstemmer.stemmer("english")}


def _strip_accents(text):
    return "".join(c for c in unicodedata.normalize("NFKD", text.casefold()) if not unicodedata.combining(c))


def _reference_term(word, language):
    lowered = word.casefold().strip(".'’")
    term = _strip_accents(REFERENCE_STEMMERS[language].stemWord(lowered))
    if len(term) < 2 or _strip_accents(lowered) in cv_ranking.STOP_WORDS or term.isdigit():
        return ""
    return term


def _reference_language(text, default):
    words = [word.casefold() for word in REFERENCE_WORD.findall(text[:20_000])]
    french = sum(word in FRENCH_HINTS for word in words)
    english = sum(word in ENGLISH_HINTS for word in words)
    return "fr" if french > english else "en" if english > french else default


def _reference_rank(target, documents, language="fr", shown=8):
    language = _reference_language(target, language if language in ("fr", "en") else "fr")

    def bag(text):
        counts, spelling, length = {}, {}, 0
        for word in REFERENCE_WORD.findall(text):
            term = _reference_term(word, language)
            if term:
                counts[term] = counts.get(term, 0) + 1
                spelling.setdefault(term, word)
                length += 1
        return counts, length, spelling

    query = bag(target)[0]
    bags = {key: bag(text) for key, text in documents.items()}
    n = len(bags) or 1
    average = sum(length for _, length, _ in bags.values()) / n or 1.0
    ranked = []
    for key, (counts, length, spelling) in bags.items():
        contributions = []
        for position, term in enumerate(query):  # equal contributions: the target's order
            if term in counts:
                df = sum(term in other for other, _, _ in bags.values())
                weight = (1 + math.log(query[term])) * math.log(1 + (n - df + 0.5) / (df + 0.5))
                f = counts[term]
                norm = K1 * (1 - B + B * length / average)
                contributions.append((weight * f * (K1 + 1) / (f + norm), position, spelling[term]))
        contributions.sort(key=lambda c: (-c[0], c[1]))
        score = round(sum(c[0] for c in contributions), 4)
        ranked.append((key, score, [c[2] for c in contributions[:shown]]))
    given = list(documents)
    ranked.sort(key=lambda r: (-r[1], given.index(r[0])))
    return ranked


def _assert_same(target, documents, language="fr", shown=8):
    expected = _reference_rank(target, documents, language, shown)
    cv_ranking._bag.cache_clear()  # cold: every text tokenised again
    for _ in range(2):  # then warm: the cached bags must give the same
        ranked = rank(target, documents, language=language, max_words_shown=shown)
        got = [(r.key, r.score, r.matched) for r in ranked]
        assert got == expected
        assert [type(r[1]) for r in got] == [type(r[1]) for r in expected]  # an unmatched item: the int 0


VARIED = [
    "Gestion de l'équipe, management d'équipes et GESTION des équipes.",
    "Développeur C++ / C# / node.js / .NET — API REST, Node.js et c++17; x.y.z, 3.14, +33 6 12",
    "We are managing the team's projects; project management, managed teams, manager.",
    "Écoute, écouter, ECOUTE: l’accueil et l'accueil des clients; conseiller, conseil, conseillère",
    "python python python Python PYTHON pythons",
    "",
    "   \t\n ",
    "le la les de des et the and of 2024 1999 a b c",
    "snake_case __init__ foo__bar a-_b _a_ ça-va it's rock'n'roll",
    "Straße STRASSE ﬁnance finance œuvre Œuvre İstanbul istanbul ǅemal",
    "東京 プロジェクト данные Данные 🚀 emoji🚀rocket مرحبا",
    "tab\tseparated\u00a0non\u2009breaking\u3000ideographic\u2028line\x1cseparator zero\u200bwidth",
    "(Django, Flask) [SQL] {Linux} «qualité» “budget” planning... vente!!! accueil?",
    "Gestion de projet agile, gestion de budget, planification et animation d'équipe",
]


def test_the_words_are_those_of_the_regular_expression_chunk_by_chunk():
    for text in VARIED + [" ".join(VARIED), "a" * 300 + "'b", "x-" * 50 + "y"]:
        assert cv_ranking._words(text) == REFERENCE_WORD.findall(text)


@pytest.mark.parametrize("language", ["fr", "en", "de"])
def test_same_ranking_as_the_plain_formula_on_varied_texts(language):
    documents = {("experience", str(i)): text for i, text in enumerate(VARIED)}
    for target in VARIED + [" ".join(VARIED), "gestion équipe python c++ node.js accueil " * 5]:
        _assert_same(target, documents, language)
        _assert_same(target, documents, language, shown=2)  # the shown words cut among equal ones
    _assert_same("gestion", {}, language)


def test_equal_contributions_are_shown_in_the_target_order():
    documents = {("skill", "1"): "piano guitare violon trompette", ("skill", "2"): "rien"}
    for target in ("trompette violon guitare piano", "piano guitare violon trompette"):
        assert rank(target, documents)[0].matched == target.split()
    _assert_same("violon piano trompette guitare", documents)


def test_same_ranking_as_the_plain_formula_on_random_portfolios():
    pool = [w for text in VARIED for w in text.split()] + ["gestion", "Gestion", "équipe", "c++", "node.js"]
    rng = random.Random(14)
    for _ in range(60):
        documents = {
            (rng.choice(["experience", "skill", "diploma"]), str(i)): " ".join(
                rng.choices(pool, k=rng.randint(0, 40))
            )
            for i in range(rng.randint(0, 25))
        }
        if documents and rng.random() < 0.3:  # identical items: equal scores keep the given order
            documents[("skill", "twin")] = next(iter(documents.values()))
        _assert_same(" ".join(rng.choices(pool, k=rng.randint(0, 60))), documents, rng.choice(["fr", "en"]))


def test_the_word_memos_stay_bounded_and_right(monkeypatch):
    monkeypatch.setattr(cv_ranking, "_CACHE_MAX", 5)
    for memo in (cv_ranking._WORDS, *cv_ranking._TERMS.values()):
        memo.clear()  # then filled again past the bound
    documents = {("experience", str(i)): text for i, text in enumerate(VARIED)}
    for language in ("fr", "en"):
        _assert_same(" ".join(VARIED), documents, language)
    memos = (cv_ranking._WORDS, *cv_ranking._TERMS.values())
    assert cv_ranking._WORDS and all(len(memo) <= 5 for memo in memos)
