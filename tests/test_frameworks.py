"""Reference frameworks, the service: importers (simple CSV, ESCO, CASE), re-import, refusals, search."""
from __future__ import annotations

import csv
import json
import sys
import uuid
import zipfile
from pathlib import Path

import pytest
from flask import current_app
from sqlalchemy import func, select

from app.extensions import db
from app.models.frameworks import Concept, ConceptRelation, Framework
from app.services import frameworks as fw
from app.services.errors import NotFound

sys.path.insert(0, str(Path(__file__).resolve().parent / "benchmarks"))
from framework_bench import generate_esco  # noqa: E402

SAMPLE = fw.SAMPLE_URI
HEADER = ["uri", "kind", "label_fr", "label_en", "alt_labels_fr", "alt_labels_en", "description_fr",
          "description_en", "parent_uri", "notation"]


def write_simple(folder: Path, rows: list[dict], relations: list[tuple] = (), meta: dict | None = None,
                 encoding: str = "utf-8", header=HEADER) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "concepts.csv", "w", newline="", encoding=encoding) as handle:
        writer = csv.DictWriter(handle, fieldnames=header, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow(row)
    if relations:
        with open(folder / "relations.csv", "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["source_uri", "relation", "target_uri"])
            writer.writerows(relations)
    json.dump(meta or {"name": "Référentiel test", "slug": "test-ref", "version": "1"},
              open(folder / "framework.json", "w", encoding="utf-8"))
    return folder


def concept(uri, kind="skill", fr="", en="", parent="", alt_fr=""):
    return {"uri": f"https://example.org/c/{uri}", "kind": kind, "label_fr": fr, "label_en": en,
            "parent_uri": f"https://example.org/c/{parent}" if parent else "", "alt_labels_fr": alt_fr}


def u(key):
    return f"https://example.org/c/{key}"


BASE = [concept("dom", "domain", "Soins", "Care"),
        concept("wash", "skill", "Réaliser la toilette", "Wash patients", "dom", "toilette|hygiène"),
        concept("listen", "skill", "Écouter", "Listen", "dom"),
        concept("nurse", "occupation", "Infirmier", "Nurse")]
BASE_RELATIONS = [(u("nurse"), "essential", u("wash")), (u("nurse"), "optional", u("listen"))]


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def labels(found, lang="fr"):
    return [fw.label(c, lang) for c in found]


def test_folding_for_search():
    assert fw.fold_for_search("Éco-conduite, ÉCO CONDUITE") == "eco conduite eco conduite"
    assert fw.fold_for_search("Cœur de métier: Łódź & Ørsted") == "coeur de metier lodz orsted"
    assert fw.fold_for_search("aide_soignant(e)") == "aide soignant e"
    assert fw.fold_for_search("") == "" and fw.fold_for_search(None) == ""


# --- bundled ----------------------------------------------------------------------------------------

def test_bundled_frameworks_load_once_with_the_socle_tree_and_the_scale(app):
    loaded = fw.load_bundled(db.session)
    db.session.commit()
    assert {f.slug for f in loaded} == {"socle-commun", "echelle-maitrise", "sillage-sample"}
    total = count(Concept)
    assert fw.load_bundled(db.session) and count(Concept) == total  # idempotent
    socle = fw.get_framework(db.session, "socle-commun")
    domains = fw.roots(db.session, socle)
    assert [d.notation for d in domains] == ["D1", "D2", "D3", "D4", "D5"]
    assert [c.notation for c in fw.children(db.session, domains[0])] == ["D1.1", "D1.2", "D1.3", "D1.4"]
    assert all(d.label_fr and d.label_en for d in domains)
    scale = fw.search(db.session, "maitrise", framework="echelle-maitrise")
    assert sorted(c.notation for c in scale) == ["1", "2", "3", "4"]
    assert fw.label(fw.get(db.session, "https://w3id.org/sillage/frameworks/echelle-maitrise/4"), "fr") == \
        "Très bonne maîtrise"
    sample = fw.get_framework(db.session, "sillage-sample")
    assert "SAMPLE" in sample.source and "chantillon" in sample.name  # clearly labelled
    nurse = fw.get(db.session, f"{SAMPLE}/occupation/infirmier")
    related = fw.related(db.session, nurse)
    assert related[0][1] == "essential" and {r for _, r in related} == {"essential", "optional"}
    assert [r for _, r in related] == sorted((r for _, r in related), key=["essential", "optional"].index)


# --- search -----------------------------------------------------------------------------------------

@pytest.fixture
def bundled(app):
    fw.load_bundled(db.session)
    db.session.commit()


def test_search_ignores_accents_and_case_and_matches_word_starts(bundled):
    assert labels(fw.search(db.session, "ECOUTER")) == ["Écouter avec bienveillance"]
    assert labels(fw.search(db.session, "écou")) == ["Écouter avec bienveillance"]
    assert "Infirmier / infirmière" in labels(fw.search(db.session, "infirm"))
    assert labels(fw.search(db.session, "langue francaise")) == [
        "Comprendre, s'exprimer en utilisant la langue française à l'oral et à l'écrit"]
    assert fw.search(db.session, "oubliez") == [] and fw.search(db.session, "  ,;  ") == []
    # a word inside another word does not match: only word starts do
    assert "Infirmier / infirmière" not in labels(fw.search(db.session, "firmier"))


def test_search_in_english_and_restricted_to_a_language(bundled):
    assert labels(fw.search(db.session, "nurse", kind="occupation"), "en") == ["Nurse"]
    assert fw.search(db.session, "nurse", lang="fr") == []
    assert labels(fw.search(db.session, "infirmier", lang="fr", kind="occupation")) == ["Infirmier / infirmière"]
    assert fw.search(db.session, "infirmier", lang="en") == []
    # alternative labels count: "IDE" is the French abbreviation for a nurse
    assert labels(fw.search(db.session, "IDE", kind="occupation")) == ["Infirmier / infirmière"]


def test_search_order_kind_and_framework_filters(bundled):
    found = fw.search(db.session, "gérer")
    assert found and all("ger" in c.search_fr + c.search_en for c in found)
    # labels that start with the query come first
    first = fw.search(db.session, "travail", lang="fr")
    assert fw.label(first[0]).startswith("Travail")
    assert all(c.kind == "occupation" for c in fw.search(db.session, "a", kind="occupation", limit=50))
    both = fw.search(db.session, "comprendre", kind=("competence", "occupation"))
    assert len(both) == 4 and fw.search(db.session, "comprendre", kind=["skill"]) == []
    in_socle = fw.search(db.session, "comprendre", framework="socle-commun")
    assert len(in_socle) == 4 and {c.framework.slug for c in in_socle} == {"socle-commun"}
    assert len(fw.search(db.session, "a", limit=3)) == 3
    with pytest.raises(NotFound):
        fw.search(db.session, "a", framework="no-such-framework")


def test_get_by_id_or_uri_and_unknown(bundled):
    nurse = fw.get(db.session, f"{SAMPLE}/occupation/infirmier")
    assert fw.get(db.session, str(nurse.id)) is nurse
    for bad in ("https://example.org/nothing", "", "00000000-0000-0000-0000-000000000000"):
        with pytest.raises(NotFound) as caught:
            fw.get(db.session, bad)
        assert caught.value.code == "unknown_concept"
    skill = fw.get(db.session, f"{SAMPLE}/skill/encaissement")
    needing = {fw.label(c) for c, r in fw.related(db.session, skill, reverse=True)}
    assert {"Serveur / serveuse en restauration", "Réceptionniste d'hôtel"} <= needing
    assert fw.related(db.session, nurse, "optional") and \
        all(r == "optional" for _, r in fw.related(db.session, nurse, "optional"))


def test_retired_frameworks_leave_search_but_resolve(bundled):
    sample = fw.get_framework(db.session, "sillage-sample")
    fw.retire_framework(db.session, sample)
    db.session.commit()
    assert fw.search(db.session, "infirmier") == []
    assert fw.get(db.session, f"{SAMPLE}/occupation/infirmier").label_fr == "Infirmier / infirmière"
    assert "sillage-sample" not in {f.slug for f in fw.frameworks(db.session)}
    fw.retire_framework(db.session, sample, retired=False)
    assert fw.search(db.session, "infirmier")


# --- simple CSV, re-import ---------------------------------------------------------------------------

def test_simple_csv_import_and_new_version_updates_by_uri_and_retires_the_missing(app, tmp_path):
    report = fw.import_path(db.session, write_simple(tmp_path / "v1", BASE, BASE_RELATIONS))
    db.session.commit()
    assert (report.added, report.updated, report.retired, report.relations) == (4, 0, 0, 2)
    framework = fw.get_framework(db.session, "test-ref")
    assert (framework.name, framework.version, framework.concept_count) == ("Référentiel test", "1", 4)
    wash = fw.get(db.session, u("wash"))
    wash_id = wash.id
    assert wash.parent.uri == u("dom") and wash.alt_labels_fr == ["toilette", "hygiène"]
    assert labels(fw.search(db.session, "hygiene")) == ["Réaliser la toilette"]

    version2 = [BASE[0], {**BASE[1], "label_fr": "Réaliser les soins d'hygiène", "alt_labels_fr": ""}, BASE[3],
                concept("comfort", "skill", "Installer confortablement", "Make comfortable", "dom")]
    report = fw.import_path(db.session, write_simple(tmp_path / "v2", version2,
                                                     [(u("nurse"), "essential", u("comfort"))],
                                                     {"name": "Référentiel test", "slug": "test-ref", "version": "2"}))
    db.session.commit()
    assert (report.added, report.updated, report.retired, report.relations) == (1, 1, 1, 1)
    assert count(Framework) == 1 and count(ConceptRelation) == 1
    wash = fw.get(db.session, u("wash"))
    assert wash.id == wash_id and wash.label_fr == "Réaliser les soins d'hygiène"  # same row, same id
    listen = fw.get(db.session, u("listen"))  # dropped by version 2: retired, never deleted
    assert listen.retired_at is not None and fw.search(db.session, "ecouter") == []
    assert fw.search(db.session, "ecouter", include_retired=True) == [listen]
    assert labels(fw.search(db.session, "toilette")) == []  # the index followed the new labels
    assert labels(fw.search(db.session, "soins hygiene")) == ["Réaliser les soins d'hygiène"]
    assert fw.get_framework(db.session, "test-ref").retired_count == 1

    fw.import_path(db.session, write_simple(tmp_path / "v3", BASE, BASE_RELATIONS,
                                            {"name": "Référentiel test", "slug": "test-ref", "version": "3"}))
    db.session.commit()
    listen = fw.get(db.session, u("listen"))
    assert listen.retired_at is None and fw.get(db.session, u("comfort")).retired_at is not None


def test_a_single_csv_file_imports_under_its_file_name(app, tmp_path):
    folder = write_simple(tmp_path / "one", BASE)
    single = tmp_path / "Mon référentiel.csv"
    single.write_bytes((folder / "concepts.csv").read_bytes())
    report = fw.import_path(db.session, single, format="csv")
    assert (report.framework.name, report.framework.slug) == ("Mon référentiel", "mon-referentiel")


# --- refusals: nothing imported -----------------------------------------------------------------------

def refused(path, lang="en", **options) -> list[str]:
    """The problems of an import refused as a whole, reported in ``lang`` (the request's language)."""
    with current_app.test_request_context("/", headers={"Accept-Language": lang}):
        with pytest.raises(fw.FrameworkImportError) as caught:
            fw.import_path(db.session, path, **options)
    db.session.rollback()
    assert count(Framework) == 0 and count(Concept) == 0 and count(ConceptRelation) == 0
    prefix = {"en": "Nothing was imported: ", "fr": "Rien n’a été importé : "}[lang]
    assert caught.value.code == "invalid_framework" and caught.value.message.startswith(prefix)
    return caught.value.errors


def test_wrong_encoding_is_refused(app, tmp_path):
    errors = refused(write_simple(tmp_path / "latin", BASE, encoding="latin-1"))
    assert any("UTF-8" in e and "concepts.csv" in e for e in errors)


def test_missing_columns_are_refused(app, tmp_path):
    errors = refused(write_simple(tmp_path / "cols", BASE, header=["uri", "label_fr"]))
    assert errors == ["concepts.csv: missing column(s) kind (found: uri, label_fr)"]


def test_duplicate_uris_and_unknown_kinds_are_refused(app, tmp_path):
    errors = refused(write_simple(tmp_path / "dup", BASE + [BASE[1], concept("x", "gadget", "X")]))
    assert any("duplicate URI https://example.org/c/wash" in e and "line 6" in e for e in errors)
    assert any("unknown kind “gadget”" in e for e in errors)


def test_cycles_in_the_tree_and_in_part_of_are_refused(app, tmp_path):
    looped = [concept("a", "domain", "A", parent="c"), concept("b", "domain", "B", parent="a"),
              concept("c", "domain", "C", parent="b")]
    errors = refused(write_simple(tmp_path / "tree", looped))
    assert len(errors) == 1 and errors[0].startswith("cycle in the tree:") and errors[0].count("→") == 3
    blocks = [concept("q", "qualification", "Q"), concept("b1", "competence", "B1"),
              concept("b2", "competence", "B2")]
    errors = refused(write_simple(tmp_path / "parts", blocks, [(u("b1"), "part_of", u("b2")),
                                                                (u("b2"), "part_of", u("b1"))]))
    assert any(e.startswith("cycle in the tree:") for e in errors)


def test_unknown_targets_and_relations_are_refused(app, tmp_path):
    errors = refused(write_simple(tmp_path / "rel", BASE, [(u("nurse"), "essential", u("ghost")),
                                                           (u("nurse"), "adores", u("wash"))]))
    assert any("unknown concept https://example.org/c/ghost" in e for e in errors)
    assert any("unknown relation “adores”" in e for e in errors)
    errors = refused(write_simple(tmp_path / "parent", [concept("w", "skill", "W", parent="nowhere")]))
    assert errors == ["https://example.org/c/w: unknown parent https://example.org/c/nowhere"]


def test_damaged_zips_and_zip_bombs_are_refused(app, tmp_path):
    archive = tmp_path / "ref.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        zipped.writestr("concepts.csv", "uri,kind,label_fr\n" + "".join(
            f"https://example.org/c/{uuid.uuid4()},skill,{uuid.uuid4().hex}\n" for _ in range(2000)))
    data = archive.read_bytes()
    archive.write_bytes(data[:len(data) // 2] + bytes(64) + data[len(data) // 2 + 64:])  # corrupt the middle
    errors = refused(archive)
    assert any("damaged ZIP" in e for e in errors), errors
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zipped:
        zipped.writestr("concepts.csv", "uri,kind\n" + " " * 5_000_000)
    assert refused(bomb) == ["concepts.csv: too large once uncompressed"]


def test_the_first_errors_are_listed_and_the_rest_counted(app, tmp_path):
    rows = [concept(f"k{n}", "gadget", f"K{n}") for n in range(30)]
    with pytest.raises(fw.FrameworkImportError) as caught:
        fw.import_path(db.session, write_simple(tmp_path / "many", rows))
    assert len(caught.value.errors) == fw.MAX_REPORTED_ERRORS and caught.value.total == 30
    assert "… et 10 autres" in caught.value.message  # no request: the default language, French


def test_a_refused_reimport_leaves_the_previous_version_untouched(app, tmp_path):
    fw.import_path(db.session, write_simple(tmp_path / "v1", BASE, BASE_RELATIONS))
    db.session.commit()
    with pytest.raises(fw.FrameworkImportError):
        fw.import_path(db.session, write_simple(tmp_path / "v2", BASE[:2], [(u("nurse"), "essential", u("wash"))],
                                                {"name": "Référentiel test", "slug": "test-ref", "version": "2"}))
    db.session.rollback()
    assert fw.get_framework(db.session, "test-ref").version == "1"
    assert count(Concept) == 4 and count(ConceptRelation) == 2
    assert all(c.retired_at is None for c in db.session.scalars(select(Concept)))


# --- ESCO ------------------------------------------------------------------------------------------

ESCO = "http://data.europa.eu/esco"


def write_esco(folder: Path, *, skip=(), relations=None, extra_skill_rows=()):
    folder.mkdir(parents=True, exist_ok=True)
    skills = {"fr": [(f"{ESCO}/skill/s1", "gérer une équipe", "encadrer une équipe\nanimer une équipe", "Diriger."),
                     (f"{ESCO}/skill/s2", "réaliser des soins", "", "")],
              "en": [(f"{ESCO}/skill/s1", "manage a team", "lead a team", "Lead people."),
                     (f"{ESCO}/skill/s2", "provide care", "", "")]}
    occupations = {"fr": [(f"{ESCO}/occupation/o1", "aide-soignant/aide-soignante", "auxiliaire de soins", "", "5321.1")],
                   "en": [(f"{ESCO}/occupation/o1", "healthcare assistant", "nursing assistant", "", "5321.1")]}
    for lang in ("fr", "en"):
        if f"skills_{lang}" not in skip:
            with open(folder / f"skills_{lang}.csv", "w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle)
                writer.writerow(["conceptType", "conceptUri", "skillType", "reuseLevel", "preferredLabel",
                                 "altLabels", "hiddenLabels", "status", "modifiedDate", "scopeNote", "definition",
                                 "inScheme", "description"])
                for uri, label, alt, description in skills[lang] + list(extra_skill_rows):
                    writer.writerow(["KnowledgeSkillCompetence", uri, "skill/competence", "transversal", label, alt,
                                     "", "released", "", "", "", "", description])
        with open(folder / f"occupations_{lang}.csv", "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["conceptType", "conceptUri", "iscoGroup", "preferredLabel", "altLabels", "hiddenLabels",
                             "status", "modifiedDate", "regulatedProfessionNote", "scopeNote", "definition",
                             "inScheme", "description", "code"])
            for uri, label, alt, description, code in occupations[lang]:
                writer.writerow(["Occupation", uri, "5321", label, alt, "", "released", "", "", "", "", "",
                                 description, code])
    if "relations" not in skip:
        with open(folder / "occupationSkillRelations_en.csv", "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["occupationUri", "relationType", "skillType", "skillUri"])
            for row in relations or [(f"{ESCO}/occupation/o1", "essential", "skill/competence", f"{ESCO}/skill/s2"),
                                     (f"{ESCO}/occupation/o1", "optional", "skill/competence", f"{ESCO}/skill/s1")]:
                writer.writerow(row)
    (folder / "skills_de.csv").write_text("conceptUri,preferredLabel\n", encoding="utf-8")
    return folder


def test_esco_languages_merge_into_one_concept(app, tmp_path):
    folder = write_esco(tmp_path / "esco")
    archive = tmp_path / "ESCO dataset - v1.2.0 - classification - fr en - csv.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for path in folder.iterdir():
            zipped.write(path, f"ESCO dataset/{path.name}")  # ESCO's ZIP holds them in a folder
    report = fw.import_path(db.session, archive, version="v1.2.0")
    db.session.commit()
    assert (report.added, report.relations) == (3, 2) and report.framework.slug == "esco"
    assert any("de" in w for w in report.warnings)
    s1 = fw.get(db.session, f"{ESCO}/skill/s1")
    assert (s1.label_fr, s1.label_en) == ("gérer une équipe", "manage a team")
    assert s1.alt_labels_fr == ["encadrer une équipe", "animer une équipe"] and s1.description_en == "Lead people."
    occupation = fw.get(db.session, f"{ESCO}/occupation/o1")
    assert occupation.kind == "occupation" and occupation.notation == "5321.1"
    assert [(fw.label(c, "en"), r) for c, r in fw.related(db.session, occupation)] == [
        ("provide care", "essential"), ("manage a team", "optional")]
    assert labels(fw.search(db.session, "aide soignante")) == ["aide-soignant/aide-soignante"]
    assert labels(fw.search(db.session, "nursing assist"), "en") == ["healthcare assistant"]


def test_esco_refusals(app, tmp_path):
    errors = refused(write_esco(tmp_path / "a", skip=("relations",)))
    assert errors == ["occupationSkillRelations_fr.csv or occupationSkillRelations_en.csv: not found"]
    errors = refused(write_esco(tmp_path / "b", relations=[
        (f"{ESCO}/occupation/o1", "essential", "", f"{ESCO}/skill/missing"),
        (f"{ESCO}/occupation/o1", "vital", "", f"{ESCO}/skill/s1")]))
    assert any("unknown concept http://data.europa.eu/esco/skill/missing" in e for e in errors)
    assert any("relationType “vital”" in e and "line 3" in e for e in errors)
    errors = refused(write_esco(tmp_path / "c", extra_skill_rows=[(f"{ESCO}/skill/s1", "encore", "", "")]))
    assert any("skills_en.csv, line 4: duplicate URI" in e for e in errors)
    errors = refused(write_esco(tmp_path / "d", extra_skill_rows=[(f"{ESCO}/occupation/o1", "x", "", "")]))
    assert any("is both a skill and an occupation" in e for e in errors)


def test_a_hundred_thousand_rows_import_in_one_go(app, tmp_path):
    generated = generate_esco(tmp_path / "big", skills=1000, occupations=100, relations=100_000)
    report = fw.import_path(db.session, tmp_path / "big")
    db.session.commit()
    assert (report.added, report.relations) == (1100, 100_000) == (1100, generated["relations"])
    occupation = fw.get(db.session, generated["occupations"][7])
    assert len(fw.related(db.session, occupation)) == 1000
    with open(tmp_path / "big" / "skills_fr.csv", encoding="utf-8") as handle:
        expected = sum(1 for row in csv.DictReader(handle) if row["preferredLabel"].startswith("gérer "))
    assert 10 < len(fw.search(db.session, "gerer", limit=200)) == expected


# --- CASE --------------------------------------------------------------------------------------------

def case_package(**changes) -> dict:
    doc = "https://case.example.org/uri/doc-1"
    item = lambda key, statement, kind="Competency", **more: {  # noqa: E731
        "identifier": key, "uri": f"https://case.example.org/uri/{key}", "fullStatement": statement,
        "CFItemType": kind, "lastChangeDateTime": "2024-01-01T00:00:00Z", **more}
    node = lambda key: {"title": key, "identifier": key, "uri": f"https://case.example.org/uri/{key}"}  # noqa: E731
    package = {
        "CFDocument": {"identifier": "doc-1", "uri": doc, "title": "Bloc de compétences BTS MCO", "creator": "Ministère",
                       "version": "2019", "language": "fr", "lastChangeDateTime": "2024-01-01T00:00:00Z"},
        "CFItems": [item("b1", "Développer la relation client et assurer la vente conseil", "Bloc",
                         humanCodingScheme="B1", abbreviatedStatement="Relation client et vente conseil"),
                    item("c11", "Assurer la veille informationnelle", humanCodingScheme="B1.1"),
                    item("c12", "Réaliser des études commerciales", humanCodingScheme="B1.2"),
                    item("q", "BTS Management commercial opérationnel", "Diplôme")],
        "CFAssociations": [
            {"identifier": "a1", "associationType": "isChildOf", "originNodeURI": node("b1"),
             "destinationNodeURI": {"title": "doc", "identifier": "doc-1", "uri": doc}},
            {"identifier": "a2", "associationType": "isChildOf", "originNodeURI": node("c11"),
             "destinationNodeURI": node("b1")},
            {"identifier": "a3", "associationType": "isChildOf", "originNodeURI": node("c12"),
             "destinationNodeURI": node("b1")},
            {"identifier": "a4", "associationType": "isPartOf", "originNodeURI": node("b1"),
             "destinationNodeURI": node("q")},
            {"identifier": "a5", "associationType": "isPeerOf", "originNodeURI": node("c11"),
             "destinationNodeURI": node("c12")}],
    }
    package.update(changes)
    return package


def test_case_package_builds_the_tree_and_relations(app, tmp_path):
    path = tmp_path / "bts.json"
    path.write_text(json.dumps(case_package()), encoding="utf-8")
    report = fw.import_path(db.session, path)
    db.session.commit()
    framework = report.framework
    assert (framework.name, framework.slug, framework.version, framework.format) == (
        "Bloc de compétences BTS MCO", "bloc-de-competences-bts-mco", "2019", "case")
    block = fw.get(db.session, "https://case.example.org/uri/b1")
    assert (block.label_fr, block.notation, block.parent_id) == ("Relation client et vente conseil", "B1", None)
    assert block.description_fr.startswith("Développer la relation client")
    assert [c.notation for c in fw.children(db.session, block)] == ["B1.1", "B1.2"]
    assert [(fw.label(c), r) for c, r in fw.related(db.session, block)] == [
        ("BTS Management commercial opérationnel", "part_of")]
    assert fw.get(db.session, "https://case.example.org/uri/q").kind == "qualification"
    assert any("isPeerOf" in w for w in report.warnings)
    assert labels(fw.search(db.session, "veille")) == ["Assurer la veille informationnelle"]


def test_case_refusals(app, tmp_path):
    path = tmp_path / "bad.json"
    path.write_bytes(b"{not json")
    assert refused(path)[0].startswith("bad.json: not JSON")
    path.write_text(json.dumps({"hello": "world"}))
    assert refused(path) == ["bad.json: not a CASE CFPackage (CFDocument and CFItems expected)"]
    looped = case_package()
    looped["CFAssociations"].append({"associationType": "isChildOf", "originNodeURI": {"identifier": "b1"},
                                     "destinationNodeURI": {"identifier": "c11"}})
    looped["CFAssociations"][0] = {"associationType": "isChildOf", "originNodeURI": {"identifier": "b1"},
                                   "destinationNodeURI": {"identifier": "c11"}}
    path.write_text(json.dumps(looped))
    assert any(e.startswith("cycle in the tree") for e in refused(path))
    path.write_bytes(json.dumps(case_package()).encode("utf-16"))
    assert refused(path) == ["bad.json: not UTF-8 text"]


def test_import_problems_are_reported_in_french(app, tmp_path):
    errors = refused(write_simple(tmp_path / "dup", BASE + [BASE[1], concept("x", "gadget", "X")]), lang="fr")
    assert "concepts.csv, ligne 6 : URI en double https://example.org/c/wash" in errors
    assert any("type inconnu « gadget »" in e for e in errors)
    errors = refused(write_simple(tmp_path / "cols", BASE, header=["uri", "label_fr"]), lang="fr")
    assert errors == ["concepts.csv : colonne(s) manquante(s) kind (trouvées : uri, label_fr)"]
    errors = refused(write_simple(tmp_path / "latin", BASE, encoding="latin-1"), lang="fr")
    assert errors == ["concepts.csv, après la ligne 1 : texte non UTF-8 (enregistrez le fichier en UTF-8)"]


def test_case_package_and_zip_sizes_are_bounded(app, tmp_path, monkeypatch):
    """Review 13, L6: a CASE package is parsed whole, so it is read up to a bound and no further; the
    members of a ZIP together are bounded too."""
    from app.services import framework_readers  # noqa: PLC0415

    path = tmp_path / "bts.json"
    path.write_text(json.dumps(case_package()), encoding="utf-8")
    monkeypatch.setattr(framework_readers, "MAX_CASE_BYTES", 100)
    assert refused(path) == ["bts.json: larger than 0 MiB, the most a CASE package may be"]
    monkeypatch.setattr(framework_readers, "MAX_CASE_BYTES", 10 * 1024**2)
    archive = tmp_path / "bts.zip"
    with zipfile.ZipFile(archive, "w") as out:
        out.writestr("bts.json", json.dumps(case_package()))
        out.writestr("extra.txt", "x" * 1000)
    monkeypatch.setattr(framework_readers, "MAX_TOTAL_BYTES", 1500)
    assert any("too large once uncompressed" in e for e in refused(archive))
