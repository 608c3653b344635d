"""The Done-when of issue 6 section 1, with a credential signed by another implementation: Digital
Bazaar's libraries (Node, from npm) sign an Open Badges 3.0 credential whose activity dates are dates,
as conformant issuers write them; Sillage verifies it (a remark on the format, never a refusal), one
changed byte fails on both sides, and what Sillage signs (its builder's output, declaring the official
schema) verifies in Node.
"""
from __future__ import annotations

import json

from app.verification.signing import sign
from badges import ob3
from badges.verify import verify
from tests.badges.factories import credential as built_credential
from tests.interop.test_interop import witness  # noqa: F401 - the shared Node fixture
from tests.verify.credentials import third_party_credential


def test_a_node_signed_credential_with_date_only_activity_dates_verifies(witness):  # noqa: F811
    key = witness.keygen()
    credential = witness.sign(third_party_credential(key["controller"]), key)
    assert witness.verify(credential) == {"verified": True}
    result = verify(credential)
    assert result["verified"] is True, result
    assert {w["code"] for w in result["warnings"]} == {"schema_format"}

    text = json.dumps(credential)
    position = text.index("Applied Statistics") + 1
    changed = text[:position] + "Q" + text[position + 1:]
    assert verify(changed)["verified"] is False
    assert witness.verify(changed)["verified"] is False


def test_sillage_built_credential_declaring_the_schema_verifies_in_node(witness):  # noqa: F811
    key = witness.keygen()
    document = built_credential(issuer=ob3.Profile(id=key["controller"], name="Sillage"),
                                credential_status=None, valid_until=None)
    assert document["credentialSchema"][0]["type"] == "1EdTechJsonSchemaValidator2019"
    signed = sign(document, key)
    assert witness.verify(signed) == {"verified": True}
    assert verify(signed)["verified"] is True
