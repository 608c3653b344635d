"""Reference frameworks: ESCO's skill types and skills hierarchy, CASE associations that point into
another CASE document, and one import of a framework at a time (threads on a real database file)."""
from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select

from app.database import utcnow
from app.extensions import db
from app.models.frameworks import Concept, ConceptLink, Framework, FrameworkImportLock
from app.services import frameworks as fw
from tests.test_frameworks import ESCO, concept, labels, refused, write_esco, write_simple
from tests.test_frameworks_pages import admin, api, html, invoke, upload, zipped  # noqa: F401 - fixtures

# ESCO v1.2's skills pillar in miniature: its "skills" (S) and "knowledge" (K) top groups and ISCED-F
# group 09 under their real URIs, one made-up group URI in ESCO's form (S4.8), skills filed under them;
# "manage a team" under two groups (ESCO's polyhierarchy); the occupation under its ISCO group.
SKILLS_TOP = f"{ESCO}/skill/335228d2-297d-4e0e-a6ee-bc6a8dc110d9"      # S   skills
KNOWLEDGE_TOP = f"{ESCO}/skill/c46fcb45-5c14-4ffa-abed-5a43f104bb22"   # K   knowledge
MANAGEMENT = f"{ESCO}/skill/1a0b5a5b-3bd1-4c5a-9f3f-0e7c1e0f2a64"      # S4.8 leading and motivating
HEALTH = f"{ESCO}/isced-f/09"                                            # 09  health and welfare
ISCO = f"{ESCO}/isco/C5321"                                              # ISCO group, not imported


def write_hierarchy(folder: Path, *, skill_types=("skill/competence", "knowledge"), loop=False) -> Path:
    """ESCO's shape: skills_<lang>.csv with skillType, skillGroups_<lang>.csv, skillsHierarchy_en.csv,
    broaderRelationsSkillPillar_en.csv and broaderRelationsOccPillar_en.csv (columns as published)."""
    write_esco(folder)
    for lang in ("fr", "en"):  # s1 is a skill/competence, s2 knowledge
        path = folder / f"skills_{lang}.csv"
        lines = list(csv.reader(path.open(encoding="utf-8", newline="")))
        lines[1][2], lines[2][2] = skill_types
        with path.open("w", encoding="utf-8", newline="") as handle:
            csv.writer(handle).writerows(lines)
    groups = {"fr": [(SKILLS_TOP, "aptitudes", "S"), (MANAGEMENT, "diriger et motiver", "S4.8")],
              "en": [(SKILLS_TOP, "skills", "S"), (MANAGEMENT, "leading and motivating", "S4.8")]}
    for lang, rows in groups.items():
        with open(folder / f"skillGroups_{lang}.csv", "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["conceptType", "conceptUri", "preferredLabel", "altLabels", "hiddenLabels", "status",
                             "modifiedDate", "scopeNote", "inScheme", "description", "code"])
            for uri, label, code in rows:
                writer.writerow(["SkillGroup", uri, label, "", "", "released", "", "",
                                 f"{ESCO}/concept-scheme/skills-hierarchy", "", code])
    with open(folder / "skillsHierarchy_en.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        header = []
        for n in range(4):
            header += [f"Level {n} URI", f"Level {n} preferred term"]
        writer.writerow(header + ["Description", "Scope note"] + [f"Level {n} code" for n in range(4)])
        writer.writerow([SKILLS_TOP, "skills", "", "", "", "", "", "", "", "", "S", "", "", ""])
        writer.writerow([SKILLS_TOP, "skills", MANAGEMENT, "leading and motivating", "", "", "", "",
                         "Leading and motivating people.", "", "S", "S4.8", "", ""])
        # Only in the hierarchy file (no skillGroups row): created from the row's own terms.
        writer.writerow([KNOWLEDGE_TOP, "knowledge", "", "", "", "", "", "", "", "", "K", "", "", ""])
        writer.writerow([KNOWLEDGE_TOP, "knowledge", HEALTH, "health and welfare", "", "", "", "",
                         "Health and welfare.", "", "K", "09", "", ""])
    with open(folder / "broaderRelationsSkillPillar_en.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["conceptType", "conceptUri", "broaderType", "broaderUri"])
        writer.writerow(["SkillGroup", MANAGEMENT, "SkillGroup", SKILLS_TOP])  # again: the hierarchy said it
        writer.writerow(["KnowledgeSkillCompetence", f"{ESCO}/skill/s1", "SkillGroup", MANAGEMENT])
        writer.writerow(["KnowledgeSkillCompetence", f"{ESCO}/skill/s1", "SkillGroup", HEALTH])  # a second parent
        writer.writerow(["KnowledgeSkillCompetence", f"{ESCO}/skill/s2", "SkillGroup", HEALTH])
        if loop:
            writer.writerow(["SkillGroup", SKILLS_TOP, "KnowledgeSkillCompetence", f"{ESCO}/skill/s1"])
    with open(folder / "broaderRelationsOccPillar_en.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["conceptType", "conceptUri", "broaderType", "broaderUri"])
        writer.writerow(["Occupation", f"{ESCO}/occupation/o1", "ISCOGroup", ISCO])
        writer.writerow(["ISCOGroup", ISCO, "ISCOGroup", f"{ESCO}/isco/C532"])  # neither end imported
    return folder


@pytest.fixture
def hierarchy(app, tmp_path):
    report = fw.import_path(db.session, write_hierarchy(tmp_path / "esco"))
    db.session.commit()
    return report


def test_esco_skill_types_and_hierarchy_are_kept(hierarchy):
    assert (hierarchy.added, hierarchy.links) == (7, 1)  # 2 skills, 1 occupation, 4 groups; the ISCO group
    s1, s2 = fw.get(db.session, f"{ESCO}/skill/s1"), fw.get(db.session, f"{ESCO}/skill/s2")
    assert (s1.kind, s1.skill_type, s2.skill_type) == ("skill", "skill_competence", "knowledge")
    management, health = fw.get(db.session, MANAGEMENT), fw.get(db.session, HEALTH)
    assert (management.kind, management.notation, management.label_fr) == ("group", "S4.8", "diriger et motiver")
    assert (health.label_en, health.notation, health.description_en) == ("health and welfare", "09",
                                                                         "Health and welfare.")
    assert health.label_fr == ""  # in the English hierarchy file only
    assert [fw.label(c, "en") for c in fw.ancestors(db.session, s1)] == ["skills", "leading and motivating"]
    assert [fw.label(c, "en") for c in fw.broader(db.session, s1)] == ["health and welfare"]
    # A group's narrower concepts: tree children and those filed under it as a second parent.
    assert sorted(c.uri for c in fw.children(db.session, health)) == [f"{ESCO}/skill/s1", f"{ESCO}/skill/s2"]
    assert [c.uri for c in fw.children(db.session, fw.get(db.session, SKILLS_TOP))] == [MANAGEMENT]
    assert {c.uri for c in fw.roots(db.session, hierarchy.framework)} == {
        SKILLS_TOP, KNOWLEDGE_TOP, f"{ESCO}/occupation/o1"}
    occupation = fw.get(db.session, f"{ESCO}/occupation/o1")
    assert [(r, uri, c) for r, uri, c in fw.links(db.session, occupation)] == [("broader", ISCO, None)]
    assert "1 liens « plus large » entre concepts hors de l’importation non conservés" in hierarchy.warnings
    # The skill type filters the search (ESCO's knowledge vs skills/competences).
    assert [c.uri for c in fw.search(db.session, "realiser soins", skill_type="knowledge")] == [s2.uri]
    assert fw.search(db.session, "realiser soins", skill_type="skill_competence") == []
    assert [c.uri for c in fw.search(db.session, "gerer", skill_type="skill_competence")] == [s1.uri]
    assert fw.search(db.session, "gerer", skill_type="gadget") == fw.search(db.session, "gerer")


def test_a_new_esco_version_updates_the_skill_type(hierarchy, tmp_path):
    report = fw.import_path(db.session, write_hierarchy(tmp_path / "v2", skill_types=("knowledge", "knowledge")))
    db.session.commit()
    assert report.updated == 1 and fw.get(db.session, f"{ESCO}/skill/s1").skill_type == "knowledge"


def test_esco_hierarchy_refusals(app, tmp_path):
    errors = refused(write_hierarchy(tmp_path / "loop", loop=True))
    assert any(e.startswith("cycle in the tree") for e in errors)
    errors = refused(write_hierarchy(tmp_path / "type", skill_types=("skill/competence", "attitude")))
    assert any("skillType “attitude” is neither knowledge nor skill/competence" in e for e in errors)
    assert db.session.scalar(select(func.count()).select_from(Concept)) == 0


def test_esco_hierarchy_refusals_in_french(app, tmp_path):
    errors = refused(write_hierarchy(tmp_path / "type-fr", skill_types=("skill/competence", "attitude")), lang="fr")
    assert "skills_en.csv, ligne 3 : skillType « attitude » n’est ni knowledge ni skill/competence" in errors


def test_pages_show_the_type_filter_on_it_and_browse_a_group(logged_in, hierarchy):
    health = fw.get(db.session, HEALTH)
    page = html(logged_in.get(f"/concepts/{health.id}"))
    assert "Groupe de concepts" in page and "Concepts plus précis" in page
    assert "gérer une équipe" in page and "réaliser des soins" in page and "Connaissances" in page
    s1 = fw.get(db.session, f"{ESCO}/skill/s1")
    page = html(logged_in.get(f"/concepts/{s1.id}"))
    assert "Aptitude ou compétence" in page and "Aussi sous" in page and "health and welfare" in page
    assert page.count("Concept plus large") == 0  # the hierarchy has its own sections, not "Relations"
    page = html(logged_in.get(f"/concepts/{fw.get(db.session, f'{ESCO}/occupation/o1').id}"))
    assert "Hors de ce référentiel" in page and f'href="{ISCO}"' in page and "non importé ici" in page
    found = html(logged_in.get("/frameworks?q=soins&skill_type=knowledge"))
    assert "réaliser des soins" in found and 'value="knowledge" selected' in found
    assert "gérer une équipe" not in html(logged_in.get("/frameworks?q=gerer&skill_type=knowledge"))


def test_api_filters_on_the_skill_type_and_lists_links(api, hierarchy):
    found = api("/concepts?q=soins&skill_type=knowledge").get_json()["items"]
    assert [(c["uri"], c["skill_type"]) for c in found] == [(f"{ESCO}/skill/s2", "knowledge")]
    response = api("/concepts?q=soins&skill_type=attitude")
    assert response.status_code == 422 and response.get_json()["error"] == "validation_error"
    occupation = api(f"/concepts/{ESCO}/occupation/o1").get_json()
    assert occupation["links"] == [{"relation": "broader", "uri": ISCO, "concept": None}]
    health = api(f"/concepts/{HEALTH}").get_json()
    assert {c["uri"] for c in health["children"]} == {f"{ESCO}/skill/s1", f"{ESCO}/skill/s2"}


# --- CASE: associations into another document ----------------------------------------------------------

CASE_NET = "https://casenetwork.example.org/uri"


def case_document(doc: str, title: str, items: list[tuple[str, str]], associations: list[dict]) -> dict:
    """A CFPackage as CASE 1.0/1.1 publishes it: LinkGenURI nodes (title, identifier, uri)."""
    return {
        "CFDocument": {"identifier": doc, "uri": f"{CASE_NET}/{doc}", "title": title, "creator": "Ministère",
                       "language": "fr", "adoptionStatus": "Adopted", "lastChangeDateTime": "2024-03-01T00:00:00Z",
                       "CFPackageURI": {"title": title, "identifier": doc, "uri": f"{CASE_NET}/{doc}"}},
        "CFItems": [{"identifier": key, "uri": f"{CASE_NET}/{key}", "fullStatement": statement,
                     "CFItemType": "Competency", "CFDocumentURI": {"title": title, "identifier": doc,
                                                                  "uri": f"{CASE_NET}/{doc}"},
                     "lastChangeDateTime": "2024-03-01T00:00:00Z"} for key, statement in items],
        "CFAssociations": [{"identifier": f"{doc}-a{n}", "uri": f"{CASE_NET}/{doc}-a{n}",
                            "lastChangeDateTime": "2024-03-01T00:00:00Z",
                            "CFDocumentURI": {"title": title, "identifier": doc, "uri": f"{CASE_NET}/{doc}"},
                            **association} for n, association in enumerate(associations)],
    }


def node(key: str, title: str = "") -> dict:
    return {"title": title or key, "identifier": key, "uri": f"{CASE_NET}/{key}"}


BLOCK = "9b5d3c1e-0000-4000-8000-00000000b001"       # an item of the national document
LOCAL = "9b5d3c1e-0000-4000-8000-00000000c001"       # an item of the regional one, a child of BLOCK
PEER = "9b5d3c1e-0000-4000-8000-00000000d001"


def write_case(tmp_path: Path, name: str, package: dict) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(package, ensure_ascii=False), encoding="utf-8")
    return path


REGIONAL = case_document("doc-region", "Compétences régionales — accueil", [(LOCAL, "Accueillir un public en situation de handicap")], [
    {"associationType": "isChildOf", "originNodeURI": node(LOCAL), "destinationNodeURI": node(BLOCK, "Bloc 1")},
    {"associationType": "exactMatchOf", "originNodeURI": node(LOCAL), "destinationNodeURI": node(PEER)},
])
NATIONAL = case_document("doc-nation", "Référentiel national — accueil", [(BLOCK, "Accueillir et orienter le public")], [
    {"associationType": "isChildOf", "originNodeURI": node(BLOCK),
     "destinationNodeURI": {"title": "doc", "identifier": "doc-nation", "uri": f"{CASE_NET}/doc-nation"}},
])


def test_case_is_child_of_another_document_is_kept_as_a_link_then_resolved(logged_in, app, tmp_path):
    report = fw.import_path(db.session, write_case(tmp_path, "regional.json", REGIONAL))
    db.session.commit()
    assert (report.added, report.relations, report.links) == (1, 0, 2)
    assert any("2 associations pointent hors de ce document" in w for w in report.warnings)
    local = fw.get(db.session, f"{CASE_NET}/{LOCAL}")
    assert local.parent_id is None  # a root here: its parent is in the other document
    assert [(r, uri, c) for r, uri, c in fw.links(db.session, local)] == [
        ("broader", f"{CASE_NET}/{BLOCK}", None), ("exact_match", f"{CASE_NET}/{PEER}", None)]
    page = html(logged_in.get(f"/concepts/{local.id}"))
    assert f'href="{CASE_NET}/{BLOCK}"' in page and "Concept plus large" in page and "Équivalent à" in page

    fw.import_path(db.session, write_case(tmp_path, "national.json", NATIONAL))  # the other document
    db.session.commit()
    block = fw.get(db.session, f"{CASE_NET}/{BLOCK}")
    (relation, uri, resolved), _match = fw.links(db.session, local)
    assert (relation, uri, resolved.id) == ("broader", f"{CASE_NET}/{BLOCK}", block.id)
    page = html(logged_in.get(f"/concepts/{local.id}"))
    assert f'href="/concepts/{block.id}"' in page and "Accueillir et orienter le public" in page


def test_case_links_are_replaced_by_a_new_version_and_bad_associations_still_refused(app, tmp_path):
    fw.import_path(db.session, write_case(tmp_path, "regional.json", REGIONAL))
    db.session.commit()
    version2 = json.loads(json.dumps(REGIONAL))
    version2["CFAssociations"] = version2["CFAssociations"][:1]
    fw.import_path(db.session, write_case(tmp_path, "regional2.json", version2))
    db.session.commit()
    assert db.session.scalars(select(ConceptLink.relation)).all() == ["broader"]
    broken = json.loads(json.dumps(REGIONAL))
    broken["CFAssociations"].append({"associationType": "isChildOf", "originNodeURI": node("nowhere"),
                                     "destinationNodeURI": node(BLOCK)})
    with pytest.raises(fw.FrameworkImportError) as caught:
        fw.import_path(db.session, write_case(tmp_path, "broken.json", broken))
    db.session.rollback()
    assert any("nowhere" in e for e in caught.value.errors)
    assert db.session.scalars(select(ConceptLink.relation)).all() == ["broader"]  # the refused file changed nothing


# --- one import of a framework at a time -------------------------------------------------------------

def take_lock(slug: str, owner: str, started=None) -> None:
    db.session.execute(insert(FrameworkImportLock).values(slug=slug, owner=owner, started_at=started or utcnow()))
    db.session.commit()


def test_a_running_import_refuses_a_second_one_from_another_thread(app, tmp_path):
    """Two real threads on the test's database file (PostgreSQL in its pass): the first holds the lock
    through its import, the second (the CLI command) is refused at once, then succeeds afterwards."""
    folder = write_esco(tmp_path / "esco")
    holding, finish, outcome = threading.Event(), threading.Event(), {}

    def first():
        with app.app_context():
            from app.services import framework_readers

            parsed = framework_readers.read(folder)
            with fw.import_lock(db.session, parsed.slug):
                fw.apply(db.session, parsed)
                holding.set()
                finish.wait(30)
                db.session.commit()
            outcome["first"] = "done"
            db.session.remove()

    thread = threading.Thread(target=first)
    thread.start()
    try:
        assert holding.wait(30)
        result = invoke(app, "frameworks", "import", str(folder))
        assert result.exit_code == 1
        assert "Une importation de ce référentiel (esco) est déjà en cours" in result.output
    finally:
        finish.set()
        thread.join(30)
    assert outcome == {"first": "done"}
    assert db.session.scalar(select(func.count()).select_from(FrameworkImportLock)) == 0
    result = invoke(app, "frameworks", "import", str(folder))
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(func.count()).select_from(Framework)) == 1


def test_two_imports_started_together_never_clash(app, tmp_path):
    """Both run the whole import at once: each either imports or is told another is running, and the
    framework ends whole (no error, no duplicate row, no lock left)."""
    from app.services import framework_readers

    folder = write_esco(tmp_path / "esco")
    barrier, outcomes = threading.Barrier(2), []

    def run():
        with app.app_context():
            parsed = framework_readers.read(folder)
            barrier.wait(10)
            try:
                with fw.import_lock(db.session, parsed.slug):
                    fw.apply(db.session, parsed)
                    db.session.commit()
                outcomes.append("imported")
            except fw.ImportRunning:
                db.session.rollback()
                outcomes.append("refused")
            except Exception as exc:  # noqa: BLE001 - the test reports it
                outcomes.append(repr(exc))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(outcomes) in (["imported", "imported"], ["imported", "refused"]), outcomes
    assert db.session.scalar(select(func.count()).select_from(Framework)) == 1
    assert db.session.scalar(select(func.count()).select_from(Concept)) == 3
    assert db.session.scalar(select(func.count()).select_from(FrameworkImportLock)) == 0


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_a_crashed_imports_lock_is_taken_over(app, tmp_path):
    import socket

    folder = write_esco(tmp_path / "esco")
    take_lock("esco", f"{socket.gethostname()}:{dead_pid()}:abcdef")  # this host, its process gone
    assert invoke(app, "frameworks", "import", str(folder)).exit_code == 0
    take_lock("esco", "other-host:4242:abcdef", started=utcnow() - timedelta(hours=2))  # too old
    assert invoke(app, "frameworks", "import", str(folder)).exit_code == 0
    assert db.session.scalar(select(func.count()).select_from(FrameworkImportLock)) == 0
    take_lock("esco", "other-host:4242:fresh")  # another host, recent: it may well be running
    result = invoke(app, "frameworks", "import", str(folder))
    assert result.exit_code == 1 and "déjà en cours" in result.output
    take_lock("test-ref", f"{socket.gethostname()}:{os.getpid()}:alive")  # this very process: alive
    with pytest.raises(fw.ImportRunning):
        with fw.import_lock(db.session, "test-ref"):
            pass


def test_the_admin_page_and_the_background_import_answer_already_running(admin, tmp_path, monkeypatch):
    from tests.test_frameworks import BASE, BASE_RELATIONS, write_simple

    take_lock("test-ref", "other-host:4242:fresh")
    data = zipped(write_simple(tmp_path / "ok", BASE, BASE_RELATIONS))
    response = upload(admin, data, "ref.zip")
    assert response.status_code == 409
    assert "Une importation de ce référentiel (test-ref) est déjà en cours" in html(response)
    monkeypatch.setattr(fw, "SYNC_IMPORT_BYTES", 10)  # the same, as a background job
    response = upload(admin, data, "big.zip")
    page = html(admin.get(response.headers["Location"]))
    assert "déjà en cours" in page
    assert db.session.scalar(select(func.count()).select_from(Framework)) == 0
    db.session.execute(FrameworkImportLock.__table__.delete())
    db.session.commit()
    response = upload(admin, data, "big.zip")
    assert "4 ajoutés" in html(admin.get(response.headers["Location"]))
    assert db.session.scalar(select(func.count()).select_from(FrameworkImportLock)) == 0


def test_the_migration_matches_the_models(app):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    context = MigrationContext.configure(db.session.connection())
    names = ("concept_links", "framework_import_locks", "skill_type")
    assert [d for d in compare_metadata(context, db.metadata) if any(n in repr(d) for n in names)] == []


def test_imports_of_two_frameworks_at_once_get_distinct_search_keys(app, tmp_path):
    """Two real threads import *different* frameworks (two locks, both granted) on the test's database
    (SQLite, and PostgreSQL in its pass): the first has written its concepts and not committed when the
    second reaches its writes. Each new concept takes ``Concept.seq = max(seq) + 1 ...``; on PostgreSQL
    the second read the same max and its insert failed on the unique key (the first's rows were not
    visible to it) until ``apply`` serialised that allocation. Both import; every key is distinct, and
    both frameworks' concepts are found by search."""
    from sqlalchemy import text

    from app.services import framework_readers

    first_folder = write_simple(tmp_path / "a", [concept("a1", fr="Alpha soigner"), concept("a2", fr="Alpha écouter")],
                                meta={"name": "A", "slug": "ref-a", "version": "1"})
    second_folder = write_simple(tmp_path / "b", [concept("b1", fr="Beta soigner"), concept("b2", fr="Beta écouter"),
                                                  concept("b3", fr="Beta installer")],
                                 meta={"name": "B", "slug": "ref-b", "version": "1"})
    written, release, outcomes = threading.Event(), threading.Event(), {}

    def run(name, folder, before_commit):
        with app.app_context():
            try:
                parsed = framework_readers.read(folder)
                with fw.import_lock(db.session, parsed.slug):
                    fw.apply(db.session, parsed)
                    before_commit()
                    db.session.commit()
                outcomes[name] = "imported"
            except Exception as exc:  # noqa: BLE001 - the test reports it
                db.session.rollback()
                outcomes[name] = repr(exc)
            finally:
                db.session.remove()

    first = threading.Thread(target=run, args=("a", first_folder, lambda: (written.set(), release.wait(60))))
    second = threading.Thread(target=run, args=("b", second_folder, lambda: None))
    first.start()
    try:
        assert written.wait(30)
        second.start()
        if db.engine.dialect.name == "postgresql":
            # Wait (not a timed assertion: the test then goes on either way) until the second import
            # waits on a lock the first holds, so that its writes really overlap the first's transaction.
            for _ in range(300):
                waiting = db.session.scalar(text("SELECT count(*) FROM pg_locks WHERE NOT granted"))
                db.session.rollback()
                if waiting:
                    break
                second.join(0.1)
        else:
            second.join(0.5)  # SQLite: the second waits for the single writer (busy_timeout)
    finally:
        release.set()
        first.join(60)
        second.join(60)
    assert outcomes == {"a": "imported", "b": "imported"}
    keys = db.session.scalars(select(Concept.seq)).all()
    assert len(keys) == 5 and len(set(keys)) == 5
    assert sorted(labels(fw.search(db.session, "soigner"))) == ["Alpha soigner", "Beta soigner"]
    assert db.session.scalar(select(func.count()).select_from(FrameworkImportLock)) == 0
