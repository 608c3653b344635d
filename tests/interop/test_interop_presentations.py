"""Across implementations, through the VC-API routes: a presentation signed by Digital Bazaar's ``vc.signPresentation``
(what the W3C suites' ``createLocalVp`` uses) verifies at ``POST /presentations/verify``, and one Sillage
signs for ``authentication`` verifies with ``vc.verify``; a wrong challenge fails on both sides."""
from __future__ import annotations

import pytest

from app import verification
from badges.loader import document_loader
from certs.keys import KeyPair
from certs.proofs import sign
from tests.interop.test_interop import witness  # noqa: F401 - the shared module fixture
from tests.verify.credentials import NOW, VC2, ob3_credential, signed

CHALLENGE = "u6dTBF3Q8zZ0fWkR9y2nq4A"
DOMAIN = "github.com/w3c/vc-data-model-2.0-test-suite"


@pytest.fixture
def web(app):
    if "vcapi.verify_presentation" not in app.view_functions:
        verification.init_app(app)
    app.config["RATE_LIMIT_VERIFY"] = "off"
    return app.test_client()


def test_node_signed_presentation_verifies_in_sillage(witness, web):  # noqa: F811
    """The shape of the W3C suite's ``presentation-holder-ok.json`` through ``createLocalVp``: the
    holder's did:key issues the credential (no id, no validFrom) and signs the presentation."""
    holder = witness.keygen()
    credential = witness.sign({"@context": [VC2], "type": ["VerifiableCredential"], "issuer": holder["controller"],
                               "credentialSubject": {"id": "did:example:subject"}}, holder)
    presentation = {"@context": [VC2], "type": ["VerifiablePresentation"], "holder": holder["controller"],
                    "verifiableCredential": [credential]}
    vp = witness.sign_presentation(presentation, holder, CHALLENGE, DOMAIN)
    assert vp["proof"]["proofPurpose"] == "authentication" and vp["proof"]["challenge"] == CHALLENGE
    response = web.post("/presentations/verify", json={"verifiablePresentation": vp,
                                                       "options": {"challenge": CHALLENGE, "domain": DOMAIN}})
    assert response.status_code == 200, response.get_json()["errors"]
    wrong = web.post("/presentations/verify", json={"verifiablePresentation": vp,
                                                    "options": {"challenge": "other", "domain": DOMAIN}})
    assert wrong.status_code == 422
    assert [error["code"] for error in wrong.get_json()["errors"]] == ["wrong_challenge"]


def test_sillage_signed_presentation_verifies_in_node(witness):  # noqa: F811
    issuer = KeyPair.generate()
    holder = KeyPair.generate()
    credential = signed(ob3_credential(issuer.controller), issuer)
    presentation = {"@context": [VC2], "type": ["VerifiablePresentation"], "holder": holder.controller,
                    "verifiableCredential": [credential]}
    vp = sign(presentation, holder, document_loader(), created=NOW, proof_purpose="authentication",
              challenge=CHALLENGE, domain=DOMAIN)
    assert witness.verify_presentation(vp, CHALLENGE, DOMAIN) == {"verified": True}
    assert witness.verify_presentation(vp, "other", DOMAIN)["verified"] is False


def test_node_signed_credential_through_credentials_verify(witness, web):  # noqa: F811
    """The VC 2.0 ``validVc`` of w3c/vc-di-eddsa-test-suite, signed by Digital Bazaar's eddsa-rdfc-2022
    suite: 200 at ``POST /credentials/verify``; with a term added after signing (``suites/verify.js``), 4xx."""
    key = witness.keygen()
    credential = witness.sign({"@context": [VC2], "id": "urn:uuid:86294362-4254-4f36-854f-3952fe42555d",
                               "type": ["VerifiableCredential"], "issuer": key["controller"],
                               "credentialSubject": {"id": "did:key:z6MktKwz7Ge1Yxzr4JHavN33wiwa8y81QdcMRLXQsrH9T53b",
                                                     "name": "ExampleClaim"}}, key)
    body = {"verifiableCredential": credential, "options": {"checks": ["proof"]}}
    response = web.post("/credentials/verify", json=body)
    assert response.status_code == 200, response.get_json()["errors"]
    credential["credentialSubject"]["undefinedTerm"] = "IfDroppedWillVerify"
    assert web.post("/credentials/verify", json=body).status_code == 422
