"""Review 14, L11: guardian invitations (page and API) draw on the same per-sender budget of invitation
e-mails as the Sharing page and ``POST /api/v1/grants`` (30 an hour): one door cannot add its own 30."""
from __future__ import annotations

from tests.conftest import login
from tests.helpers import csrf_token
from tests.test_guardians import bearer


def _spend(client, auth, count: int) -> list[int]:
    statuses = []
    for n in range(count):
        answer = client.post("/api/v1/grants", headers=auth,
                             json={"email": f"target{n}@example.net", "role": "viewer"})
        statuses.append(answer.status_code)
        if answer.status_code == 201:
            assert client.delete(f"/api/v1/grants/{answer.get_json()['id']}", headers=auth).status_code == 200
    return statuses


def test_guardian_invitations_share_the_sharing_budget(app, client, make_user):
    adult, other = make_user("adulte@example.org"), make_user("autre@example.org")
    auth = bearer(adult)
    assert _spend(client, auth, 29) == [201] * 29
    first = client.post("/api/v1/guardians/invitations", headers=auth, json={"email": "tuteur1@example.net"})
    assert first.status_code == 201                      # the 30th mail of the hour
    over = client.post("/api/v1/guardians/invitations", headers=auth, json={"email": "tuteur2@example.net"})
    assert over.status_code == 429 and over.json["error"] == "rate_limited"
    assert _spend(client, auth, 1) == [429]              # and the sharing API is spent too
    login(client, adult.email)
    page = client.post("/guardians/invite", data={"email": "tuteur3@example.net",
                                                  "csrf_token": csrf_token(client.get("/guardians"))})
    assert page.status_code == 429                       # the guardians page as well
    # Per sender: another person behind the same address still has their own budget.
    invited = client.post("/api/v1/guardians/invitations", headers=bearer(other),
                          json={"email": "tuteur4@example.net"})
    assert invited.status_code == 201

