"""The OpenAPI document lists, in each 403/404/409/422 answer, the stable codes that route can give
(``app.api.error_codes``): exact per route, no code the route cannot reach, none it gives missing."""
from __future__ import annotations

import ast
import importlib.util
import pathlib
import sys
import uuid

import pytest
from sqlalchemy import select

from app import policy
from app.api import error_codes
from app.api.common import LISTED_STATUSES, route_codes
from app.errors import CODES
from app.extensions import db
from app.models import Membership
from app.services import admin as admin_service
from app.services import institutions, orgs
from tests.test_api_orgs import personal
from tests.test_institutions import school

# A module of the project (its name under ``app.``) written for these tests: each view shows one case.
SOURCE = '''
import functools
import sys

from app.services.errors import Conflict, Forbidden, NotFound, ServiceError


def _deepest():
    raise Conflict("taken", code="deep_taken")


def _middle():
    return _deepest()


def two_levels():
    return _middle()


def nothing():
    return None


def _refusal(message="no", code="default_refusal"):
    return Forbidden(message, code=code)


def given():
    raise _refusal(code="given_refusal")


def defaulted():
    raise _refusal("no")


def _link_error(code):
    messages = {"link_used": "used", "link_expired": "expired"}
    return ServiceError(messages[code], code=code, status=410 if code != "link_gone" else 404)


def computed(which):
    raise _link_error(which)


def _missing():
    raise NotFound("gone", code="other_missing")


HANDLERS = {"deep": _deepest, "missing": _missing}


def from_a_table(kind):
    return HANDLERS[kind]()


def through_getattr(name):
    return getattr(sys.modules[__name__], name)()


def calling_its_argument(callback):
    return callback()


def passing_a_function():
    return calling_its_argument(_missing)


class Checker:
    def check(self):
        raise Forbidden("no", code="checker_refused")

    def run(self):
        self.check()


def a_method():
    checker = Checker()
    checker.run()


class Gone(ServiceError):
    def __init__(self):
        super().__init__("gone", code="own_init_gone", status=404)


def own_init():
    raise Gone()


def _recursive(depth):
    if depth:
        return _recursive(depth - 1)
    raise Conflict("loop", code="recursion_end")


def recursive():
    return _recursive(3)


def _bad_form(message, status=400):
    return ServiceError(message, code="invalid_form" if status == 400 else "form_too_large", status=status)


def status_given():
    raise _bad_form("too large", status=413)


def status_defaulted():
    raise _bad_form("bad")


def _bound(item_id):
    raise NotFound("no", code="bound_missing")


def bound_in_a_loop(item_id, item_of=_bound):
    return item_of(item_id)


def guarded(view):
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if not args:
            raise Forbidden("no", code="decorator_refused")
        return view(*args, **kwargs)
    return wrapper


@guarded
def decorated(item_id):
    raise Conflict("taken", code="view_taken")


def importing_locally():
    from app.api.common import json_object
    return json_object()
'''


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    path = tmp_path_factory.mktemp("codes") / "sample.py"
    path.write_text(SOURCE, encoding="utf-8")
    name = f"app._error_codes_sample_{uuid.uuid4().hex[:8]}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    yield module
    del sys.modules[name]


def codes(function) -> set:
    return set(error_codes.expand(error_codes.codes_of(function)))


def test_a_view_lists_what_it_calls_transitively_and_nothing_else(sample):
    assert codes(sample.two_levels) == {(409, "deep_taken")}
    assert codes(sample.nothing) == set()
    assert codes(sample.recursive) == {(409, "recursion_end")}
    assert codes(sample.a_method) == {(403, "checker_refused")}  # self.check(), on an instance of Checker
    assert codes(sample.own_init) == {(404, "own_init_gone")}  # a subclass's own __init__ followed


def test_a_helper_given_its_code_lists_the_code_given(sample):
    assert codes(sample.given) == {(403, "given_refusal")}
    assert codes(sample.defaulted) == {(403, "default_refusal")}
    # A code computed from input: every code-like string of the helper, at each status it can have.
    assert {"link_used", "link_expired"} <= {code for _, code in codes(sample.computed)}
    assert {status for status, _ in codes(sample.computed)} == {404, 410}


def test_a_helper_given_its_status_lists_its_codes_at_that_status(sample):
    assert codes(sample.status_given) == {(413, "invalid_form"), (413, "form_too_large")}
    assert codes(sample.status_defaulted) == {(400, "invalid_form"), (400, "form_too_large")}
    # a function parameter's default (``def view(id, item_of=item_of)``, a loop's binding) is what it calls
    assert codes(sample.bound_in_a_loop) == {(404, "bound_missing")}


def test_a_call_that_cannot_be_followed_counts_the_whole_module(sample):
    everything = error_codes.module_codes(sample.__name__)
    assert {(409, "deep_taken"), (404, "other_missing"), (403, "checker_refused")} <= everything
    assert codes(sample.through_getattr) == everything
    assert codes(sample.calling_its_argument) == everything
    assert (404, "other_missing") in codes(sample.passing_a_function)
    # A table of functions is read: its functions' codes, not the module's.
    assert codes(sample.from_a_table) == {(409, "deep_taken"), (404, "other_missing")}


def test_helpers_imported_inside_a_function_are_followed(sample):
    assert {(415, "unsupported_media_type"), (400, "invalid_json")} <= codes(sample.importing_locally)


def _spec(client):
    return client.get("/api/v1/openapi.json").json


def listed(spec, path, method, status) -> set[str]:
    description = spec["paths"][path][method]["responses"][str(status)]["description"]
    return {part.split("`")[1] for part in description.split(": ", 1)[1].split(", ")}


def test_the_groups_list_does_not_list_what_only_creating_a_group_can_give(client):
    spec = _spec(client)
    groups = "/api/v1/orgs/{org_id}/groups"
    assert "group_exists" in listed(spec, groups, "post", 409)
    assert "group_exists" not in listed(spec, groups, "get", 403) | listed(spec, groups, "get", 404)
    assert "not_head" in listed(spec, groups, "get", 403)  # two calls down: headed -> rosters.check_head
    assert "account_suspended" in listed(spec, groups, "get", 403)  # the blueprint's before_request hook
    assert "invalid_period" not in listed(spec, groups, "post", 409)
    # Exact: archiving a group cannot find a name taken, nor a head's list refuse a guardian.
    assert listed(spec, "/api/v1/orgs/{org_id}/groups/{group_id}/archive", "post", 409) == {"group_archived"}
    assert listed(spec, "/api/v1/orgs/{org_id}/groups/{group_id}", "patch", 409) == {"group_exists"}
    assert listed(spec, groups, "get", 403) == {"account_suspended", "not_enrolling", "not_head"}
    partners = "/api/v1/orgs/{org_id}/partners"
    assert "already_member" in listed(spec, partners, "post", 409)
    member = "/api/v1/organisations/{org_id}/members/{membership_id}"
    assert "last_admin" in listed(spec, member, "delete", 409)
    assert "not_found" in listed(spec, "/api/v1/admin/indicators", "get", 404)


def _literals() -> set[str]:
    """Every string written in the application's source."""
    found = set()
    for path in pathlib.Path(error_codes.__file__).parents[1].rglob("*.py"):
        found.update(node.value for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
                     if isinstance(node, ast.Constant) and isinstance(node.value, str))
    return found


def test_every_listed_code_is_one_the_application_gives_at_that_status(app, client):
    spec = _spec(client)
    written = _literals()
    modules = sorted(name for name in sys.modules if name.startswith("app.") and "_sample_" not in name)
    possible = set().union(*(error_codes.module_codes(name) for name in modules))
    possible |= {(status, CODES[status]) for status in LISTED_STATUSES}
    checked = 0
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method == "parameters":
                continue
            for status in LISTED_STATUSES:
                description = operation.get("responses", {}).get(str(status), {}).get("description", "")
                if not description.startswith("An error; `error` is one of:"):
                    continue
                for code in listed(spec, path, method, status):
                    checked += 1
                    assert code in written, (path, method, code)
                    assert {(status, code), (error_codes.ANY, code)} & possible, (path, method, code)
    assert checked > 300


def test_a_route_lists_its_project_decorators_refusals_and_its_hooks(sample):
    assert route_codes(sample.decorated) == {403: ("decorator_refused",), 409: ("view_taken",)}
    assert route_codes(sample.nothing, [sample.given]) == {403: ("given_refusal",)}


def test_a_route_with_an_id_in_its_path_or_query_arguments_lists_their_refusals():
    def view(item_id):
        return None
    assert route_codes(view, path_arguments=True) == {404: ("not_found",)}
    assert route_codes(view, query_arguments=True) == {422: ("validation_error",)}


def _refused(client, spec, path, method, url, expected, **kwargs):
    """Make the request and check that it is refused as ``expected`` (a status, or a status and a code),
    with a code the route's documentation lists at that status."""
    response = getattr(client, method)(url, **kwargs)
    answer = (response.status_code, response.json["error"])
    assert answer[:len(expected)] == expected, response.json
    assert answer[1] in listed(spec, path, method, answer[0]), answer


def test_real_refusals_are_listed_in_their_routes_documentation(client, make_user):
    org, head = school(make_user, "Collège des Tests")
    group = institutions.create_group(db.session, org, name="4e B")
    teacher = make_user("prof@college.example")
    membership = db.session.scalars(select(Membership).where(Membership.organisation_id == org.id)).one()
    db.session.commit()
    spec = _spec(client)
    heads, teachers = personal(head), personal(teacher)
    groups, one_group = "/api/v1/orgs/{org_id}/groups", "/api/v1/orgs/{org_id}/groups/{group_id}"
    _refused(client, spec, groups, "post", f"/api/v1/orgs/{org.id}/groups", (409, "group_exists"),
             headers=heads, json={"name": "4e B"})
    _refused(client, spec, groups, "post", f"/api/v1/orgs/{org.id}/groups", (422, "validation_error"),
             headers=heads, json={"name": "4e C", "kind": "nonsense"})
    _refused(client, spec, groups, "get", f"/api/v1/orgs/{org.id}/groups", (403, "not_head"),
             headers=teachers)
    _refused(client, spec, groups, "get", f"/api/v1/orgs/{uuid.uuid4()}/groups", (404,), headers=heads)
    _refused(client, spec, one_group, "patch", f"/api/v1/orgs/{org.id}/groups/{group.id}", (422,),
             headers=heads, json={"name": ""})
    _refused(client, spec, "/api/v1/organisations/{org_id}/members/{membership_id}", "delete",
             f"/api/v1/organisations/{org.id}/members/{membership.id}", (404, "not_found"), headers=heads)
    admin = make_user("admin@issuer.example")
    details = {"name": "Issuer", "kind": "school", "website": "", "contact_email": admin.email}
    issuer = orgs.create_organisation(db.session, policy.OPERATOR, details, admin=admin, approve=True)
    db.session.commit()
    own = db.session.scalars(select(Membership).where(Membership.organisation_id == issuer.id)).one()
    _refused(client, spec, "/api/v1/organisations/{org_id}/members/{membership_id}", "delete",
             f"/api/v1/organisations/{issuer.id}/members/{own.id}", (409, "last_admin"),
             headers=personal(admin))
    _refused(client, spec, "/api/v1/experiences/{item_id}", "get", f"/api/v1/experiences/{uuid.uuid4()}",
             (404, "not_found"), headers=heads)
    _refused(client, spec, "/api/v1/account", "patch", "/api/v1/account", (422, "validation_error"),
             headers=heads, json={"locale": "xx"})
    # A suspended account's token: refused by the blueprint's before_request hook, before any view runs.
    admin_service.suspend(db.session, policy.OPERATOR, teacher, "test")
    db.session.commit()
    _refused(client, spec, groups, "get", f"/api/v1/orgs/{org.id}/groups", (403, "account_suspended"),
             headers=teachers)
