"""CV variants through the service: ranking and pre-selection, the DOCX (opened with python-docx), the
PDF's text in reading order, the verified-claim lines, JSON Resume, and the bad inputs of issue 10."""

from __future__ import annotations

import io

import pytest
from docx import Document
from PIL import Image
from sqlalchemy import select

from app.extensions import db
from app.models import Experience, Membership, User
from app.services import awarding, cvs, photos, portfolio as items
from app.services.errors import NotFound, ServiceError, ValidationFailed
from cv_templates import designs, pdf as pdf_renderer
from tests.cv_helpers import OFFER, build_portfolio, docx_styles, docx_text, needs_pdf


@pytest.fixture(autouse=True)
def request_context(app):
    """``render_html`` links the design's stylesheet with ``url_for``, as in a request (a share link)."""
    with app.test_request_context():
        yield


@pytest.fixture
def owner(make_user):
    return make_user("ines@example.org", display_name="Inès Morel")


@pytest.fixture
def made(owner, make_user):
    return build_portfolio(owner, make_user("admin@croix.example"))


def _cv(owner, **data):
    cv = cvs.create(db.session, owner, {"name": "Acme", "target_text": OFFER, **data})
    db.session.commit()
    return cv


def _ref(item, kind):
    return {"type": kind, "id": str(item.id)}


def test_create_ranks_against_the_offer_and_preselects_the_matching_items(owner, made):
    cv = _cv(owner)
    selected = {(ref["type"], ref["id"]) for ref in cv.selection}
    assert ("experience", str(made["dev"].id)) in selected
    assert ("experience", str(made["waiter"].id)) not in selected  # nothing of a waiter job matches
    assert ("credential", str(made["credential"].id)) in selected  # "premiers secours"
    ranked = cvs.ranking(db.session, cv)
    first = ranked[0]
    assert first.item.id == made["dev"].id and {"Python", "Django"} <= set(first.matched)
    assert cv.summary == "Curieuse et rigoureuse."  # the profile's bio, to edit per CV


def test_docx_has_the_selected_items_only_with_real_styles(owner, made):
    cv = _cv(owner)
    cvs.update(
        db.session,
        owner,
        cv,
        {
            "selection": [
                _ref(made["dev"], "experience"),
                _ref(made["diploma"], "diploma"),
                _ref(made["python"], "skill"),
            ]
        },
    )
    for design in designs():
        cv.template = design
        data = cvs.render_docx(db.session, cv)
        text = "\n".join(docx_text(data))
        assert "Stage développeuse Python" in text and "Licence informatique" in text and "Python" in text
        assert "Serveuse" not in text and "Premiers secours" not in text and "Service en salle" not in text
        assert (
            "Attesté par Paul Durand (tuteur)" in text and f"/attestations/{made['attestation'].id}" in text
        )
        styles = docx_styles(data)
        assert {"Heading 1", "Heading 2", "List Bullet"} <= styles, design
        document = Document(io.BytesIO(data))
        assert document.sections[0].left_margin.cm > 1 and document.core_properties.language == "fr"
        assert document.inline_shapes  # the QR code of the attested line


def test_english_variant_uses_english_labels_and_dates(owner, made):
    cv = _cv(owner, language="en")
    text = "\n".join(docx_text(cvs.render_docx(db.session, cv)))
    assert "Experience" in text and "Confirmed by Paul Durand (tuteur)" in text
    assert "Feb 2023 – Jul 2023" in text and "Expériences" not in text


def test_pdf_text_has_every_selected_line_in_order(owner, made):
    needs_pdf()
    cv = _cv(owner, template="classic")
    order = [
        _ref(made["diploma"], "diploma"),
        _ref(made["waiter"], "experience"),
        _ref(made["dev"], "experience"),
        _ref(made["python"], "skill"),
    ]
    cvs.update(db.session, owner, cv, {"selection": order})
    text = pdf_renderer.text_of(cvs.render_pdf(db.session, cv))
    positions = [
        text.index(title)
        for title in ("Serveuse", "Stage développeuse Python", "Licence informatique", "Python — expert")
    ]
    assert positions == sorted(positions)  # experiences (in the chosen order), then education, then skills
    assert "Premiers secours" not in text and "Service en salle — " not in text
    png = cvs.preview_png(db.session, cv)
    assert png.startswith(b"\x89PNG") and Image.open(io.BytesIO(png)).width == 800


def test_html_shows_the_live_status_of_each_proof(owner, made):
    cv = _cv(owner)
    html = cvs.render_html(cv)
    credential = made["credential"]
    assert f"/credentials/{credential.id}" in html and "<svg" in html
    assert "Délivré par Croix-Rouge de Test" in html and 'class="status status-valid"' in html
    awarding.revoke(db.session, _org_admin(credential), credential, "Erreur de saisie")
    db.session.commit()
    html = cvs.render_html(cv)
    assert 'class="status status-revoked">révoquée' in html


def _org_admin(credential):
    return db.session.scalars(
        select(User)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.organisation_id == credential.organisation_id)
    ).first()


def test_json_resume_of_a_variant_and_of_the_whole_profile(owner, made):
    cv = _cv(owner)
    resume = cvs.json_resume(db.session, cv)
    assert resume["basics"]["name"] == "Inès Morel"
    assert [w["position"] for w in resume["work"]] == ["Stage développeuse Python"]
    assert resume["certificates"][0]["url"].endswith(f"/credentials/{made['credential'].id}")
    assert resume["references"][0]["name"] == "Paul Durand (tuteur)"
    whole = cvs.profile_json_resume(db.session, owner)
    assert {w["position"] for w in whole["work"]} == {"Stage développeuse Python", "Serveuse"}
    assert {s["name"] for s in whole["skills"]} == {"Python", "Service en salle"}
    assert whole["education"][0]["institution"] == "Université Lyon 1"


def test_empty_portfolio_still_renders_a_cv(owner):
    cv = _cv(owner)
    assert cv.selection == []
    text = "\n".join(docx_text(cvs.render_docx(db.session, cv)))
    assert "Inès Morel" in text
    assert "Inès Morel" in cvs.render_html(cv)
    assert cvs.json_resume(db.session, cv)["work"] == []


def test_hard_inputs_render(owner):
    """200 experiences, very long descriptions, emoji and non-Latin scripts, a 100 KB offer."""
    for index in range(200):
        items.create_item(
            db.session,
            owner,
            Experience,
            {
                "kind": "job",
                "title": f"Poste {index} 東京 🚀 Данные",
                "start_date": "2020-01-01",
                "description": ("Un texte très long. " * 900)[:19_000],
            },
        )
    db.session.commit()
    cv = _cv(owner, target_text=("Poste données 東京 " * 6_000)[:100_000])
    cv.selection = [{"type": "experience", "id": str(e.id)} for e in owner.portfolio.experiences]
    db.session.commit()
    data = cvs.render_docx(db.session, cv)
    assert sum("Poste" in line for line in docx_text(data)) == 200
    assert "東京 🚀" in cvs.render_html(cv)


def test_photo_only_when_chosen_and_upright(owner, app):
    image = Image.new("RGB", (60, 120), "red")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated: the stored photo is turned upright
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    photos.set_photo(db.session, owner, out.getvalue())
    db.session.commit()
    cv = _cv(owner)
    assert not Document(io.BytesIO(cvs.render_docx(db.session, cv))).inline_shapes
    cvs.update(db.session, owner, cv, {"show_photo": True})
    shapes = Document(io.BytesIO(cvs.render_docx(db.session, cv))).inline_shapes
    assert len(shapes) == 1 and shapes[0].width > shapes[0].height  # 120 × 60 once upright
    assert "data:image/jpeg;base64," in cvs.render_html(cv)


def test_consent_lines(owner):
    cv = _cv(owner, consent="gdpr")
    assert "Règlement (UE) 2016/679".lower() in cvs.render_html(cv).lower()
    cvs.update(db.session, owner, cv, {"consent": "custom", "consent_text": "Mon accord, à moi."})
    assert "Mon accord, à moi." in cvs.render_html(cv)
    cvs.update(db.session, owner, cv, {"consent": ""})
    assert "Mon accord" not in cvs.render_html(cv)


def test_refusals(owner, made, make_user):
    with pytest.raises(ServiceError) as caught:
        cvs.create(
            db.session, owner, {"name": "X", "target_occupation": "http://data.europa.eu/esco/occupation/1"}
        )
    assert caught.value.code == "unknown_occupation" and caught.value.status == 422
    for bad in (
        {"name": ""},
        {"name": "X", "template": "nope"},
        {"name": "X", "language": "de"},
        {"name": "X", "colour": "red"},
        {"name": "X", "selection": "all"},
        {"name": "X", "selection": [{"type": "journal", "id": str(made["dev"].id)}]},
        {"name": "X", "show_photo": "yes"},
        {"name": "X", "target_text": "x" * 200_001},
    ):
        with pytest.raises(ValidationFailed):
            cvs.create(db.session, owner, bad)
    db.session.rollback()
    stranger = make_user("stranger@example.org")
    theirs = items.create_item(
        db.session, stranger, Experience, {"kind": "job", "title": "Secret", "start_date": "2020-01-01"}
    )
    cv = _cv(owner)
    with pytest.raises(ValidationFailed):  # another person's item cannot be put in one's CV
        cvs.update(db.session, owner, cv, {"selection": [_ref(theirs, "experience")]})
    db.session.rollback()
    with pytest.raises(NotFound):
        cvs.get_owned(db.session, stranger, cv.id)
    with pytest.raises(NotFound):
        cvs.update(db.session, stranger, cv, {"name": "Mine now"})


def test_deleted_items_drop_out_and_regenerate_picks_new_ones(owner, made):
    cv = _cv(owner)
    items.delete_item(db.session, owner, made["dev"])
    newer = items.create_item(
        db.session,
        owner,
        Experience,
        {"kind": "job", "title": "Développeuse Django", "start_date": "2024-01-01"},
    )
    db.session.commit()
    assert "Stage développeuse Python" not in cvs.render_html(cv)
    assert "Développeuse Django" not in cvs.render_html(cv)
    cvs.regenerate(db.session, owner, cv)
    db.session.commit()
    assert {"type": "experience", "id": str(newer.id)} in cv.selection
    assert "Développeuse Django" in cvs.render_html(cv)


def test_reorder_moves_within_a_kind(owner, made):
    cv = _cv(owner)
    cvs.update(
        db.session,
        owner,
        cv,
        {"selection": [_ref(made["dev"], "experience"), _ref(made["waiter"], "experience")]},
    )
    cvs.move(db.session, owner, cv, "experience", str(made["waiter"].id), -1)
    assert [ref["id"] for ref in cv.selection] == [str(made["waiter"].id), str(made["dev"].id)]
    cvs.move(db.session, owner, cv, "experience", str(made["waiter"].id), -1)  # already first: unchanged
    assert cv.selection[0]["id"] == str(made["waiter"].id)
    with pytest.raises(NotFound):
        cvs.move(db.session, owner, cv, "skill", str(made["python"].id), 1)


def test_html_for_the_site_links_its_stylesheet_and_the_download_inlines_it(owner, client):
    cv = _cv(owner, template="europass")
    served = cvs.render_html(cv)
    assert '<link rel="stylesheet" href="/cv-designs/europass.css">' in served and "<style>" not in served
    css = client.get("/cv-designs/europass.css")
    assert css.status_code == 200 and css.mimetype == "text/css" and b".cv-europass" in css.data
    assert client.get("/cv-designs/nope.css").status_code == 404
    standalone = cvs.render_html(cv, standalone=True)
    assert "<style>" in standalone and ".cv-europass" in standalone and "<link" not in standalone


def test_demo_cv_is_ranked_against_its_offer_and_renders(app):
    from app import demo  # noqa: PLC0415

    demo.load(db.session)
    demo.load(db.session)  # idempotent: still one CV from an offer (and one aimed at an occupation)
    db.session.commit()
    cv = db.session.scalars(select(cvs.CvVariant).where(cvs.CvVariant.target_occupation.is_(None))).one()
    ranked = cvs.ranking(db.session, cv)
    assert ranked[0].score > 0 and ranked[0].matched and cv.selection
    assert cv.consent == "gdpr" and cv.template == "modern"
    text = "\n".join(docx_text(cvs.render_docx(db.session, cv)))
    assert ranked[0].title in text and "RGPD" in text


def test_making_a_pdf_leaves_pillow_refusing_truncated_images():
    """WeasyPrint sets Pillow's process-wide LOAD_TRUNCATED_IMAGES on import; after a PDF, our image checks
    (photos, thumbnails, badges) must still refuse a truncated file. A fresh process, so that no earlier
    test has imported WeasyPrint already."""
    needs_pdf()
    import subprocess
    import sys

    script = (
        "import io\n"
        "from PIL import Image, ImageFile\n"
        "from cv_templates import pdf\n"
        "assert pdf.render_pdf('<p>x</p>').startswith(b'%PDF')\n"
        "assert ImageFile.LOAD_TRUNCATED_IMAGES is False\n"
        "out = io.BytesIO(); Image.effect_noise((300, 300), 64).convert('RGB').save(out, 'PNG')\n"
        "try:\n"
        "    Image.open(io.BytesIO(out.getvalue()[:400])).load()\n"
        "except OSError:\n"
        "    print('refused')\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "refused"


JSON_RESUME_SCHEMA = "docs/schemas/json-resume-1.0.0.schema.json"
JSON_RESUME_SHA256 = "ff6e39e79cfe6dedddf7c1e313ddb4da346bde8b055a884d7f6d849965dc27a6"  # docs/schemas/SOURCES.md


def test_json_resume_is_valid_against_the_bundled_v1_schema(owner, made):
    """The file claims JSON Resume v1.0.0: it validates against that schema (bundled byte for byte,
    formats checked), with the cases that broke it: a badge from elsewhere that states no date, and a
    profile with no e-mail or website (no ``null`` date, no empty address)."""
    import hashlib
    import json
    from pathlib import Path

    import jsonschema

    from app.services import backpack
    from badges.bake import bake
    from tests.backpack_helpers import SVG, Elsewhere

    raw = (Path(__file__).resolve().parent.parent / JSON_RESUME_SCHEMA).read_bytes()
    assert hashlib.sha256(raw).hexdigest() == JSON_RESUME_SHA256
    draft4 = jsonschema.Draft4Validator
    validator = draft4(json.loads(raw), format_checker=draft4.FORMAT_CHECKER)
    elsewhere = Elsewhere()
    [badge] = backpack.add(db.session, owner, bake(SVG, elsewhere.signed(owner.email)), fetch=elsewhere.web)
    badge.issued_at = None  # the date is optional in a badge's summary (ExternalCredential.issued_at)
    owner.portfolio.contact_email, owner.portfolio.website = "", ""
    db.session.commit()
    for resume in (cvs.profile_json_resume(db.session, owner), cvs.json_resume(db.session, _cv(owner))):
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(resume)]
        assert errors == []
    whole = cvs.profile_json_resume(db.session, owner)
    [dateless] = [c for c in whole["certificates"] if c["url"].endswith(f"/backpack/{badge.id}")]
    assert "date" not in dateless and "email" not in whole["basics"] and "url" not in whole["basics"]
    # The schema does catch what was written before.
    assert not validator.is_valid({**whole, "certificates": [{**dateless, "date": None}]})
    assert not validator.is_valid({**whole, "basics": {**whole["basics"], "email": ""}})


def test_items_carry_each_experience_skills_in_few_queries(owner, make_user):
    """``_items`` attaches the skills from one query of the link table: each experience gets exactly
    its own (in skill id order, as the link table's key gives them), a skill linked from another
    portfolio still comes, reading them costs no further query, and a collection already loaded stays."""
    from sqlalchemy import event, insert

    from app.models import Skill
    from app.models.portfolio import experience_skills

    def skill(user, name):
        return items.create_item(db.session, user, Skill, {"name": name, "level": 2})

    skills = [skill(owner, f"Skill {n}") for n in range(3)]
    stranger = skill(make_user("other@example.org"), "Not mine")

    def experience(title, linked):
        data = {"kind": "job", "title": title, "start_date": "2020-01-01"}
        data["skill_ids"] = [str(s.id) for s in linked]
        return items.create_item(db.session, owner, Experience, data)

    full, bare, shared = experience("Full", skills), experience("Bare", []), experience("Shared", skills[1:2])
    db.session.execute(insert(experience_skills).values(experience_id=shared.id, skill_id=stranger.id))
    db.session.commit()
    expected = {
        full.id: sorted(s.id for s in skills),
        bare.id: [],
        shared.id: sorted([skills[1].id, stranger.id]),
    }
    ids, portfolio_id = {e.id for e in (full, bare, shared)}, cvs._portfolio(owner).id
    db.session.expunge_all()
    loaded = db.session.get(Experience, full.id)
    kept = loaded.skills  # loaded before: kept as it is
    statements = []
    listen = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listen)
    try:
        found = cvs._items(db.session, portfolio_id)
        loading = len(statements)
        experiences = [item for key, item in found.items() if key[0] == "experience"]
        attached = {item.id: [s.id for s in item.skills] for item in experiences}
        # the collection loaded before comes in the database's own order (unordered on PostgreSQL)
        attached[full.id] = sorted(attached[full.id])
    finally:
        event.remove(db.engine, "before_cursor_execute", listen)
    # experiences, links, the stranger skill, diplomas, skills, credentials, badges; none when reading
    assert len(statements) == loading <= 7
    assert set(attached) == ids and attached == expected
    assert found[("experience", str(full.id))].skills is kept
