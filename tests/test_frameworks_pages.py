"""Reference frameworks: the concept browser, the skill form's picker, the admin import pages, the API,
the CLI and the demo hook."""
from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app import demo
from app.extensions import db
from app.models import Skill
from app.models.frameworks import Concept, Framework
from app.services import frameworks as fw
from app.services import tokens
from tests.conftest import login
from tests.helpers import csrf_token
from tests.test_frameworks import BASE, BASE_RELATIONS, SAMPLE, write_simple

NURSE = f"{SAMPLE}/occupation/infirmier"


@pytest.fixture
def bundled(app):
    fw.load_bundled(db.session)
    db.session.commit()


def html(response) -> str:
    return response.get_data(as_text=True)


# --- browser ----------------------------------------------------------------------------------------

def test_the_browser_is_for_signed_in_people(client, bundled):
    assert client.get("/frameworks").status_code == 302
    assert client.get("/frameworks/suggest?q=inf").status_code == 302
    nurse = fw.get(db.session, NURSE)
    assert client.get(f"/concepts/{nurse.id}").status_code == 302


def test_search_framework_and_concept_pages(logged_in, bundled):
    page = html(logged_in.get("/frameworks"))
    assert "Socle commun de connaissances" in page and "Échantillon de métiers" in page
    page = html(logged_in.get("/frameworks?q=INFIRM&kind=occupation"))
    assert "Infirmier / infirmière" in page and "Aide-soignant" not in page
    assert "Aucun concept ne correspond" in html(logged_in.get("/frameworks?q=zzzz"))
    page = html(logged_in.get("/frameworks/socle-commun"))
    assert "Les langages pour penser et communiquer" in page and "D5" in page
    assert logged_in.get("/frameworks/nothing-here").status_code == 404

    nurse = fw.get(db.session, NURSE)
    page = html(logged_in.get(f"/concepts/{nurse.id}"))
    assert "Infirmier / infirmière" in page and "Nurse" in page and "registered nurse" in page
    assert "Compétence essentielle" in page and "Administrer des médicaments" in page and "Compétence facultative" in page
    skill = fw.get(db.session, f"{SAMPLE}/skill/administration-medicaments")
    assert "Infirmier / infirmière" in html(logged_in.get(f"/concepts/{skill.id}"))  # "Essential for"
    domain = fw.get(db.session, "https://w3id.org/sillage/frameworks/socle-commun/D1.1")
    page = html(logged_in.get(f"/concepts/{domain.id}"))
    assert "Les langages pour penser et communiquer" in page  # the breadcrumb up the tree
    assert logged_in.get("/concepts/00000000-0000-4000-8000-000000000000").status_code == 404
    response = logged_in.get("/concepts/lookup", query_string={"uri": NURSE})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/concepts/{nurse.id}")
    assert logged_in.get("/concepts/lookup?uri=https://example.org/x").status_code == 404


def test_suggest_answers_the_picker(logged_in, bundled):
    found = logged_in.get("/frameworks/suggest?q=écout").get_json()
    assert [c["label"] for c in found] == ["Écouter avec bienveillance"]
    assert found[0]["uri"] == f"{SAMPLE}/skill/ecoute-bienveillante"
    assert logged_in.get("/frameworks/suggest?q=e").get_json() == []  # two letters at least
    assert logged_in.get("/frameworks/suggest?q=nurse&kind=occupation").get_json()[0]["label"] == \
        "Infirmier / infirmière"
    # the skill form asks for skills and competences only: no occupation among them
    found = logged_in.get("/frameworks/suggest?q=com&kind=skill&kind=competence").get_json()
    assert found and {c["kind"] for c in found} <= {"skill", "competence"}
    assert {c["kind"] for c in logged_in.get("/frameworks/suggest?q=com").get_json()} > {"skill"}


def test_picking_a_concept_without_javascript_fills_the_skill_form(logged_in, user, bundled):
    form = html(logged_in.get("/skills/new"))
    assert 'class="concept-picker"' in form and "/frameworks?pick=new" in form
    page = html(logged_in.get("/frameworks?q=ecouter&pick=new"))
    use = re.search(r'href="(/skills/new\?concept=[0-9a-f-]+)"', page)
    assert use, page
    form_page = logged_in.get(use.group(1))
    form = html(form_page)
    assert f'value="{SAMPLE}/skill/ecoute-bienveillante"' in form
    assert 'value="Écouter avec bienveillance"' in form and "chantillon de m" in form
    response = logged_in.post("/skills/new", data={
        "csrf_token": csrf_token(form_page), "name": "Écouter avec bienveillance", "level": "3",
        "framework": "Échantillon", "concept_uri": f"{SAMPLE}/skill/ecoute-bienveillante", "description": ""})
    assert response.status_code == 302
    skill = db.session.scalar(select(Skill).where(Skill.name == "Écouter avec bienveillance"))
    assert skill.concept_uri == f"{SAMPLE}/skill/ecoute-bienveillante"
    concept = fw.get(db.session, skill.concept_uri)
    assert f'href="/concepts/{concept.id}"' in html(logged_in.get(f"/skills/{skill.id}"))  # its page links the concept
    # editing: the picker comes back to this skill, and an unknown concept changes nothing
    edit = html(logged_in.get(f"/skills/{skill.id}/edit"))
    assert f"/frameworks?pick={skill.id}" in edit and "Voir le concept choisi" in edit
    other = fw.get(db.session, f"{SAMPLE}/skill/gestion-stress")
    edit = html(logged_in.get(f"/skills/{skill.id}/edit?concept={other.id}"))
    assert f'value="{SAMPLE}/skill/gestion-stress"' in edit and 'value="Écouter avec bienveillance"' in edit
    edit = html(logged_in.get(f"/skills/{skill.id}/edit?concept=nonsense"))
    assert f'value="{SAMPLE}/skill/ecoute-bienveillante"' in edit


# --- admin ------------------------------------------------------------------------------------------

@pytest.fixture
def admin(client, make_user):
    person = make_user("root@example.org", is_admin=True)
    assert login(client, person.email).status_code == 302
    return client


def zipped(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in folder.iterdir():
            archive.write(path, path.name)
    return buffer.getvalue()


def upload(client, data: bytes, filename: str, **fields):
    page = client.get("/admin/frameworks")
    return client.post("/admin/frameworks", data={"csrf_token": csrf_token(page), "file": (io.BytesIO(data), filename),
                                                  "format": "", **fields}, content_type="multipart/form-data")


def test_only_platform_admins_import(logged_in, tmp_path):
    assert logged_in.get("/admin/frameworks").status_code == 404
    response = logged_in.post("/admin/frameworks", data={"file": (io.BytesIO(b"x"), "a.csv")},
                              content_type="multipart/form-data")
    assert response.status_code in (400, 404)
    assert db.session.scalar(select(func.count()).select_from(Framework)) == 0


def test_admin_imports_a_small_file_and_sees_the_report(admin, tmp_path):
    response = upload(admin, zipped(write_simple(tmp_path / "ok", BASE, BASE_RELATIONS)), "ref.zip", version="7")
    page = html(response)
    assert response.status_code == 200 and 'id="import-report"' in page
    assert "4 ajoutés, 0 mis à jour, 0 retirés, 2 relations" in page
    framework = fw.get_framework(db.session, "test-ref")
    assert framework.version == "7" and framework.concept_count == 4
    assert not any(Path(admin.application.instance_path, "blobs").rglob("*.zip"))  # the upload is gone


def test_admin_import_refusals_change_nothing(admin, tmp_path):
    response = upload(admin, zipped(write_simple(tmp_path / "bad", BASE, encoding="latin-1")), "bad.zip")
    assert response.status_code == 422 and "texte non UTF-8" in html(response) and "Rien n’a été importé" in html(response)
    response = upload(admin, b"MZ\x90\x00", "tool.exe")
    assert response.status_code == 422 and "Envoyez un ZIP" in html(response)
    response = admin.post("/admin/frameworks", data={"csrf_token": csrf_token(admin.get("/admin/frameworks"))},
                          content_type="multipart/form-data")
    assert response.status_code == 422 and "Choisissez un fichier." in html(response)
    response = admin.post("/admin/frameworks", data={"file": (io.BytesIO(b"uri,kind\n"), "a.csv")},
                          content_type="multipart/form-data")  # no CSRF token
    assert response.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(Concept)) == 0


def test_large_files_import_in_the_background_with_a_status_page(admin, tmp_path, monkeypatch):
    monkeypatch.setattr(fw, "SYNC_IMPORT_BYTES", 10)
    response = upload(admin, zipped(write_simple(tmp_path / "ok", BASE, BASE_RELATIONS)), "big.zip")
    assert response.status_code == 302 and "/admin/frameworks/imports/" in response.headers["Location"]
    page = html(admin.get(response.headers["Location"]))  # tests run jobs at once
    assert "Importé." in page and "4 ajoutés" in page and "big.zip" in page
    assert fw.get_framework(db.session, "test-ref").concept_count == 4
    response = upload(admin, zipped(write_simple(tmp_path / "loop", [
        {"uri": "https://example.org/c/a", "kind": "domain", "label_fr": "A", "parent_uri": "https://example.org/c/a"}],
        meta={"name": "Loop", "slug": "loop"})), "loop.zip")
    page = html(admin.get(response.headers["Location"]))
    assert "Rien n’a été importé." in page and "cycle dans l’arborescence" in page
    assert db.session.scalar(select(func.count()).select_from(Framework)) == 1
    assert "big.zip" in html(admin.get("/admin/frameworks"))  # listed among recent background imports
    assert admin.get("/admin/frameworks/imports/00000000-0000-4000-8000-000000000000").status_code == 404


def test_admin_retires_and_restores_a_framework(admin, bundled):
    sample = fw.get_framework(db.session, "sillage-sample")
    page = admin.get("/admin/frameworks")
    response = admin.post(f"/admin/frameworks/{sample.id}/retire",
                          data={"csrf_token": csrf_token(page), "decision": "retire"})
    assert response.status_code == 302
    db.session.expire_all()
    assert fw.get_framework(db.session, "sillage-sample").retired_at is not None
    assert "Infirmier / infirmière" not in html(admin.get("/frameworks?q=infirmier"))
    admin.post(f"/admin/frameworks/{sample.id}/retire", data={"csrf_token": csrf_token(page), "decision": "restore"})
    db.session.expire_all()
    assert fw.get_framework(db.session, "sillage-sample").retired_at is None
    assert admin.post(f"/admin/frameworks/{sample.id}/retire", data={"decision": "retire"}).status_code == 400


# --- API --------------------------------------------------------------------------------------------

@pytest.fixture
def api(client, user):
    _, raw = tokens.create_token(db.session, user, "tests")
    db.session.commit()
    headers = {"Authorization": f"Bearer {raw}"}
    return lambda path, **kw: client.get(f"/api/v1{path}", headers=headers, **kw)


def test_api_frameworks_and_concept_search(api, client, bundled):
    assert client.get("/api/v1/frameworks").status_code == 401
    listed = api("/frameworks").get_json()["items"]
    assert {f["slug"] for f in listed} == {"socle-commun", "echelle-maitrise", "sillage-sample"}
    found = api("/concepts?q=infirmier&kind=occupation").get_json()["items"]
    assert [c["uri"] for c in found] == [NURSE]
    assert found[0]["labels"] == {"fr": "Infirmier / infirmière", "en": "Nurse"}
    assert found[0]["framework"]["slug"] == "sillage-sample" and found[0]["retired"] is False
    english = api("/concepts?q=nurse&lang=en&kind=occupation").get_json()["items"]
    assert english[0]["label"] == "Nurse"
    assert api("/concepts?q=nurse&lang=fr").get_json()["items"] == []
    assert len(api("/concepts?q=a&framework=socle-commun&limit=3").get_json()["items"]) == 3


def test_api_bad_queries(api, bundled):
    for query, code in (("", "validation_error"), ("?q=", "validation_error"), ("?q=a&kind=gadget", "validation_error"),
                        ("?q=a&lang=de", "validation_error"), ("?q=a&limit=1000", "validation_error"),
                        ("?q=a&framework=nope", "unknown_framework")):
        response = api(f"/concepts{query}")
        assert response.status_code == 422 and response.get_json()["error"] == code, query


def test_api_concept_by_id_or_uri_with_relations(api, bundled):
    nurse = fw.get(db.session, NURSE)
    by_id = api(f"/concepts/{nurse.id}").get_json()
    by_uri = api(f"/concepts/{NURSE}").get_json()
    assert by_id == by_uri and by_id["uri"] == NURSE
    relations = by_id["relations"]
    assert relations[0]["relation"] == "essential" and relations[0]["direction"] == "out"
    assert {r["relation"] for r in relations} == {"essential", "optional"}
    skill = api(f"/concepts/{SAMPLE}/skill/encaissement?lang=en").get_json()
    assert skill["label"] == "Handle payments"
    assert {r["concept"]["uri"] for r in skill["relations"] if r["direction"] == "in"} >= {
        f"{SAMPLE}/occupation/serveur", f"{SAMPLE}/occupation/receptionniste"}
    domain = api("/concepts/https://w3id.org/sillage/frameworks/socle-commun/D2").get_json()
    assert [c["notation"] for c in domain["children"]] == ["D2.1", "D2.2", "D2.3", "D2.4"] and domain["parent"] is None
    missing = api("/concepts/https://example.org/none")
    assert missing.status_code == 404 and missing.get_json()["error"] == "unknown_concept"


def test_openapi_describes_the_routes_under_a_human_tag(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert {"/api/v1/frameworks", "/api/v1/concepts", "/api/v1/concepts/{reference}"} <= set(spec["paths"])
    assert spec["paths"]["/api/v1/concepts"]["get"]["tags"] == ["Reference frameworks"]


# --- CLI and demo -----------------------------------------------------------------------------------

def invoke(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def test_cli_import_list_retire_and_refusal(app, tmp_path):
    result = invoke(app, "frameworks", "import", str(write_simple(tmp_path / "ok", BASE, BASE_RELATIONS)),
                    "--format", "csv", "--version", "2024")
    assert result.exit_code == 0, result.output
    framework = fw.get_framework(db.session, "test-ref")
    assert result.output.strip().splitlines()[-1] == str(framework.id) and framework.version == "2024"
    assert "4 added" in result.output
    bad = invoke(app, "frameworks", "import", str(write_simple(tmp_path / "bad", BASE, encoding="latin-1")))
    assert bad.exit_code == 1 and "Nothing was imported" in bad.output and "texte non UTF-8" in bad.output
    assert "test-ref\t2024\t4 concepts" in invoke(app, "frameworks", "list").output
    assert invoke(app, "frameworks", "retire", "test-ref").exit_code == 0
    db.session.expire_all()
    assert fw.get_framework(db.session, "test-ref").retired_at is not None
    assert "(retired)" in invoke(app, "frameworks", "list").output
    assert invoke(app, "frameworks", "retire", "nothing").exit_code == 1
    loaded = invoke(app, "frameworks", "load-bundled")
    assert loaded.exit_code == 0 and "socle-commun" in loaded.output


def test_demo_loads_the_frameworks_and_points_ines_skills_at_them(app, make_user):
    from app.services.portfolio import create_item

    ines = make_user(demo.DEMO_ACCOUNTS[0].email)
    create_item(db.session, ines, Skill, {"name": "Encaisser et tenir une caisse", "level": 3, "framework": "ESCO"})
    create_item(db.session, ines, Skill, {"name": "Porter secours", "level": 3, "framework": "",
                                          "concept_uri": "https://example.org/mine"})
    lines = demo._demo_frameworks(db.session)
    db.session.commit()
    assert "Socle commun" in lines[0]
    skills = {s.name: s for s in db.session.scalars(select(Skill))}
    assert skills["Encaisser et tenir une caisse"].concept_uri == f"{SAMPLE}/skill/encaissement"
    assert skills["Porter secours"].concept_uri == "https://example.org/mine"  # already pointed: left alone
    demo._demo_frameworks(db.session)  # idempotent
    assert db.session.scalar(select(func.count()).select_from(Framework)) == 3


def test_a_concept_uri_is_a_link_only_when_it_is_a_web_address(logged_in, user):
    """A framework's URI may have any scheme (review 13, L8): ``javascript:`` is shown as text, never linked."""
    from app.services import portfolio as items  # noqa: PLC0415

    skill = items.create_item(db.session, user, Skill, {"name": "Écoute", "level": 2})
    skill.concept_uri = "javascript:alert(document.cookie)"
    db.session.commit()
    page = html(logged_in.get(f"/skills/{skill.id}"))
    assert "javascript:alert(document.cookie)" in page
    assert 'href="javascript:' not in page
    skill.concept_uri = "https://example.org/concept/1"
    db.session.commit()
    assert 'href="https://example.org/concept/1"' in html(logged_in.get(f"/skills/{skill.id}"))
