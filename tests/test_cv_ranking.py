"""The CV relevance ranking (pure, no application): folding, stop words, BM25 order, explanations."""

from app.services.cv_ranking import fold, language_of, rank, terms


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
