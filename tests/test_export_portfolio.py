"""``portfolio.json``: the demo's richest account, validated against the JSON Schema in the repository, in
the API's names, with partial selections and their refusals, and nothing of anyone else."""
from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from sqlalchemy import select

from app import demo
from app.api.documents import DocumentSchema
from app.api.grants import AccessEventSchema, GrantSchema
from app.api.pages import PageSchema, ShareLinkSchema
from app.api.received import EntrySchema
from app.api.schemas import DiplomaSchema, ExperienceSchema, JournalEntrySchema, ProfileSchema, SkillSchema
from app.extensions import db
from app.models import Experience, Skill, User
from app.services import exports, portfolio
from app.services.errors import ValidationFailed

SCHEMA_PATH = Path(__file__).resolve().parents[1] / "docs" / "schemas" / "portfolio-export.schema.json"


def schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text("utf-8"))


def validator():
    found = schema()
    jsonschema.Draft201909Validator.check_schema(found)
    return jsonschema.Draft201909Validator(found, format_checker=jsonschema.Draft201909Validator.FORMAT_CHECKER)


@pytest.fixture
def ines(app):
    with app.app_context():
        demo.load(db.session)
        db.session.commit()
        yield db.session.scalar(select(User).where(User.email == demo.DEMO_ACCOUNTS[0].email))


def test_the_whole_portfolio_validates_and_holds_everything(ines, make_user):
    other = make_user("someone.else@example.org", display_name="Someone Else")
    portfolio.create_item(db.session, other, Experience, {"kind": "job", "title": "Not Ines's job",
                                                           "start_date": "2020-01-01"})
    db.session.commit()
    data = exports.build_portfolio(db.session, ines)
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator().iter_errors(data)]
    assert errors == []
    assert data["format"] == "sillage-export" and data["version"] == 1 and data["selection"] is None
    counts = exports.counts(data)
    for section in ("experiences", "diplomas", "skills", "journal", "documents", "credentials", "pages", "cvs",
                    "grants", "share_links", "attestation_requests", "access_log"):
        assert counts[section] > 0, section
    assert data["profile"]["display_name"] == "Inès Martin"
    assert {c["kind"] for c in data["credentials"]} == {"credential", "attestation", "endorsement", "external"}
    for entry in data["credentials"]:
        assert entry["credential"]["proof"]["proofValue"].startswith("z")  # the signed document, whole
        assert entry["files"]["json"].startswith("credentials/")
    assert all(d["file"] == f"documents/{d['id']}/{d['name']}" for d in data["documents"])
    text = json.dumps(data, ensure_ascii=False)
    assert "Not Ines's job" not in text and "someone.else@example.org" not in text
    assert json.loads(json.dumps(data)) == data  # plain JSON types only


def test_lists_are_in_the_same_order_on_every_build(ines):
    first, second = exports.build_portfolio(db.session, ines), exports.build_portfolio(db.session, ines)
    first.pop("exported_at"), second.pop("exported_at")
    assert first == second
    starts = [e["start_date"] for e in first["experiences"]]
    assert starts == sorted(starts, reverse=True)


@pytest.mark.parametrize("definition, api_schema, replaced", [
    ("experience", ExperienceSchema, {}), ("diploma", DiplomaSchema, {}), ("skill", SkillSchema, {}),
    ("journalEntry", JournalEntrySchema, {}), ("page", PageSchema, {}), ("shareLink", ShareLinkSchema, {}),
    ("grant", GrantSchema, {}), ("accessEvent", AccessEventSchema, {}),
    ("profile", ProfileSchema, {"photo_url": "photo"}),
    ("document", DocumentSchema, {"content_url": "file", "thumbnail_url": None}),
])
def test_the_json_schema_uses_the_api_names(definition, api_schema, replaced):
    """The schema in the repository and the API's schemas cannot drift apart: same field names, except
    the links to this site that the export replaces by paths inside the ZIP."""
    expected = set()
    for name, field in api_schema().dump_fields.items():
        key = field.data_key or name
        if key in replaced:
            if replaced[key]:
                expected.add(replaced[key])
        else:
            expected.add(key)
    assert set(schema()["$defs"][definition]["properties"]) == expected


def test_credential_entries_have_the_api_entry_names():
    names = {field.data_key or name for name, field in EntrySchema().dump_fields.items()}
    assert names | {"files"} == set(schema()["$defs"]["credential"]["properties"])


def test_a_partial_export_keeps_only_what_was_chosen(ines):
    every = exports.build_portfolio(db.session, ines)
    chosen_experience = every["experiences"][1]["id"]
    chosen_skill = every["skills"][0]["id"]
    selection = exports.clean_selection([{"type": "section", "id": "diplomas"},
                                         {"type": "experience", "id": chosen_experience},
                                         {"type": "skill", "id": chosen_skill.upper()}])
    data = exports.build_portfolio(db.session, ines, selection)
    assert list(validator().iter_errors(data)) == []
    assert data["selection"] == selection
    assert [e["id"] for e in data["experiences"]] == [chosen_experience]
    assert [s["id"] for s in data["skills"]] == [chosen_skill]
    assert data["diplomas"] == every["diplomas"]
    assert data["profile"] is None
    assert data["journal"] == data["documents"] == data["credentials"] == data["access_log"] == []
    assert exports.counts(data)["profile"] == 0 and exports.counts(every)["profile"] == 1


def test_an_id_that_is_not_the_owners_selects_nothing(ines, make_user):
    other = make_user("someone.else@example.org")
    theirs = portfolio.create_item(db.session, other, Skill, {"name": "Secret skill", "level": 2})
    db.session.commit()
    data = exports.build_portfolio(db.session, ines, exports.clean_selection([{"type": "skill", "id": str(theirs.id)}]))
    assert data["skills"] == []


@pytest.mark.parametrize("bad", [
    [], "some", 3, [{"type": "section", "id": "passwords"}], [{"type": "experience", "id": "not-a-uuid"}],
    [{"type": "planet", "id": "00000000-0000-0000-0000-000000000000"}], [{"type": "section"}],
    [{"type": "section", "id": "skills", "extra": 1}], ["skills"],
    [{"type": "section", "id": "skills"}] * 1001,
])
def test_bad_selections_are_refused_with_a_field_message(bad):
    with pytest.raises(ValidationFailed) as caught:
        exports.clean_selection(bad)
    assert "selection" in caught.value.fields


def test_everything_is_the_default():
    assert exports.clean_selection(None) is None and exports.clean_selection("all") is None
