"""The API reference's sections (OpenAPI tags) are named for people ("Grants", "CVs", "W3C VC-API"), every
one used by an operation is declared with the others, and the blueprints' endpoint names are unchanged."""
from __future__ import annotations

import re

from app.api import TAGS, tag_name


def test_every_tag_is_human_and_declared(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    declared = [tag["name"] for tag in spec["tags"]]
    used = {tag for operations in spec["paths"].values() for operation in operations.values()
            if isinstance(operation, dict) for tag in operation.get("tags", ())}
    assert used <= set(declared) and len(declared) == len(set(declared))
    for name in declared:
        assert "_" not in name and name[0].isupper(), name
    assert {"Grants", "CVs", "Share links", "Bulk awards", "W3C VC-API"} <= used
    vcapi = next(tag for tag in spec["tags"] if tag["name"] == "W3C VC-API")
    assert "W3C" in vcapi["description"]
    grants = [path for path, operations in spec["paths"].items()
              if any("Grants" in op.get("tags", ()) for op in operations.values() if isinstance(op, dict))]
    assert grants and all(path.startswith("/api/v1/") for path in grants)


def test_endpoint_names_keep_the_blueprint_names(app):
    assert any(rule.endpoint.startswith("grants_api.") for rule in app.url_map.iter_rules())


def test_a_blueprint_without_a_chosen_name_gets_a_readable_one():
    assert tag_name("cvs_api") == TAGS["cvs_api"] == "CVs"
    assert tag_name("frameworks") == "Frameworks"
    assert tag_name("training_catalogue_api") == "Training catalogue"
    assert all(re.fullmatch(r"[A-Z0-9][\w ()-]*", name) and "_" not in name for name in TAGS.values())
